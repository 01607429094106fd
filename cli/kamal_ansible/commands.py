"""Kamal's commands and what each becomes: a kamal.deploy playbook with a limit and extra vars, or, for the
interactive ones, `ssh -t` to one host (see remote.py).

Option names, short flags and one-line descriptions are Kamal 2.11's (`kamal help ...`)."""
import dataclasses
import secrets
from typing import Any, List, Optional, Tuple

from kamal_ansible import remote
from kamal_ansible.errors import CliError
from kamal_ansible.spec import Command, Opt


@dataclasses.dataclass
class Playbook:
    name: str
    extra_vars: List[Tuple[str, Any]] = dataclasses.field(default_factory=list)
    limit: Optional[str] = None
    check: bool = False
    json_vars: bool = False      # all extra vars as one JSON object (app_exec, lock_acquire)


@dataclasses.dataclass
class Ssh:
    host: str
    command: str


GLOBAL_OPTIONS = (
    Opt(("-v", "--verbose"), "Detailed logging"),
    Opt(("-q", "--quiet"), "Minimal logging"),
    Opt(("--version",), "Run commands against a specific app version", metavar="VERSION"),
    Opt(("-p", "--primary"), "Run commands only on primary host instead of all"),
    Opt(("-h", "--hosts"), "Run commands on these hosts instead of all (separate by comma, supports wildcards with *)", metavar="HOSTS"),
    Opt(("-r", "--roles"), "Run commands on these roles instead of all (separate by comma, supports wildcards with *)", metavar="ROLES"),
    Opt(("-c", "--config-file"), "Path to config file", metavar="CONFIG_FILE", default_note="config/deploy.yml"),
    Opt(("-d", "--destination"), "Specify destination to be used for config file (staging -> deploy.staging.yml)", metavar="DESTINATION"),
    Opt(("-H", "--skip-hooks"), "Don't run hooks", default_note="false"),
    Opt(("-y", "--confirmed", "--yes"), "Proceed without confirmation question (remove, app remove, accessory remove, proxy reboot)",
        dest="confirmed", default_note="false"),
    Opt(("--dry-run",), "Print the ansible-playbook (or ssh) command instead of running it (also KAMAL_ANSIBLE_DRY_RUN=1)",
        default_note="false"),
)

SKIP_PUSH = Opt(("-P", "--skip-push"), "Skip image build and push", default_note="false")
SINCE = Opt(("-s", "--since"), "Show lines since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)",
            metavar="SINCE")
LINES = Opt(("-n", "--lines"), "Number of lines to show from each server", metavar="N", type=int)
GREP = Opt(("-g", "--grep"), "Show lines with grep match only (use this to fetch specific requests by id)", metavar="GREP")
GREP_OPTIONS = Opt(("--grep-options",), "Additional options supplied to grep (with --follow)", metavar="GREP_OPTIONS")
FOLLOW = Opt(("-f", "--follow"), "Follow log on primary server (or specific host set by --hosts), over ssh -t")
SKIP_TIMESTAMPS = Opt(("-T", "--skip-timestamps"), "Skip appending timestamps to logging output (with --follow)")
INTERACTIVE = Opt(("-i", "--interactive"), "Execute command over ssh for an interactive shell (use for console/bash)", default_note="false")
REUSE = Opt(("--reuse",), "Reuse currently running container instead of starting a new one", default_note="false")


def split(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _has_wildcard(patterns):
    return any(set(p) & set("*?[{") for p in patterns)


# Targets and common extra vars --------------------------------------------------------------------------------

def limit(args, ctx, primary=True):
    """Kamal's -h/-r/-p as an Ansible --limit. Roles are inventory groups of the same name; a role's accessory
    hosts stay out because the accessory playbooks target accessory_<name> groups, intersected with this."""
    hosts, roles = split(args.hosts), split(args.roles)
    if primary and args.primary:
        if hosts:
            return ctx.inventory().match_hosts(hosts)[0] if _has_wildcard(hosts) else hosts[0]
        if roles:
            role = ctx.inventory().match_roles(roles)[0]["name"] if _has_wildcard(roles) else roles[0]
            return "%s[0]" % role
        return "kamal_primary"
    if hosts and roles:
        if len(roles) == 1:
            return ",".join(hosts + ["&" + roles[0]])
        # (h1 or h2) and (web or workers) has no Ansible pattern: name the hosts.
        selected = ctx.inventory().filtered_hosts(hosts, roles)
        if not selected:
            raise CliError("No hosts match both --hosts %s and --roles %s" % (args.hosts, args.roles))
        return ",".join(selected)
    return ",".join(hosts or roles) or None


def common_vars(args, version=True):
    extra = []
    if version and args.version:
        extra.append(("version", args.version))
    if args.skip_hooks:
        extra.append(("skip_hooks", True))
    return extra


def playbook(name, args, ctx, *extra, primary=True, version=True, **kwargs):
    extra_vars = common_vars(args, version) + [(k, v) for k, v in extra if v is not None and v is not False]
    return Playbook(name, extra_vars, limit(args, ctx, primary), **kwargs)


def simple(name):
    """A command that is its playbook, with nothing but the global options."""
    return lambda args, ctx: playbook(name, args, ctx)


# Top level --------------------------------------------------------------------------------------------------

def deploy_like(name, check=False):
    def build(args, ctx):
        roles = ",".join(split(args.roles)) or None
        return playbook(name, args, ctx, ("skip_push", getattr(args, "skip_push", False)), ("roles", roles), check=check)
    return build


def build_rollback(args, ctx):
    if not args.version_arg:
        raise CliError('"kamal-ansible rollback" was called with no arguments\nUsage: "kamal-ansible rollback VERSION"')
    return playbook("rollback", args, ctx, ("version", args.version_arg), version=False)


def build_prune(kind):
    def build(args, ctx):
        return playbook("prune", args, ctx, ("prune", kind), ("retain", getattr(args, "retain", None)))
    return build


def build_remove(args, ctx):
    return playbook("remove", args, ctx, ("confirm", True))


def build_lock_acquire(args, ctx):
    return playbook("lock_acquire", args, ctx, ("message", args.message), json_vars=True)


# app --------------------------------------------------------------------------------------------------------

def build_app_boot(args, ctx):
    return playbook("app_boot", args, ctx)


def build_app_stale(args, ctx):
    return playbook("app_stale_containers", args, ctx, ("stop", args.stop))


def _follow_only(args, names):
    given = [flag for flag, key in names if getattr(args, key, None)]
    if given:
        raise CliError("%s only work%s with --follow (-f)" % (", ".join(given), "s" if len(given) == 1 else ""))


def build_app_logs(args, ctx):
    if args.follow:
        inventory = ctx.inventory()
        host, role = remote.app_target(inventory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.app_follow_logs(inventory, role, host, lines=args.lines, since=args.since, grep=args.grep,
                                                grep_options=args.grep_options, timestamps=not args.skip_timestamps,
                                                container_id=args.container_id))
    _follow_only(args, [("--grep-options", "grep_options"), ("--skip-timestamps", "skip_timestamps")])
    return playbook("app_logs", args, ctx, ("lines", args.lines), ("since", args.since), ("grep", args.grep),
                    ("container_id", args.container_id))


def _exec_env(pairs):
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise CliError("--env takes KEY:VALUE (as in Kamal), not %r" % pair)
        env[key] = value
    return env


def build_app_exec(args, ctx):
    if not args.cmd:
        raise CliError("No command provided. You must specify a command to execute.")
    if args.detach and (args.interactive or args.reuse):
        raise CliError("Detach is not compatible with interactive or reuse")
    cmd = " ".join(args.cmd)
    env = _exec_env(args.env)
    if args.interactive:
        inventory = ctx.inventory()
        host, role = remote.app_target(inventory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.app_exec(inventory, role, host, cmd, args.reuse, env, args.version, ctx.tty, secrets.token_hex(3)))
    variables = [("cmd", cmd), ("reuse", bool(args.reuse)), ("exec_env", env), ("detach", bool(args.detach)),
                 ("primary", bool(args.primary))]
    extra = common_vars(args) + variables
    return Playbook("app_exec", extra, limit(args, ctx, primary=False), json_vars=True)


def build_app_maintenance(args, ctx):
    return playbook("app_maintenance", args, ctx, ("message", args.message), ("drain_timeout", args.drain_timeout))


def build_app_remove(args, ctx):
    return playbook("app_remove", args, ctx, ("confirm", True))


# rollout (kamal.deploy's own: kamal-proxy's canary rollouts, which Kamal does not expose) -------------------------

def build_rollout_set(args, ctx):
    return playbook("rollout_set", args, ctx, ("percent", args.percent if args.percent is not None else 0),
                    ("list", ",".join(split(args.list)) or None), check=bool(args.check), version=False)


# proxy ------------------------------------------------------------------------------------------------------

def build_proxy_reboot(args, ctx):
    return playbook("proxy_reboot", args, ctx, ("rolling", args.rolling), ("confirm", True))


def build_proxy_remove(args, ctx):
    return playbook("proxy_remove", args, ctx, ("force", args.force))


def build_proxy_logs(args, ctx):
    if args.follow:
        inventory = ctx.inventory()
        host = remote.proxy_host(inventory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.container_follow_logs("kamal-proxy", lines=args.lines, since=args.since, grep=args.grep,
                                                      grep_options=args.grep_options, timestamps=not args.skip_timestamps))
    _follow_only(args, [("--since", "since"), ("--grep", "grep"), ("--grep-options", "grep_options"),
                        ("--skip-timestamps", "skip_timestamps")])
    return playbook("proxy_logs", args, ctx, ("lines", args.lines))


# accessory --------------------------------------------------------------------------------------------------

def _accessory_name(args, command):
    if not args.name:
        raise CliError('"kamal-ansible accessory %s" was called with no arguments\nUsage: "kamal-ansible accessory %s NAME"'
                       % (command, command))
    return args.name


def build_accessory(command):
    def build(args, ctx):
        name = _accessory_name(args, command)
        extra = [("accessory", name)]
        if command == "remove":
            extra.append(("confirm", True))
        return playbook("accessory_" + command, args, ctx, *extra)
    return build


def build_accessory_logs(args, ctx):
    name = _accessory_name(args, "logs")
    if args.follow:
        inventory = ctx.inventory()
        accessory = inventory.accessory(name)
        host = remote.accessory_host(inventory, accessory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.container_follow_logs(accessory["service_name"], lines=args.lines, since=args.since, grep=args.grep,
                                                      grep_options=args.grep_options, timestamps=not args.skip_timestamps))
    _follow_only(args, [("--grep-options", "grep_options"), ("--skip-timestamps", "skip_timestamps")])
    return playbook("accessory_logs", args, ctx, ("accessory", name), ("lines", args.lines), ("since", args.since), ("grep", args.grep))


def build_accessory_exec(args, ctx):
    words = list(args.cmd)
    args.name = words.pop(0) if words else None
    name = _accessory_name(args, "exec")
    if not words:
        raise CliError("No command provided. You must specify a command to execute.")
    cmd = " ".join(words)
    if args.interactive:
        inventory = ctx.inventory()
        accessory = inventory.accessory(name)
        host = remote.accessory_host(inventory, accessory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.accessory_exec(inventory, accessory, cmd, args.reuse, ctx.tty))
    extra = common_vars(args) + [("accessory", name), ("cmd", cmd), ("reuse", bool(args.reuse))]
    return Playbook("accessory_exec", extra, limit(args, ctx), json_vars=True)


# The table --------------------------------------------------------------------------------------------------

LOG_OPTIONS = (SINCE, LINES, GREP, GREP_OPTIONS, FOLLOW, SKIP_TIMESTAMPS)
NAME = (("name", "?"),)
PB = "ansible-playbook -i CONFIG kamal.deploy."

GROUPS = {
    "accessory": "Manage accessories (db/redis/search)",
    "app": "Manage application",
    "lock": "Manage the deploy lock",
    "proxy": "Manage kamal-proxy",
    "prune": "Prune old application images and containers",
    "rollout": "Canary rollouts through the proxy (kamal.deploy's own: Kamal has none)",
}

COMMANDS = [
    Command(("audit",), "Show audit log from servers", simple("audit"), runs=PB + "audit"),
    Command(("deploy",), "Deploy app to servers", deploy_like("deploy"), (SKIP_PUSH,),
            runs=PB + "deploy [-e version=V] [-e skip_push=true] [-e roles=R]"),
    Command(("plan",), "Show what deploy would change, changing nothing", deploy_like("deploy", check=True), (SKIP_PUSH,),
            runs=PB + "deploy --check --diff"),
    Command(("redeploy",), "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning",
            deploy_like("redeploy"), (SKIP_PUSH,), runs=PB + "redeploy"),
    Command(("remove",), "Remove kamal-proxy, app, accessories, and registry session from servers", build_remove,
            runs=PB + "remove -e confirm=true", destructive="This will remove all containers and images."),
    Command(("rollback",), "Rollback app to VERSION", build_rollback, args="VERSION", positionals=(("version_arg", "?"),),
            runs=PB + "rollback -e version=VERSION"),
    Command(("setup",), "Setup all accessories, push the env, and deploy app to servers", deploy_like("setup"), (SKIP_PUSH,),
            runs=PB + "setup"),

    Command(("app", "boot"), "Boot app on servers (or reboot app if already running)", build_app_boot, runs=PB + "app_boot"),
    Command(("app", "containers"), "Show app containers on servers", simple("app_containers"), runs=PB + "app_containers"),
    Command(("app", "details"), "Show details about app containers", simple("app_details"), runs=PB + "app_details"),
    Command(("app", "exec"), "Execute a custom command on servers within the app container (use --help to show options)",
            build_app_exec,
            (INTERACTIVE, REUSE, Opt(("-e", "--env"), "Set environment variables for the command", metavar="key:value", append=True),
             Opt(("--detach",), "Execute command in a detached container", default_note="false")),
            args="[CMD...]", free_args=True, runs=PB + "app_exec -e '{\"cmd\": ...}'; with -i: ssh -t to the primary host"),
    Command(("app", "images"), "Show app images on servers", simple("app_images"), runs=PB + "app_images"),
    Command(("app", "live"), "Set the app to live mode", simple("app_live"), runs=PB + "app_live"),
    Command(("app", "logs"), "Show log lines from app on servers (use --help to show options)", build_app_logs,
            LOG_OPTIONS + (Opt(("--container-id",), "Docker container ID to fetch logs", metavar="CONTAINER_ID"),),
            runs=PB + "app_logs; with -f: ssh -t to the primary host"),
    Command(("app", "maintenance"), "Set the app to maintenance mode", build_app_maintenance,
            (Opt(("--drain-timeout",), "How long to allow in-flight requests to complete (defaults to drain_timeout from config)",
                 metavar="N", type=int),
             Opt(("--message",), "Message to display to clients while stopped", metavar="MESSAGE")),
            runs=PB + "app_maintenance"),
    Command(("app", "remove"), "Remove app containers and images from servers", build_app_remove,
            runs=PB + "app_remove -e confirm=true", destructive="This will remove all app containers and images."),
    Command(("app", "stale_containers"), "Detect app stale containers", build_app_stale,
            (Opt(("-s", "--stop"), "Stop the stale containers found", default_note="false"),), runs=PB + "app_stale_containers"),
    Command(("app", "start"), "Start existing app container on servers", simple("app_start"), runs=PB + "app_start"),
    Command(("app", "stop"), "Stop app container on servers", simple("app_stop"), runs=PB + "app_stop"),
    Command(("app", "version"), "Show app version currently running on servers", simple("app_version"), runs=PB + "app_version"),

    Command(("proxy", "boot"), "Boot proxy on servers", simple("proxy_boot"), runs=PB + "proxy_boot"),
    Command(("proxy", "details"), "Show details about proxy container from servers", simple("proxy_details"), runs=PB + "proxy_details"),
    Command(("proxy", "logs"), "Show log lines from proxy on servers", build_proxy_logs, LOG_OPTIONS,
            runs=PB + "proxy_logs; with -f: ssh -t to a proxy host"),
    Command(("proxy", "reboot"), "Reboot proxy on servers (stop container, remove container, start new container)", build_proxy_reboot,
            (Opt(("--rolling",), "Reboot proxy on hosts in sequence, rather than in parallel", default_note="false"),),
            runs=PB + "proxy_reboot -e confirm=true", destructive="This will cause a brief outage on each host."),
    Command(("proxy", "remove"), "Remove proxy container and image from servers", build_proxy_remove,
            (Opt(("--force",), "Force removing proxy when apps are still installed", default_note="false"),), runs=PB + "proxy_remove"),

    Command(("rollout", "deploy"), "Boot a version next to the live one as the proxy's rollout target (no traffic yet)",
            deploy_like("rollout_deploy"), (SKIP_PUSH,), runs=PB + "rollout_deploy [-e version=V]"),
    Command(("rollout", "set"), "Send a share of the traffic to the rollout (a percentage, or kamal-rollout cookie values)",
            build_rollout_set,
            (Opt(("--percent",), "Percentage of clients sent to the rollout", metavar="N", type=int),
             Opt(("--list",), "kamal-rollout cookie values always sent to the rollout (separate by comma)", metavar="VALUES"),
             Opt(("--check",), "Show the split it would set, changing nothing", default_note="false")),
            runs=PB + "rollout_set -e percent=N [-e list=a,b]"),
    Command(("rollout", "stop"), "Send all traffic back to the live version and stop the rollout", simple("rollout_stop"),
            runs=PB + "rollout_stop"),
    Command(("rollout", "status"), "Show the rollout and its split on servers", simple("rollout_status"),
            runs=PB + "rollout_status"),

    Command(("accessory", "boot"), "Boot new accessory service on host (use NAME=all to boot all accessories)",
            build_accessory("boot"), args="NAME", positionals=NAME, runs=PB + "accessory_boot -e accessory=NAME"),
    Command(("accessory", "details"), "Show details about accessory on host (use NAME=all to show all accessories)",
            build_accessory("details"), args="NAME", positionals=NAME, runs=PB + "accessory_details -e accessory=NAME"),
    Command(("accessory", "exec"), "Execute a custom command on servers within the accessory container (use --help to show options)",
            build_accessory_exec, (INTERACTIVE, REUSE), args="NAME [CMD...]", free_args=True,
            runs=PB + "accessory_exec; with -i: ssh -t to the accessory's first host"),
    Command(("accessory", "logs"), "Show log lines from accessory on host (use --help to show options)", build_accessory_logs,
            LOG_OPTIONS, args="NAME", positionals=NAME, runs=PB + "accessory_logs; with -f: ssh -t to the accessory's first host"),
    Command(("accessory", "reboot"), "Reboot existing accessory on host (stop container, remove container, start new container; "
            "use NAME=all to boot all accessories)", build_accessory("reboot"), args="NAME", positionals=NAME,
            runs=PB + "accessory_reboot -e accessory=NAME"),
    Command(("accessory", "remove"), "Remove accessory container, image and data directory from host (use NAME=all to remove all accessories)",
            build_accessory("remove"), args="NAME", positionals=NAME, runs=PB + "accessory_remove -e accessory=NAME -e confirm=true",
            destructive="This will remove all containers, images and data directories for {name}."),
    Command(("accessory", "restart"), "Restart existing accessory container on host", build_accessory("restart"), args="NAME",
            positionals=NAME, runs=PB + "accessory_restart -e accessory=NAME"),
    Command(("accessory", "start"), "Start existing accessory container on host", build_accessory("start"), args="NAME",
            positionals=NAME, runs=PB + "accessory_start -e accessory=NAME"),
    Command(("accessory", "stop"), "Stop existing accessory container on host", build_accessory("stop"), args="NAME",
            positionals=NAME, runs=PB + "accessory_stop -e accessory=NAME"),
    Command(("accessory", "upload"), "Upload accessory files to host", build_accessory("upload"), args="NAME", positionals=NAME,
            runs=PB + "accessory_upload -e accessory=NAME"),

    Command(("lock", "acquire"), "Acquire the deploy lock", build_lock_acquire,
            (Opt(("-m", "--message"), "A lock message", metavar="MESSAGE", required=True),),
            runs=PB + "lock_acquire -e '{\"message\": ...}'"),
    Command(("lock", "release"), "Release the deploy lock", simple("lock_release"), runs=PB + "lock_release"),
    Command(("lock", "status"), "Report lock status", simple("lock_status"), runs=PB + "lock_status"),

    Command(("prune", "all"), "Prune unused images and stopped containers", build_prune("all"),
            (Opt(("--retain",), "Number of containers to retain", metavar="N", type=int),), runs=PB + "prune -e prune=all"),
    Command(("prune", "containers"), "Prune all stopped containers, except the last n (default 5)", build_prune("containers"),
            (Opt(("--retain",), "Number of containers to retain", metavar="N", type=int),), runs=PB + "prune -e prune=containers"),
    Command(("prune", "images"), "Prune unused images", build_prune("images"), runs=PB + "prune -e prune=images"),
]

BY_PATH = {c.path: c for c in COMMANDS}
# Shown in the top-level list but handled by the CLI itself.
BUILTIN = {
    "help": ("[COMMAND]", "Describe available commands or one specific command"),
    "version": ("", "Show the kamal.deploy collection version"),
}
TOP_LEVEL = sorted({c.path[0] for c in COMMANDS} | set(BUILTIN))
