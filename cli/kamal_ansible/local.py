"""The commands that run on the controller alone, in this process: no ansible-playbook, no server.

`config`, `secrets print|fetch|extract`, `init`, `docs`, `upgrade`, `build create|remove|details|dev` and, with a
local registry, `registry setup|remove` print what Kamal prints (or say why there is nothing to do) and exit as Kamal
does (1 with `ERROR: ...` on a bad config or a failing command). The config model, the secrets reader and the
builder come from the installed collection (collection.py)."""
import os
import re
import subprocess

import yaml

from kamal_ansible import collection, templates
from kamal_ansible.errors import CliError
from kamal_ansible.tools import collection_version

DEFAULT_CONFIG = "config/deploy.yml"
SOURCE_SUFFIXES = (".kamal.yml", ".kamal.yaml")  # an inventory source file of the kamal.deploy.kamal plugin


def config_location(args, env):
    """(config file, destination) that -c/-d stand for, as the inventory plugin reads its source: deploy.yml with -d,
    deploy.<destination>.yml over the deploy.yml next to it, or what a *.kamal.yml source names (its config_file,
    relative to it, and its destination, else -d)."""
    path = args.config_file or DEFAULT_CONFIG
    if not os.path.isfile(path):
        raise CliError("Configuration file not found in %s" % os.path.abspath(path))
    if path.endswith(SOURCE_SUFFIXES):
        try:
            with open(path, encoding="utf-8") as f:
                source = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            raise CliError("%s: not an inventory source kamal-ansible can read (%s)" % (path, e)) from None
        config_file = str(source.get("config_file") or DEFAULT_CONFIG)
        if not os.path.isabs(config_file):
            config_file = os.path.join(os.path.dirname(path), config_file)
        return config_file, source.get("destination") or args.destination or None
    return collection.module("config", env).source_config(path, args.destination) or (path, args.destination or None)


def load_config(args, env, resolve_version=True):
    """The validated config for -c/-d/--version, as the inventory plugin reads it."""
    config = collection.module("config", env)
    path, destination = config_location(args, env)
    try:
        return config.load_config(path, destination=destination, version=args.version or None,
                                  environ=env, resolve_version=resolve_version)
    except config.KamalConfigError as e:
        raise CliError(str(e)) from None


def load_raw_config(args, env):
    """deploy.yml (with the destination's file merged) after ERB, not validated: what Kamal reads an alias from, so a
    config that requires a destination still answers `kamal-ansible <alias>` without -d (the alias may give one)."""
    config = collection.module("config", env)
    path, destination = config_location(args, env)
    try:
        return config.load_raw_config(path, destination=destination, environ=env)
    except config.KamalConfigError as e:
        raise CliError(str(e)) from None


def aliases(args, env):
    return {str(name): str(value) for name, value in (load_raw_config(args, env).get("aliases") or {}).items()}


# config -----------------------------------------------------------------------------------------------------

def show_config(args, env, out):
    config = load_config(args, env)
    out.write(collection.module("config", env).show_config(config))
    return 0


# secrets ----------------------------------------------------------------------------------------------------

def _secrets_error(exc):
    return CliError(str(exc))


def secrets_print(args, env, out):
    secrets = collection.module("secrets", env)
    config = load_config(args, env, resolve_version=False)
    try:
        values = secrets.load_secrets(project_dir=config.project_dir, secrets_path=config.secrets_path,
                                      destination=config.destination, environ=env)
    except secrets.KamalSecretsError as e:
        raise _secrets_error(e) from None
    out.write(secrets.format_print(values))
    return 0


def secrets_fetch(args, env, out):
    secrets = collection.module("secrets", env)
    runner_module = collection.module("secrets.runner", env)
    cli = collection.module("secrets.cli", env)
    words = ["--adapter", args.adapter]
    for flag, value in (("--account", args.account), ("--from", args.from_)):
        if value:
            words += [flag, value]
    runner = runner_module.CommandRunner(environ=env, cwd=os.getcwd())
    try:
        found = cli.fetch(words + list(args.secrets or []), runner)
    except secrets.KamalSecretsError as e:
        raise _secrets_error(e) from None
    text = cli.dump_json(found)
    if args.inline:
        text = collection.module("secrets.rubyisms", env).shellescape(text)
    out.write(text + "\n")
    return 0


def secrets_extract(args, env, out):
    secrets = collection.module("secrets", env)
    cli = collection.module("secrets.cli", env)
    try:
        value = cli.extract([word for word in (args.name, args.secrets_json) if word is not None])
    except secrets.KamalSecretsError as e:
        raise _secrets_error(e) from None
    out.write(value + "\n")
    return 0


# init -------------------------------------------------------------------------------------------------------

def _write_new(path, content, mode=None):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:
        f.write(content)
    if mode is not None:
        os.chmod(path, mode)


def init(args, env, out):  # pylint: disable=unused-argument
    """config/deploy.yml, .kamal/secrets and .kamal/hooks/*.sample, each only when it is not there yet. --bundle is
    Kamal's Gemfile entry and bin/kamal binstub: nothing of the kind exists for a pip-installed kamal-ansible."""
    if os.path.exists("config/deploy.yml"):
        out.write("Config file already exists in config/deploy.yml (remove first to create a new one)\n")
    else:
        _write_new("config/deploy.yml", templates.DEPLOY_YML)
        out.write("Created configuration file in config/deploy.yml\n")
    if not os.path.exists(".kamal/secrets"):
        _write_new(".kamal/secrets", templates.SECRETS, 0o600)
        out.write("Created .kamal/secrets file\n")
    if not os.path.exists(".kamal/hooks"):
        os.makedirs(".kamal/hooks")
        for name in sorted(templates.HOOKS):
            _write_new(os.path.join(".kamal/hooks", name + ".sample"), templates.hook_sample(name), 0o755)
        out.write("Created sample hooks in .kamal/hooks\n")
    if args.bundle:
        out.write("--bundle: nothing to add: Kamal's --bundle puts Kamal in a Ruby app's Gemfile and creates bin/kamal; "
                  "kamal-ansible is a Python program installed with pip (the collection's requirements.txt), with no "
                  "Gemfile entry or binstub\n")
    return 0


# docs -------------------------------------------------------------------------------------------------------

KAMAL_CONFIGURATION_DOCS = "https://kamal-deploy.org/docs/configuration"
# `kamal docs SECTION`'s sections (Kamal's lib/kamal/configuration/docs): each is a key of deploy.yml that kamal.deploy
# reads as Kamal does, so Kamal's reference is the one for it.
KAMAL_DOC_SECTIONS = ("accessory", "alias", "boot", "builder", "configuration", "env", "logging", "output", "proxy",
                      "registry", "role", "servers", "ssh", "sshkit")


def markdown_sections(text):
    """(heading level, heading text, the section's lines, its own subsections included) for every heading outside
    fenced code blocks."""
    lines = text.splitlines()
    headings, fenced = [], False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            headings.append((index, level, line[level:].strip()))
    sections = []
    for position, (start, level, title) in enumerate(headings):
        end = next((i for i, lvl, _t in headings[position + 1:] if lvl <= level), len(lines))
        sections.append((level, title, lines[start:end]))
    return sections


def _stem(word):
    word = word.lower().strip("`:.,()'\"")
    for suffix in ("ies", "y", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[:-len(suffix)]
    return word


def _title_words(title):
    words = title.split()
    return words + [part for word in words if "-" in word for part in word.split("-")]


def _paragraphs(lines):
    """Blank-line separated blocks, a fenced code block kept whole."""
    blocks, block, fenced = [], [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not line.strip() and not fenced:
            if block:
                blocks.append(block)
            block = []
        else:
            block.append(line)
    return blocks + ([block] if block else [])


def docs_sections(text, section):
    """Our configuration notes about SECTION: the sections whose heading has a word of its stem (registry:
    "Registries and image delivery"), each with its subsections; else, under their section's heading, the
    paragraphs that name the key (`ssh.keys`, `boot.limit`)."""
    wanted, shown, covered = _stem(section), [], 0
    sections = markdown_sections(text)
    for level, title, lines in sections:
        if covered and level > covered:
            continue
        covered = 0
        if any(_stem(word) == wanted for word in _title_words(title)):
            shown.append("\n".join(lines).rstrip())
            covered = level
    if shown:
        return shown
    mention = re.compile(r"`%s(?:[.:`\s]|$)" % re.escape(section.strip("`")))
    for level, _title, lines in sections:
        if level != 2:
            continue
        found = [block for block in _paragraphs(lines[1:]) if not block[0].startswith("```") and mention.search("\n".join(block))]
        if found:
            shown.append("\n\n".join([lines[0]] + ["\n".join(block) for block in found]))
    return shown


def configuration_doc(env):
    """(path of docs/configuration.md in the installed collection or None, where the collection's docs are online)."""
    version, root = collection_version(env)
    if version is None:
        raise CliError("the kamal.deploy collection is not installed where Ansible looks for collections "
                       "(ANSIBLE_COLLECTIONS_PATH, collections_path in ansible.cfg, ~/.ansible/collections)")
    path = os.path.join(root, "docs", "configuration.md")
    return (path if os.path.isfile(path) else None), "https://github.com/kamal-deploy/kamal.deploy/tree/main/docs"


def docs(args, env, out):
    """Kamal prints its configuration reference; deploy.yml's keys are Kamal's, so that reference is Kamal's (online),
    and what we print is ours: how kamal.deploy reads the file and what it adds (docs/configuration.md)."""
    path, online = configuration_doc(env)
    if path is None:
        out.write("kamal.deploy's configuration notes are docs/configuration.md, at %s; Kamal's reference for every key "
                  "of deploy.yml: %s\n" % (online, KAMAL_CONFIGURATION_DOCS))
        return 0
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not args.section:
        out.write("deploy.yml's keys are Kamal's: Kamal's reference for each is %s\n"
                  "What kamal.deploy adds and where it differs (%s):\n\n%s" % (KAMAL_CONFIGURATION_DOCS, path, text))
        return 0
    shown = docs_sections(text, args.section)
    if shown:
        out.write("\n\n".join(shown) + "\n\n(from %s; Kamal's reference: %s)\n" % (path, KAMAL_CONFIGURATION_DOCS))
    elif _stem(args.section) in {_stem(name) for name in KAMAL_DOC_SECTIONS}:
        out.write("kamal.deploy's notes (%s) have nothing on %s beyond Kamal's reference: %s\n"
                  % (path, args.section, KAMAL_CONFIGURATION_DOCS))
    else:
        out.write("No documentation found for %s\n" % args.section)  # Kamal's words, and its exit status 0
    return 0


# upgrade ----------------------------------------------------------------------------------------------------

def upgrade(args, env, out):  # pylint: disable=unused-argument
    """Kamal 1.x -> 2.0: nothing of Kamal 1 runs where kamal.deploy deploys, so nothing is changed (exit 0, as
    Kamal's upgrade of hosts that are already upgraded succeeds)."""
    out.write("kamal upgrade moves servers from Kamal 1.x to Kamal 2: it replaces Traefik with kamal-proxy and restarts "
              "the accessories in the kamal network.\n"
              "kamal.deploy deploys Kamal 2's way from the start (its own proxy, every container in the kamal network), so "
              "there is nothing to upgrade: nothing was changed.\n"
              "Servers that still run Kamal 1.x (Traefik on ports 80 and 443): upgrade them with Kamal 2's `kamal upgrade` "
              "first, then take them over (docs/takeover.md).\n")
    return 0


def accessory_upgrade(args, env, out):  # pylint: disable=unused-argument
    out.write("kamal accessory upgrade restarts Kamal 1.x accessories in the kamal network; kamal.deploy boots every "
              "accessory there, so there is nothing to upgrade: nothing was changed.\n")
    return 0


# build create | remove | details ----------------------------------------------------------------------------

def _run_docker(argv, out, env, capture=False):
    try:
        res = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    except OSError as e:
        raise CliError("Docker is not installed locally (%s)" % e) from None
    if capture:
        return res
    out.write(res.stdout)
    if res.returncode != 0:
        raise CliError("%s failed (exit %s): %s" % (" ".join(argv), res.returncode, (res.stderr or res.stdout).strip()))
    return res


def _builder(args, env):
    config = load_config(args, env, resolve_version=False)
    build = collection.module("build", env)
    try:
        return build.KamalBuilder(config.builder.to_dict(), local_registry=bool(config.registry.local))
    except build.BuildError as e:
        raise CliError(str(e)) from None


def build_create(args, env, out):
    builder = _builder(args, env)
    for argv in builder.create_commands():
        res = _run_docker(argv, out, env, capture=True)
        if res.returncode != 0:
            # Kamal says so and carries on (exit 0) when the builder cannot be made.
            out.write("Couldn't create builder %s: %s\n" % (builder.name, (res.stderr or res.stdout).strip()))
            return 0
        out.write(res.stdout)
    return 0


def build_remove(args, env, out):
    builder = _builder(args, env)
    for argv in builder.remove_commands():
        _run_docker(argv, out, env)
    return 0


def build_dev(args, env, out):
    """Kamal's `build dev`: the working tree as it is, tagged <version>-dirty and <latest>-dirty, into the local
    image store (--output docker, the default) or pushed (--output registry). No hook, no lock, no server."""
    output = args.output or "docker"
    commands = collection.module("commands", env)
    if output not in commands.BUILD_OUTPUTS:
        raise CliError("build dev --output=%s: kamal.deploy builds into the local engine (and pushes from there), so --output "
                       "takes docker (build only) or registry (build and push)" % output)
    config = load_config(args, env)
    secrets_module, build, plan = (collection.module(name, env) for name in ("secrets", "build", "plan"))
    try:
        secrets = secrets_module.load_secrets(project_dir=config.project_dir, secrets_path=config.secrets_path,
                                              destination=config.destination, environ=env)
        arguments = commands.build_args(config.to_dict(), config.version, secrets, {"output": output, "no_cache": args.no_cache})
    except (secrets_module.KamalSecretsError, plan.PlanError, commands.CommandError) as e:
        raise CliError(str(e)) from None
    push = arguments.pop("push")
    arguments = build.dev_build(arguments)
    for line in uncommitted_files(config.project_dir):
        out.write(line + "\n")
    builder = build.Build(**arguments, environ=env, progress=lambda line: out.write(line + "\n"))
    try:
        builder.build()
        if push:
            builder.login()
            builder.push()
    except build.BuildError as e:
        raise CliError(str(e)) from None
    out.write("Built %s and %s%s\n" % (builder.image, builder.latest_image, ", pushed" if push else " (not pushed)"))
    return 0


def uncommitted_files(project_dir):
    """Kamal's warning before `build dev`: the files that differ from the last commit go into the image (less what
    .dockerignore leaves out)."""
    res = subprocess.run(["git", "-C", project_dir, "status", "--porcelain", "--untracked-files=all"], capture_output=True,
                         text=True, check=False, stdin=subprocess.DEVNULL)
    if res.returncode != 0 or not res.stdout.strip():
        return []
    changed = [line[3:] for line in res.stdout.splitlines() if not line.startswith("??")]
    untracked = [line[3:] for line in res.stdout.splitlines() if line.startswith("??")]
    lines = []
    for title, files in (("Files with uncommitted changes", changed), ("Untracked files", untracked)):
        if files:
            lines += ["WARNING: %s will be present in the dev image (unless .dockerignore leaves them out):" % title]
            lines += ["  " + name for name in sorted(files)] + [""]
    return lines


# registry setup | remove with a local registry ---------------------------------------------------------------

def local_registry_server(args, env):
    """registry.server when it is a local registry (localhost:PORT), else None (read like an alias: unvalidated)."""
    server = (load_raw_config(args, env).get("registry") or {}).get("server")
    return str(server) if collection.module("build", env).is_local_registry(str(server or "")) else None


def _local_registry(args, env):
    config = load_config(args, env, resolve_version=False)  # Kamal validates the config first
    return collection.module("build", env).LocalRegistry(config.registry.server)


def local_registry_setup(args, env, out):
    """Kamal: the local registry's container on this machine (`docker start`, else `docker run`); -L skips it, and a
    local registry has no server side (the servers pull through an SSH forward during a deploy)."""
    if args.skip_local:
        return 0
    build = collection.module("build", env)
    registry = _local_registry(args, env)
    try:
        started = registry.setup()
    except build.BuildError as e:
        raise CliError(str(e)) from None
    out.write("%s the local registry %s on 127.0.0.1:%s\n" % ("Started" if started else "Already running:",
                                                              build.LOCAL_REGISTRY_CONTAINER, registry.port))
    return 0


def local_registry_remove(args, env, out):
    if args.skip_local:
        return 0
    build = collection.module("build", env)
    registry = _local_registry(args, env)
    try:
        removed = registry.remove()
    except build.BuildError as e:
        raise CliError(str(e)) from None
    if removed:
        out.write("Removed the local registry %s (its images went with it)\n" % build.LOCAL_REGISTRY_CONTAINER)
    else:
        out.write("No local registry %s to remove\n" % build.LOCAL_REGISTRY_CONTAINER)
    return 0


def build_details(args, env, out):
    builder = _builder(args, env)
    out.write("Builder: %s\n" % builder.name)
    out.write("Deploys build with: %s\n" % builder.deploy_build_note())
    for argv in builder.info_commands():
        _run_docker(argv, out, env)
    return 0
