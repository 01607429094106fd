"""kamal-ansible: Kamal 2's command line, run through the kamal.deploy playbooks.

    kamal-ansible [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [ARGS] [OPTIONS]

Options may come before or after the command words, as with Thor. `-h` is --hosts (as in Kamal);
help is `--help` or `kamal-ansible help [COMMAND]`."""
import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile

from kamal_ansible import inventory as inventory_mod
from kamal_ansible import local, remote
from kamal_ansible.commands import BUILTIN, BY_PATH, COMMANDS, GLOBAL_OPTIONS, GROUPS, TOP_LEVEL, Local, Playbook
from kamal_ansible.errors import CliError
from kamal_ansible.spec import Parser
from kamal_ansible.tools import collection_version, tool

PROG = "kamal-ansible"
DEFAULT_CONFIG = "config/deploy.yml"
# What the kamal.deploy.kamal inventory plugin accepts as a source (plugins/inventory/kamal.py).
DEPLOY_FILE = re.compile(r"^deploy(?:\.[^.]+)?\.ya?ml$")
SOURCE_SUFFIXES = (".kamal.yml", ".kamal.yaml")
# key=value is what ansible-playbook's -e splits safely; anything else goes as JSON.
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.:,/@+%-]+$")
VALUE_FLAGS = {flag for opt in GLOBAL_OPTIONS if opt.takes_value for flag in opt.flags}
SSH_FAILED = 255  # ssh's own failures (it cannot connect, authenticate, ...); the remote command's status otherwise


class Context:
    """What builders need besides their arguments: the inventory (loaded once, only when needed) and the terminal."""

    def __init__(self, args, env, tty):
        self.args, self.env, self.tty = args, env, tty
        self._inventory = None

    def inventory(self):
        if self._inventory is None:
            self._inventory = inventory_mod.load(config_source(self.args), self.env)
        return self._inventory


# Help, Thor style ----------------------------------------------------------------------------------------------

def _columns(rows):
    width = max(len(left) for left, _right in rows)
    return ["  %s  # %s" % (left.ljust(width), right) if right else "  " + left for left, right in rows]


def _option_lines(options):
    rows = []
    for opt in options:
        rows.append((opt.usage(), opt.help))
        if opt.default_note:
            rows.append(("", "Default: %s" % opt.default_note))
    width = max(len(left) for left, _right in rows)
    return ["  %s  # %s" % (left.ljust(width), right) for left, right in rows]


def _command_rows(commands):
    return [("%s %s%s" % (PROG, c.name, " " + c.args if c.args else ""), c.summary) for c in commands]


def top_help():
    rows = []
    for name in TOP_LEVEL:
        if name in BUILTIN:
            args, summary = BUILTIN[name]
            rows.append(("%s %s%s" % (PROG, name, " " + args if args else ""), summary))
        elif name in GROUPS:
            rows.append(("%s %s" % (PROG, name), GROUPS[name]))
        else:
            rows += _command_rows([BY_PATH[(name,)]])
    return "\n".join(["Commands:"] + _columns(rows) + ["", "Options:"] + _option_lines(GLOBAL_OPTIONS)) + "\n"


def group_help(group):
    commands = [c for c in COMMANDS if c.path[0] == group]
    rows = _command_rows(commands) + [("%s %s help [COMMAND]" % (PROG, group), "Describe subcommands or one specific subcommand"),
                                      ("%s %s tree" % (PROG, group), BUILTIN["tree"][1])]
    rows.sort()
    return "\n".join(["Commands:"] + _columns(rows) + ["", "Options:"] + _option_lines(GLOBAL_OPTIONS)) + "\n"


def command_help(command):
    lines = ["Usage:", "  %s %s%s" % (PROG, command.name, " " + command.args if command.args else ""), "", "Options:"]
    lines += _option_lines(tuple(command.options) + GLOBAL_OPTIONS)
    lines += ["", command.summary, "", "Runs: " + command.runs.replace("CONFIG", DEFAULT_CONFIG)]
    return "\n".join(lines) + "\n"


def tree(group=None):
    """Thor's `tree`: each command with its description, the groups' commands under them (or one group's)."""
    def branch(entries, indent):
        return ["%s%s %s (%s)" % (indent, "└─" if i == len(entries) - 1 else "├─", name, summary)
                for i, (name, summary) in enumerate(entries)]

    def group_entries(name):
        return [(c.path[1], c.summary) for c in sorted(COMMANDS, key=lambda c: c.path) if c.path[0] == name]

    if group:
        return "\n".join(["%s %s" % (PROG, group)] + branch(group_entries(group), "  ")) + "\n"
    top = []
    for name in TOP_LEVEL:
        if name in ("help", "tree"):
            continue  # Thor's tree leaves these two out
        if name in BUILTIN:
            top.append((name, BUILTIN[name][1]))
        else:
            top.append((name, GROUPS[name] if name in GROUPS else BY_PATH[(name,)].summary))
    lines = [PROG] + branch(top, "  ")
    for name in sorted(GROUPS):
        lines += ["  %s %s" % (PROG, name)] + branch(group_entries(name), "    ")
    return "\n".join(lines) + "\n"


def help_for(words):
    """Help text for `help WORDS` / `WORDS --help`; unknown words are an error, like Thor."""
    if not words:
        return top_help()
    first = words[0]
    if first in GROUPS:
        if len(words) == 1 or words[1] == "help":
            return group_help(first)
        if words[1] == "tree":
            return "\n".join(["Usage:", "  %s %s tree" % (PROG, first), "", "Options:"] + _option_lines(GLOBAL_OPTIONS)
                             + ["", BUILTIN["tree"][1]]) + "\n"
        command = BY_PATH.get((first, words[1]))
        if command is None:
            raise CliError('Could not find command "%s".' % words[1])
        return command_help(command)
    if (first,) in BY_PATH:
        return command_help(BY_PATH[(first,)])
    if first in BUILTIN:
        args, summary = BUILTIN[first]
        return "\n".join(["Usage:", "  %s %s%s" % (PROG, first, " " + args if args else ""), "", "Options:"]
                         + _option_lines(GLOBAL_OPTIONS) + ["", summary]) + "\n"
    raise CliError('Could not find command "%s".' % first)


def commands_markdown():
    """docs/cli.md's command table, from the same data as the help (tests/unit/cli checks the doc holds it)."""
    rows = ["| command | what it does | runs |", "|---|---|---|"]
    for command in sorted(COMMANDS, key=lambda c: c.path):
        usage = ("%s %s%s" % (PROG, command.name, " " + command.args if command.args else "")).replace("|", "\\|")
        runs = command.runs.replace("CONFIG", DEFAULT_CONFIG).replace("|", "\\|")
        rows.append("| `%s` | %s | %s |" % (usage, command.summary, runs))
    for name in sorted(BUILTIN):
        args, summary = BUILTIN[name]
        rows.append("| `%s %s%s` | %s | %s |" % (PROG, name, " " + args if args else "", summary, "kamal-ansible itself"))
    return "\n".join(rows) + "\n"


# Parsing ---------------------------------------------------------------------------------------------------------

def split_command(tokens):
    """(command words, every other token): the words are the first one (two for a group), skipping global
    options (and their values) wherever they stand before them."""
    words, rest, i = [], [], 0
    while i < len(tokens):
        complete = len(words) == 2 or (len(words) == 1 and words[0] not in GROUPS)
        if complete:
            break
        token = tokens[i]
        if token == "--":
            break
        if token.startswith("-") and len(token) > 1:
            rest.append(token)
            if token in VALUE_FLAGS and i + 1 < len(tokens):
                rest.append(tokens[i + 1])
                i += 1
        else:
            words.append(token)
        i += 1
    return words, rest + tokens[i:]


def wants_help(tokens):
    for token in tokens:
        if token == "--":
            return False
        if token == "--help":
            return True
    return False


def _parser(command):
    parser = Parser(prog=command.name, add_help=False, allow_abbrev=False)
    for opt in tuple(command.options) + GLOBAL_OPTIONS:
        opt.add_to(parser)
    for dest, nargs in command.positionals:
        parser.add_argument(dest, nargs=nargs)
    return parser


def split_free_args(tokens, options):
    """Thor's way for `exec`: known options anywhere, every other word (even `-l`) is the command; `--` ends
    options; `-e` is a Thor hash, so it takes every KEY:VALUE word that follows."""
    known = {flag: opt for opt in options for flag in opt.flags}
    option_tokens, words, i = [], [], 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            words += tokens[i + 1:]
            break
        name = token.split("=", 1)[0] if token.startswith("--") else token
        opt = known.get(name)
        if opt is None:
            words.append(token)
            i += 1
            continue
        option_tokens.append(token)
        i += 1
        if opt.takes_value and "=" not in token:
            if i >= len(tokens):
                raise CliError("No value provided for option '%s'" % name)
            option_tokens.append(tokens[i])
            i += 1
            if opt.key == "env":
                while i < len(tokens) and ":" in tokens[i] and not tokens[i].startswith("-"):
                    option_tokens += [name, tokens[i]]
                    i += 1
    return option_tokens, words


def parse(command, tokens):
    parser = _parser(command)
    if command.free_args:
        option_tokens, words = split_free_args(tokens, tuple(command.options) + GLOBAL_OPTIONS)
        args = parser.parse_args(option_tokens)
        args.cmd = words
        return args
    args, unknown = parser.parse_known_intermixed_args(tokens)
    if unknown:
        raise CliError('"%s %s" was called with arguments %s\nUsage: "%s %s%s"' % (
            PROG, command.name, json.dumps(unknown), PROG, command.name, " " + command.args if command.args else ""))
    return args


def global_args(tokens):
    """Only the global options (for alias resolution, before the command is known)."""
    parser = Parser(prog="", add_help=False, allow_abbrev=False)
    for opt in GLOBAL_OPTIONS:
        opt.add_to(parser)
    args, _unknown = parser.parse_known_args(tokens)
    return args


# From arguments to a command line --------------------------------------------------------------------------------

def config_source(args):
    path = args.config_file or DEFAULT_CONFIG
    name = os.path.basename(path)
    if not (DEPLOY_FILE.match(name) or name.endswith(SOURCE_SUFFIXES)):
        raise CliError("%s: the kamal.deploy.kamal inventory reads a config named deploy.yml (or deploy.<destination>.yml), or an "
                       "inventory source ending in .kamal.yml whose config_file points at your config" % path)
    if not os.path.isfile(path):
        raise CliError("Configuration file not found in %s" % os.path.abspath(path))
    return path


# Ansible's default inventory plugins, ours first: kamal-ansible needs no ansible.cfg.
INVENTORY_PLUGINS = "kamal.deploy.kamal,host_list,script,auto,yaml,ini,toml"


def inventory_plugins(env):
    """ANSIBLE_INVENTORY_ENABLED for the runs we start, keeping a user's own list (with ours put first if missing).

    The variable beats any ansible.cfg, so with the user's ansible.cfg enable_plugins we would lose their list:
    we only pass ours when no variable is set, since the source we give -i is always ours."""
    given = env.get("ANSIBLE_INVENTORY_ENABLED")
    if not given:
        return INVENTORY_PLUGINS
    names = [n.strip() for n in given.split(",") if n.strip()]
    if "kamal.deploy.kamal" in names:
        return None
    return ",".join(["kamal.deploy.kamal"] + names)


OUTPUT_CALLBACK = "kamal.deploy.kamal"


def stdout_callback(args, env):
    """Output a person reads (the collection's callback): each command's result, what changed, what failed, a plan.
    Ansible's own output with -v (or KAMAL_ANSIBLE_OUTPUT=ansible), or the user's own ANSIBLE_STDOUT_CALLBACK."""
    if args.verbose or env.get("ANSIBLE_STDOUT_CALLBACK") or env.get("KAMAL_ANSIBLE_OUTPUT", "").lower() == "ansible":
        return None
    return OUTPUT_CALLBACK


def env_changes(args, env=None):
    """The destination reaches the inventory plugin as KAMAL_DESTINATION (its `destination` option's variable),
    with -i config/deploy.yml, so group_vars next to the config keep working; the inventory plugin is enabled."""
    changes = {}
    env = os.environ if env is None else env
    plugins = inventory_plugins(env)
    if plugins:
        changes["ANSIBLE_INVENTORY_ENABLED"] = plugins
    callback = stdout_callback(args, env)
    if callback:
        changes["ANSIBLE_STDOUT_CALLBACK"] = callback
    if args.destination:
        changes["KAMAL_DESTINATION"] = args.destination
    if args.quiet:
        # Kamal's minimal logging: results and errors only (the callback's quiet option; Ansible's own output, with
        # -v, without its skipped hosts).
        changes["ANSIBLE_DISPLAY_SKIPPED_HOSTS"] = "false"
        changes["KAMAL_ANSIBLE_QUIET"] = "1"
    return changes


def extra_var_args(plan):
    if plan.json_vars:
        return ["-e", json.dumps(dict(plan.extra_vars))]
    args = []
    for key, value in plan.extra_vars:
        if isinstance(value, bool):
            args += ["-e", "%s=%s" % (key, "true" if value else "false")]
        elif isinstance(value, (int, str)) and PLAIN_VALUE.match(str(value)):
            args += ["-e", "%s=%s" % (key, value)]
        else:
            args += ["-e", json.dumps({key: value})]
    return args


def playbook_argv(plan, args):
    argv = ["ansible-playbook", "-i", config_source(args), "kamal.deploy." + plan.name]
    if plan.limit:
        argv += ["-l", plan.limit]
    argv += extra_var_args(plan)
    if plan.check:
        argv += ["--check", "--diff"]
    if args.quiet:
        argv += ["-e", "kamal_progress=false"]  # no live progress lines either
    if args.verbose:
        argv.append("-v")
    return argv


def ssh_argv(plan, ctx):
    return remote.ssh_argv(ctx.inventory(), plan.host, plan.command)


def render(argv, changes):
    return " ".join(["%s=%s" % (k, shlex.quote(v)) for k, v in sorted(changes.items())] + [shlex.join(argv)])


def execute(argv, env, output=None):
    """Run with the terminal inherited (or its stdout and stderr to ``output``); Ctrl-C goes to the child
    (ansible-playbook releases its lock), and its exit status is ours."""
    try:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=output)  # pylint: disable=consider-using-with
    except OSError as e:
        raise CliError("could not run %s: %s (install the controller requirements: pip install -r requirements.txt)" % (argv[0], e)) from None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code


def confirmed(command, args, stdin, stdout):
    """Kamal's `confirming`: -y skips the question; on a terminal ask (only `y` goes on); with no terminal refuse."""
    if not command.destructive or args.confirmed:
        return True
    question = "%s Are you sure?" % command.destructive.format(name=getattr(args, "name", None) or "")
    if not stdin.isatty():
        raise CliError("%s\n%s %s asks for confirmation and there is no terminal to ask on: pass -y to confirm" % (
            question, PROG, command.name))
    stdout.write("%s [y, N] (N) " % question)
    stdout.flush()
    answer = stdin.readline().strip()
    if answer in ("y", "Y", "yes"):
        return True
    stdout.write("Aborted\n")
    return False


def dry_run_requested(args, env):
    return args.dry_run or env.get("KAMAL_ANSIBLE_DRY_RUN", "").lower() not in ("", "0", "false", "no")


def expand_alias(words, tokens, env):
    """`kamal-ansible shell` with `aliases: {shell: app exec -i --reuse bash}` in deploy.yml: the alias's words,
    then everything else that was typed. Read as Kamal reads them: from deploy.yml (with -d's file merged when -d is
    given) before any validation, so `staging_deploy: deploy -d staging` works where deploy.yml requires a
    destination."""
    args = global_args(tokens)
    try:
        config_source(args)
    except CliError:
        return None
    aliases = local.aliases(args, dict(env, **env_changes(args, env)))
    if words[0] not in aliases:
        return None
    return shlex.split(aliases[words[0]])


RAW_TOO_MANY = "writes the output of one command"


def run_raw(plan, args, env, changes, stdout):
    """app exec --raw: the command's stdout, byte for byte, is all we print. The playbook writes it to a file on this
    machine (-e raw_output=FILE, a temporary one); ansible-playbook's own output (stdout and stderr) goes to our
    stderr with -v, and otherwise only when it fails (Kamal's --raw logs errors only)."""
    with tempfile.TemporaryDirectory(prefix="kamal-ansible-raw-") as tmp:
        target = os.path.join(tmp, "stdout")
        argv = playbook_argv(dataclasses.replace(plan, extra_vars=list(plan.extra_vars) + [("raw_output", target)]), args)
        if dry_run_requested(args, env):
            stdout.write(render(argv, changes) + "\n")
            return 0
        argv[0] = tool(argv[0])
        stdout.flush()
        log_path = os.path.join(tmp, "ansible-playbook.log")
        with open(log_path, "wb") as log:
            code = execute(argv, dict(env, **changes), output=sys.stderr if args.verbose else log)
        if code != 0:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                text = log.read()
            sys.stderr.write(text)
            if RAW_TOO_MANY in text:
                sys.stderr.write("kamal-ansible app exec --raw prints one command's output: give one host and role "
                                 "(-p for the primary one, or -h HOST, with -r ROLE on a host with several)\n")
            return code
        with open(target, "rb") as f:
            data = f.read()
    target_stream = getattr(stdout, "buffer", None)
    if target_stream is None:
        stdout.write(data.decode("utf-8", "surrogateescape"))
    else:
        target_stream.write(data)
        target_stream.flush()
    return 0


def run(tokens, env=None, stdin=None, stdout=None, aliases=True):
    env = dict(os.environ if env is None else env)
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    words, rest = split_command(tokens)

    if wants_help(tokens) or not words:
        stdout.write(help_for(words))
        return 0
    if words[0] == "help":
        topic = [t for t in rest if not t.startswith("-")]
        stdout.write(help_for(topic))
        return 0
    if words[0] == "version":
        version, where = collection_version(env)
        if version is None:
            raise CliError("the kamal.deploy collection is not installed where Ansible looks for collections "
                           "(ANSIBLE_COLLECTIONS_PATH, collections_path in ansible.cfg, ~/.ansible/collections)")
        stdout.write(version + "\n")
        if "-v" in rest or "--verbose" in rest:
            stdout.write("kamal.deploy in %s\n" % where)
        return 0
    if words[0] == "tree":
        stdout.write(tree())
        return 0
    if words[0] in GROUPS and len(words) == 1:
        stdout.write(group_help(words[0]))
        return 0
    if words[0] in GROUPS and words[1] == "tree":
        stdout.write(tree(words[0]))
        return 0

    command = BY_PATH.get(tuple(words))
    if command is None:
        if words[0] in GROUPS:
            if words[1] == "help":
                stdout.write(help_for([words[0]] + [t for t in rest if not t.startswith("-")][:1]))
                return 0
            raise CliError('Could not find command "%s".' % words[1])
        expansion = expand_alias(words, tokens, env) if aliases else None
        if expansion is None:
            raise CliError('Could not find command "%s".' % words[0])
        index = tokens.index(words[0])
        return run(tokens[:index] + expansion + tokens[index + 1:], env, stdin, stdout, aliases=False)

    args = parse(command, rest)
    ctx = Context(args, dict(env, **env_changes(args, env)), tty=stdin.isatty())
    plan = command.build(args, ctx)
    if not confirmed(command, args, stdin, stdout):
        return 0
    if isinstance(plan, Local):
        if dry_run_requested(args, env):
            stdout.write("# %s %s runs on the controller, in kamal-ansible itself (no ansible-playbook)\n" % (PROG, command.name))
            return 0
        return plan.function(args, ctx.env, stdout)
    if isinstance(plan, Playbook) and plan.raw_stdout:
        return run_raw(plan, args, env, env_changes(args, env), stdout)
    if isinstance(plan, Playbook):
        argv, changes = playbook_argv(plan, args), env_changes(args, env)
    else:
        argv, changes = ssh_argv(plan, ctx), {}
    if dry_run_requested(args, env):
        stdout.write(render(argv, changes) + "\n")
        return 0
    argv[0] = tool(argv[0])
    stdout.flush()
    code = execute(argv, dict(env, **changes))
    if code == SSH_FAILED and not isinstance(plan, Playbook):
        raise CliError("could not reach %s over ssh (ssh exit %s): see ssh's message above; the host's SSH settings come "
                       "from config/deploy.yml (ssh: user, port, keys, proxy)" % (plan.host, code))
    return code


def main(argv=None):
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except CliError as e:
        sys.stdout.flush()
        sys.stderr.write("ERROR: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
