"""Kamal's commands and what each becomes: a kamal.deploy playbook with a limit and extra vars, or, for the
interactive ones, `ssh -t` to one host (see remote.py).

Option names, short flags and one-line descriptions are Kamal 2.11's (`kamal help ...`)."""
import dataclasses
import secrets
from typing import Any, Callable, List, Optional, Tuple

from kamal_ansible import local, remote
from kamal_ansible.errors import CliError
from kamal_ansible.spec import Command, Opt


@dataclasses.dataclass
class Playbook:
    name: str
    extra_vars: List[Tuple[str, Any]] = dataclasses.field(default_factory=list)
    limit: Optional[str] = None
    check: bool = False
    json_vars: bool = False      # all extra vars as one JSON object (app_exec, lock_acquire)
    raw_stdout: bool = False     # app exec --raw: the command's output, byte for byte, is ours (cli.run_raw)


@dataclasses.dataclass
class Ssh:
    host: str
    command: str


@dataclasses.dataclass
class Local:
    """A command that runs on the controller alone, in kamal-ansible itself (local.py): (args, env, out) -> status."""
    function: Callable[..., int]


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
NO_CACHE = Opt(("--no-cache",), "Build without using Docker's build cache", default_note="false")
ROLLING_UPGRADE = Opt(("--rolling",), "Upgrade one host at a time", default_note="false")
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
        return playbook(name, args, ctx, ("skip_push", getattr(args, "skip_push", False)), ("no_cache", getattr(args, "no_cache", False)),
                        ("roles", roles), check=check)
    return build


def build_rollback(args, ctx):
    """Without VERSION the playbook chooses the newest version present on every targeted host (and says which)."""
    return playbook("rollback", args, ctx, ("version", args.version_arg or args.version), version=False)


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


def _incompatible(args, names):
    return " or ".join(name for name in names if getattr(args, name))


def build_app_exec(args, ctx):
    # Kamal's checks, in its order and words.
    if args.detach and _incompatible(args, ("interactive", "reuse")):
        raise CliError("Detach is not compatible with %s" % _incompatible(args, ("interactive", "reuse")))
    if args.raw and _incompatible(args, ("interactive", "detach")):
        raise CliError("Raw is not compatible with %s" % _incompatible(args, ("interactive", "detach")))
    if not args.cmd:
        raise CliError("No command provided. You must specify a command to execute.")
    cmd = " ".join(args.cmd)
    env = _exec_env(args.env)
    if args.interactive:
        inventory = ctx.inventory()
        host, role = remote.app_target(inventory, split(args.hosts), split(args.roles))
        return Ssh(host, remote.app_exec(inventory, role, host, cmd, args.reuse, env, args.version, ctx.tty, secrets.token_hex(3)))
    variables = [("cmd", cmd), ("reuse", bool(args.reuse)), ("exec_env", env), ("detach", bool(args.detach)),
                 ("primary", bool(args.primary))]
    extra = common_vars(args) + variables
    return Playbook("app_exec", extra, limit(args, ctx, primary=False), json_vars=True, raw_stdout=bool(args.raw))


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


# build, server, registry, proxy boot_config -----------------------------------------------------------------

def build_build_push(args, ctx):
    return playbook("build_push", args, ctx, ("output", args.output), ("no_cache", args.no_cache))


def build_server_exec(args, ctx):
    if not args.cmd:
        raise CliError("No command provided. You must specify a command to execute.")
    cmd = " ".join(args.cmd)
    if args.interactive:
        inventory = ctx.inventory()
        host = remote.primary_host(inventory, split(args.hosts), split(args.roles))
        return Ssh(host, cmd)
    return Playbook("server_exec", common_vars(args) + [("cmd", cmd)], limit(args, ctx), json_vars=True)


def build_registry(action):
    def build(args, ctx):
        return playbook("registry_" + action, args, ctx, ("skip_local", args.skip_local), ("skip_remote", args.skip_remote))
    return build


def build_registry_session(action, session_action):
    """Kamal's registry setup|remove: with a local registry (registry.server: localhost:PORT), its container on the
    controller (local.py); else registry login|logout on the controller and the servers."""
    def build(args, ctx):
        if local.local_registry_server(args, ctx.env):
            return Local(getattr(local, "local_registry_" + action))
        return build_registry(session_action)(args, ctx)
    return build


BOOT_CONFIG_ACTIONS = ("set", "get", "reset")


def build_boot_config(args, ctx):
    if args.subcommand not in BOOT_CONFIG_ACTIONS:
        if not args.subcommand:
            raise CliError('"kamal-ansible proxy boot_config" was called with no arguments\n'
                           'Usage: "kamal-ansible proxy boot_config <set|get|reset>"')
        raise CliError("Unknown boot_config subcommand %s" % args.subcommand)
    extra = common_vars(args) + [("boot_config", args.subcommand)]
    if args.subcommand == "set":
        # --publish is the default (Kamal's boolean option): only --no-publish changes it.
        settings = {"publish": not args.no_publish, "publish_host_ip": args.publish_host_ip, "http_port": args.http_port,
                    "https_port": args.https_port, "log_max_size": args.log_max_size, "registry": args.registry,
                    "repository": args.repository, "image_version": args.image_version, "metrics_port": args.metrics_port,
                    "debug": bool(args.debug), "docker_options": args.docker_options}
        extra.append(("boot_settings", {key: value for key, value in settings.items() if value is not None}))
    return Playbook("proxy_boot_config", extra, limit(args, ctx), json_vars=True)


def local_command(function):
    return lambda args, ctx: Local(function)


# The table --------------------------------------------------------------------------------------------------

LOG_OPTIONS = (SINCE, LINES, GREP, GREP_OPTIONS, FOLLOW, SKIP_TIMESTAMPS)
NAME = (("name", "?"),)
PB = "ansible-playbook -i CONFIG kamal.deploy."

GROUPS = {
    "accessory": "Manage accessories (db/redis/search)",
    "app": "Manage application",
    "build": "Build application image",
    "lock": "Manage the deploy lock",
    "proxy": "Manage kamal-proxy",
    "prune": "Prune old application images and containers",
    "registry": "Login and -out of the image registry",
    "secrets": "Helpers for extracting secrets",
    "server": "Bootstrap servers with curl and Docker",
    "rollout": "Canary rollouts through the proxy (kamal.deploy's own: Kamal has none)",
}
SESSION = (Opt(("-L", "--skip-local"), "Skip local login"), Opt(("-R", "--skip-remote"), "Skip remote login"))
LOCALLY = "on the controller, in kamal-ansible itself (no ansible-playbook)"
BOOT_CONFIG_OPTIONS = (
    Opt(("--publish",), "Publish the proxy ports on the host", default_note="true"),
    Opt(("--no-publish",), "Do not publish the proxy ports on the host"),
    Opt(("--publish-host-ip",), "Host IP address to bind HTTP/HTTPS traffic to. Defaults to all interfaces",
        metavar="PUBLISH_HOST_IP", append=True),
    Opt(("--http-port",), "HTTP port to publish on the host", metavar="N", type=int, default_note="80"),
    Opt(("--https-port",), "HTTPS port to publish on the host", metavar="N", type=int, default_note="443"),
    Opt(("--log-max-size",), "Max size of proxy logs", metavar="LOG_MAX_SIZE", default_note="10m"),
    Opt(("--registry",), "Registry to use for the proxy image", metavar="REGISTRY"),
    Opt(("--repository",), "Repository for the proxy image", metavar="REPOSITORY"),
    Opt(("--image-version",), "Version of the proxy to run", metavar="IMAGE_VERSION"),
    Opt(("--metrics-port",), "Port to report prometheus metrics on", metavar="N", type=int),
    Opt(("--debug",), "Whether to run the proxy in debug mode", default_note="false"),
    Opt(("--docker-options",), "Docker options to pass to the proxy container", metavar="option=value option2=value2",
        array=True),
)

COMMANDS = [
    Command(("audit",), "Show audit log from servers", simple("audit"), runs=PB + "audit"),
    Command(("config",), "Show combined config (secret values are never shown)", local_command(local.show_config),
            runs="the resolved config/deploy.yml as `kamal config` prints it, " + LOCALLY),
    Command(("details",), "Show details about all containers", simple("details"), runs=PB + "details"),
    Command(("docs",), "Show the configuration documentation (kamal.deploy's notes; Kamal's reference is online)",
            local_command(local.docs), args="[SECTION]", positionals=(("section", "?"),),
            runs="prints docs/configuration.md of the installed collection (its sections about SECTION), and where Kamal's "
            "reference is, " + LOCALLY),
    Command(("init",), "Create config stub in config/deploy.yml and secrets stub in .kamal", local_command(local.init),
            (Opt(("--bundle",), "Add Kamal to the Gemfile and create a bin/kamal binstub (nothing to add for kamal-ansible: "
                 "it says so)", default_note="false"),),
            runs="writes config/deploy.yml, .kamal/secrets and .kamal/hooks/*.sample where missing, " + LOCALLY),
    Command(("deploy",), "Deploy app to servers", deploy_like("deploy"), (SKIP_PUSH, NO_CACHE),
            runs=PB + "deploy [-e version=V] [-e skip_push=true] [-e no_cache=true] [-e roles=R]"),
    Command(("plan",), "Show what deploy would change, changing nothing", deploy_like("deploy", check=True), (SKIP_PUSH, NO_CACHE),
            runs=PB + "deploy --check --diff"),
    Command(("redeploy",), "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning",
            deploy_like("redeploy"), (SKIP_PUSH, NO_CACHE), runs=PB + "redeploy"),
    Command(("remove",), "Remove kamal-proxy, app, accessories, and registry session from servers", build_remove,
            runs=PB + "remove -e confirm=true", destructive="This will remove all containers and images."),
    Command(("rollback",), "Rollback app to VERSION", build_rollback, args="[VERSION]", positionals=(("version_arg", "?"),),
            runs=PB + "rollback [-e version=VERSION] (without one: the newest version present on every targeted host "
            "other than the running one, named before anything changes)"),
    Command(("setup",), "Setup all accessories, push the env, and deploy app to servers", deploy_like("setup"), (SKIP_PUSH, NO_CACHE),
            runs=PB + "setup"),
    Command(("upgrade",), "Upgrade from Kamal 1.x to 2.0 (nothing to upgrade with kamal.deploy: it says why)",
            local_command(local.upgrade), (ROLLING_UPGRADE,),
            runs="prints what Kamal's upgrade does and why kamal.deploy has nothing to upgrade, changes nothing, exit 0, " + LOCALLY),

    Command(("app", "boot"), "Boot app on servers (or reboot app if already running)", build_app_boot, runs=PB + "app_boot"),
    Command(("app", "containers"), "Show app containers on servers", simple("app_containers"), runs=PB + "app_containers"),
    Command(("app", "details"), "Show details about app containers", simple("app_details"), runs=PB + "app_details"),
    Command(("app", "exec"), "Execute a custom command on servers within the app container (use --help to show options)",
            build_app_exec,
            (INTERACTIVE, REUSE, Opt(("-e", "--env"), "Set environment variables for the command", metavar="key:value", append=True),
             Opt(("--detach",), "Execute command in a detached container", default_note="false"),
             Opt(("--raw",), "Output raw, unmodified stdout (one host and role: -p, or -h HOST)", default_note="false")),
            args="[CMD...]", free_args=True, runs=PB + "app_exec -e '{\"cmd\": ...}'; with -i: ssh -t to the primary host; "
            "with --raw: -e raw_output=<temporary file>, whose bytes kamal-ansible prints"),
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
    Command(("proxy", "boot_config"), "Manage kamal-proxy boot configuration", build_boot_config, BOOT_CONFIG_OPTIONS,
            args="<set|get|reset>", positionals=(("subcommand", "?"),),
            runs=PB + "proxy_boot_config -e '{\"boot_config\": \"set\", \"boot_settings\": {...}}'"),
    Command(("proxy", "details"), "Show details about proxy container from servers", simple("proxy_details"), runs=PB + "proxy_details"),
    Command(("proxy", "logs"), "Show log lines from proxy on servers", build_proxy_logs, LOG_OPTIONS,
            runs=PB + "proxy_logs; with -f: ssh -t to a proxy host"),
    Command(("proxy", "reboot"), "Reboot proxy on servers (stop container, remove container, start new container)", build_proxy_reboot,
            (Opt(("--rolling",), "Reboot proxy on hosts in sequence, rather than in parallel", default_note="false"),),
            runs=PB + "proxy_reboot -e confirm=true", destructive="This will cause a brief outage on each host."),
    Command(("proxy", "remove"), "Remove proxy container and image from servers", build_proxy_remove,
            (Opt(("--force",), "Force removing proxy when apps are still installed", default_note="false"),), runs=PB + "proxy_remove"),
    Command(("proxy", "restart"), "Restart existing proxy container on servers", simple("proxy_restart"), runs=PB + "proxy_restart"),
    Command(("proxy", "start"), "Start existing proxy container on servers", simple("proxy_start"), runs=PB + "proxy_start"),
    Command(("proxy", "stop"), "Stop existing proxy container on servers", simple("proxy_stop"), runs=PB + "proxy_stop"),

    Command(("rollout", "deploy"), "Boot a version next to the live one as the proxy's rollout target (no traffic yet)",
            deploy_like("rollout_deploy"), (SKIP_PUSH, NO_CACHE), runs=PB + "rollout_deploy [-e version=V]"),
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
    Command(("accessory", "upgrade"), "Upgrade accessories from Kamal 1.x to 2.0 (nothing to upgrade with kamal.deploy: it says why)",
            local_command(local.accessory_upgrade), (ROLLING_UPGRADE,),
            runs="prints why kamal.deploy's accessories have nothing to upgrade, changes nothing, exit 0, " + LOCALLY),

    Command(("lock", "acquire"), "Acquire the deploy lock", build_lock_acquire,
            (Opt(("-m", "--message"), "A lock message", metavar="MESSAGE", required=True),),
            runs=PB + "lock_acquire -e '{\"message\": ...}'"),
    Command(("lock", "release"), "Release the deploy lock", simple("lock_release"), runs=PB + "lock_release"),
    Command(("lock", "status"), "Report lock status", simple("lock_status"), runs=PB + "lock_status"),

    Command(("build", "push"), "Build and push app image to registry", build_build_push,
            (Opt(("--output",), "Exported type for the build result: registry (build and push) or docker (build only)",
                 metavar="export_type", default_note="registry"), NO_CACHE),
            runs=PB + "build_push [-e output=docker] [-e no_cache=true]"),
    Command(("build", "pull"), "Pull app image from registry onto servers", simple("build_pull"), runs=PB + "build_pull"),
    Command(("build", "deliver"), "Build app and push app image to registry then pull image on servers", simple("build_deliver"),
            runs=PB + "build_deliver (build push, then build pull, in one play)"),
    Command(("build", "dev"), "Build using the working directory, tag it as dirty, and push to local image store.",
            local_command(local.build_dev),
            (Opt(("--output",), "Exported type for the build result: docker (the local image store) or registry (and push)",
                 metavar="export_type", default_note="docker"), NO_CACHE),
            runs="docker buildx build --load -t <image>:<version>-dirty -t <image>:<latest>-dirty of the working tree "
            "(the collection's builder), " + LOCALLY),
    Command(("build", "create"), "Create a build setup", local_command(local.build_create),
            runs="docker buildx create --name kamal-local-<driver> ... (Kamal's builder), " + LOCALLY),
    Command(("build", "remove"), "Remove build setup", local_command(local.build_remove),
            runs="docker buildx rm kamal-local-<driver>, " + LOCALLY),
    Command(("build", "details"), "Show build setup", local_command(local.build_details),
            runs="docker context ls; docker buildx ls, " + LOCALLY),

    Command(("registry", "login"), "Log in to remote registry locally and remotely", build_registry("login"), SESSION,
            runs=PB + "registry_login [-e skip_local=true] [-e skip_remote=true]"),
    Command(("registry", "logout"), "Log out of remote registry locally and remotely", build_registry("logout"), SESSION,
            runs=PB + "registry_logout [-e skip_local=true] [-e skip_remote=true]"),
    Command(("registry", "setup"), "Setup local registry or log in to remote registry locally and remotely",
            build_registry_session("setup", "login"), SESSION,
            runs="a local registry (localhost:PORT): starts kamal-docker-registry " + LOCALLY + "; else " + PB + "registry_login"),
    Command(("registry", "remove"), "Remove local registry or log out of remote registry locally and remotely",
            build_registry_session("remove", "logout"), SESSION,
            runs="a local registry (localhost:PORT): stops and removes kamal-docker-registry " + LOCALLY + "; else " + PB + "registry_logout"),

    Command(("secrets", "print"), "Print the secrets (for debugging)", local_command(local.secrets_print),
            runs=".kamal/secrets read as a deploy reads them, " + LOCALLY),
    Command(("secrets", "fetch"), "Fetch secrets from a vault", local_command(local.secrets_fetch),
            (Opt(("-a", "--adapter"), "Which vault adapter to use", metavar="ADAPTER", required=True),
             Opt(("--account",), "The account identifier or username", metavar="ACCOUNT"),
             Opt(("--from",), "A vault or folder to fetch the secrets from", metavar="FROM", dest="from_"),
             Opt(("--inline",), "Print the JSON shell-escaped (as inside a secrets file)")),
            args="[SECRETS...]", positionals=(("secrets", "*"),), runs="the vault's CLI (op, bw, aws ...), " + LOCALLY),
    Command(("secrets", "extract"), "Extract a single secret from the results of a fetch call", local_command(local.secrets_extract),
            (Opt(("--inline",), "Print the value only (as inside a secrets file)"),),
            args="NAME SECRETS", positionals=(("name", "?"), ("secrets_json", "?")), runs=LOCALLY),

    Command(("server", "exec"), "Run a custom command on the server (use --help to show options)", build_server_exec,
            (Opt(("-i", "--interactive"), "Run the command interactively (use for console/bash)", default_note="false"),),
            args="[CMD...]", free_args=True,
            runs=PB + "server_exec -e '{\"cmd\": ...}'; with -i: ssh -t to the primary host"),
    Command(("server", "bootstrap"), "Set up Docker to run Kamal apps", simple("server_bootstrap"), runs=PB + "server_bootstrap"),

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
    "tree": ("", "Print a tree of all available commands"),
}
TOP_LEVEL = sorted({c.path[0] for c in COMMANDS} | set(BUILTIN))
