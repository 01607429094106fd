"""The commands that run on the controller alone, in this process: no ansible-playbook, no server.

`config`, `secrets print|fetch|extract`, `init` and `build create|remove|details` print what Kamal prints and
exit as Kamal does (1 with `ERROR: ...` on a bad config or a failing command). The config model, the secrets
reader and the builder's names come from the installed collection (collection.py)."""
import os
import subprocess

from kamal_ansible import collection, templates
from kamal_ansible.errors import CliError


def load_config(args, env, resolve_version=True):
    """The validated config for -c/-d/--version, as the inventory plugin reads it."""
    config = collection.module("config", env)
    path = args.config_file or "config/deploy.yml"
    if not os.path.isfile(path):
        raise CliError("Configuration file not found in %s" % os.path.abspath(path))
    try:
        return config.load_config(path, destination=args.destination or None, version=args.version or None,
                                  environ=env, resolve_version=resolve_version)
    except config.KamalConfigError as e:
        raise CliError(str(e)) from None


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
    """config/deploy.yml, .kamal/secrets and .kamal/hooks/*.sample, each only when it is not there yet."""
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


def build_details(args, env, out):
    builder = _builder(args, env)
    out.write("Builder: %s\n" % builder.name)
    out.write("Deploys build with: %s\n" % builder.deploy_build_note())
    for argv in builder.info_commands():
        _run_docker(argv, out, env)
    return 0
