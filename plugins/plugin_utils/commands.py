# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command table: every Kamal command our playbooks implement, with what it needs (the lock, a version,
secrets, a build), where it acts (scope), the hooks around it and the user options it takes; and ``resolve``,
which turns one command, the kamal inventory's ``kamal`` variable and this run into the one plan the roles read
(the ``kamal_plan_run`` variable, a name no user option shares).

A playbook names its command (``kamal_command: app logs``); the command role resolves it in one controller task
(the kamal_prepare action) and includes only the task files the command needs: a read-only command lists no
build, deliver or lock task. Pure: the secrets, the hooks directory, the clock and this run's identity are
passed in."""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.kamal.deploy.plugins.plugin_utils import plan

# The name of the one variable that holds the resolved command (registered by the command role).
PLAN_VAR = "kamal_plan_run"


class CommandError(Exception):
    """A command that cannot run as asked: the message names the option or the name and the fix."""


# A user option (-e NAME=VALUE) and how the command takes it: ``to`` the module option it becomes (or, with
# ``setting``, the proxy setting), ``kind`` bool | int | str | raw, the default when it is not given (MISSING:
# left out), and ``required``: the message when it must be given.
MISSING = object()
Option = namedtuple("Option", "name to kind default required setting")
Option.__new__.__defaults__ = (None, "raw", MISSING, None, False)


def opt(name, to=None, kind="raw", default=MISSING, required=None, setting=False):
    return Option(name, to or name, kind, default, required, setting)


LINES, SINCE, GREP = opt("lines", kind="int"), opt("since", kind="str"), opt("grep", kind="str")
CONFIRM = "%s Run it again with -e confirm=true."
EXEC_COMMAND = "%s exec needs a command: -e cmd=%s (or a list%s)."

# flow: the command role's task file that does the work (deploy, app, app_remove, accessory, proxy, proxy_reboot, lock,
# audit).
# action: the module command (kamal_app's, kamal_accessory's, kamal_proxy's); hook_command/hook_subcommand:
# KAMAL_COMMAND and KAMAL_SUBCOMMAND for the hooks. locked: True, False or the bool option that decides.
# scope (app flows): roles (every selected role of the host), host (its first one), proxied (the selected roles
# that run the proxy), primary (the primary role). hooks: those run around the command, besides pre-connect.
Command = namedtuple("Command", "name flow action hook_command hook_subcommand locked scope needs_secrets needs_version "
                                "version_from_config builds proxy skip_prune fleet hooks options pre_connect")


def command(name, flow, action=None, hook_command=None, hook_subcommand=None, locked=False, scope="roles",
            needs_secrets=False, needs_version=False, version_from_config=True, builds=False, proxy=False,
            skip_prune=False, fleet=False, hooks=(), options=(), pre_connect=True):
    words = name.split()
    return Command(name, flow, action or words[-1], hook_command or words[0],
                   hook_subcommand if hook_subcommand is not None else (words[1] if len(words) > 1 else None),
                   locked, scope, needs_secrets, needs_version, version_from_config, builds, proxy, skip_prune, fleet,
                   tuple(hooks), tuple(options), pre_connect)


DEPLOY_HOOKS = ("pre-build", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy")
# Kamal main after 2.12 (unreleased when written): around app remove, under the lock (app_remove.yml).
APP_REMOVE_HOOKS = ("pre-app-remove", "post-app-remove")
# deploy, redeploy, setup and rollout deploy: -P (pull, no build) and --no-cache (a build without Docker's cache).
BUILD_OPTIONS = (opt("skip_push", kind="bool", default=False), opt("no_cache", kind="bool", default=False))


def _deploy(name, **kw):
    return command(name, "deploy", action="boot", hook_subcommand="", locked=True, needs_secrets=True,
                   needs_version=True, builds=True, fleet=True, hooks=DEPLOY_HOOKS, options=BUILD_OPTIONS, **kw)


def _app(sub, flow="app", **kw):
    return command("app " + sub, flow, **kw)


def _accessory(sub, names="accessory", **kw):
    options = (opt(names, to="names", kind="str", default="all"),) + tuple(kw.pop("options", ()))
    return command("accessory " + sub, "accessory", scope="accessory", options=options, **kw)


def _proxy(sub, flow="proxy", **kw):
    return command("proxy " + sub, flow, scope="proxy", **kw)


def _lock(sub, **kw):
    return command("lock " + sub, "lock", pre_connect=False, **kw)


def _server(action, **kw):
    """server exec, registry login|logout and proxy boot_config: kamal_server on each host (and, for a registry
    session, the controller's docker CLI first). Named after the family they belong to in Kamal."""
    family = kw.get("hook_command") or "server"
    return command("%s %s" % (family, action), "server", action=action, **kw)


# registry login|logout -L/-R: Kamal's --skip-local and --skip-remote.
SESSION_OPTIONS = (opt("skip_local", kind="bool", default=False), opt("skip_remote", kind="bool", default=False))
BOOT_CONFIG_ACTIONS = ("get", "set", "reset")


TABLE = {c.name: c for c in (
    _deploy("deploy", proxy=True),
    _deploy("redeploy", skip_prune=True),
    _deploy("setup", proxy=True),
    # rollback lists the versions present before it needs one (the playbook asks for it).
    command("rollback", "deploy", action="boot", hook_subcommand="", locked=True, needs_secrets=True,
            version_from_config=False, fleet=True, hooks=("pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy")),
    _app("boot", locked=True, needs_secrets=True, version_from_config=False, hooks=("pre-app-boot", "post-app-boot")),
    _app("containers", scope="host"),
    _app("details"),
    _app("exec", needs_secrets=True, version_from_config=False, options=(
        opt("cmd", to="exec_command",
            required=EXEC_COMMAND % ("app", '"bin/rails db:migrate"', ", -e '{\"cmd\": [\"ls\", \"-l\"]}'")),
        opt("exec_env", default={}), opt("reuse", kind="bool", default=False), opt("detach", kind="bool", default=False),
        opt("primary", kind="bool", default=False), opt("raw_output", kind="str"))),
    _app("images", scope="host"),
    _app("live", locked=True, scope="proxied"),
    _app("logs", options=(LINES, SINCE, GREP, opt("container_id", kind="str"))),
    _app("maintenance", locked=True, scope="proxied", options=(opt("message", to="maintenance_message", kind="str"),)),
    _app("remove", flow="app_remove", locked=True, hooks=APP_REMOVE_HOOKS, options=(opt("confirm", kind="bool", default=False, required=CONFIRM % (
        "app remove deletes every container of the targeted roles (and, when all of a host's roles are targeted, "
        "the service's images and app directory).")),)),
    _app("stale_containers", locked="stop", options=(opt("stop", kind="bool", default=False),)),
    _app("start", needs_version=True, locked=True),
    _app("stop", locked=True),
    _app("version", scope="host"),
    # Canary rollouts: kamal-proxy's `rollout deploy|set|stop`, which Kamal does not expose (ours: kamal_app's
    # rollout commands, on the roles that run the proxy). deploy builds the version as deploy does.
    command("rollout deploy", "app", action="rollout_deploy", locked=True, needs_secrets=True, needs_version=True,
            builds=True, scope="proxied", options=BUILD_OPTIONS),
    command("rollout set", "app", action="rollout_set", locked=True, scope="proxied", options=(
        opt("percent", to="rollout_percent", kind="int", default=0), opt("list", to="rollout_list", default=[]))),
    command("rollout stop", "app", action="rollout_stop", locked=True, scope="proxied"),
    command("rollout status", "app", action="rollout", scope="proxied"),
    command("prune", "app", locked=True, scope="host", hook_subcommand="", options=(
        opt("prune", to="prune_only", kind="str", default="all"), opt("retain", kind="int"))),
    # remove: one play each for the app, the proxy and the accessories, every one under the lock.
    command("remove app", "app_remove", action="remove", hook_subcommand="", locked=True, hooks=APP_REMOVE_HOOKS, options=(
        opt("confirm", kind="bool", default=False, required=CONFIRM % (
            "remove deletes the app's containers and images on every server, the proxy where no other app "
            "remains, and every accessory with its data directories.")),)),
    command("remove proxy", "proxy", action="remove", hook_subcommand="", locked=True, scope="proxy"),
    command("remove accessories", "accessory", action="remove", hook_subcommand="", locked=True, scope="accessory",
            options=(opt("confirm", kind="bool", default=False),)),
    command("setup accessories", "accessory", action="boot", hook_subcommand="", locked=True, needs_secrets=True,
            scope="accessory"),
    _accessory("boot", locked=True, needs_secrets=True),
    _accessory("details"),
    _accessory("exec", needs_secrets=True, options=(
        opt("cmd", to="exec_command", required=EXEC_COMMAND % ("accessory", "\"psql -U postgres -c 'select 1'\"", "")),
        opt("reuse", kind="bool", default=False))),
    _accessory("logs", options=(LINES, SINCE, GREP)),
    _accessory("reboot", locked=True, needs_secrets=True, options=(opt("force", kind="bool", default=True),)),
    _accessory("remove", locked=True, options=(opt("confirm", kind="bool", default=False),)),
    _accessory("restart", locked=True),
    _accessory("start", locked=True),
    _accessory("stop", locked=True),
    _accessory("upload", locked=True, needs_secrets=True),
    _proxy("boot", locked=True),
    _proxy("details"),
    _proxy("logs", options=(opt("lines", to="log_lines", kind="int", setting=True),)),
    _proxy("reboot", flow="proxy_reboot", locked=True, hooks=("pre-proxy-reboot", "post-proxy-reboot"), options=(
        opt("confirm", kind="bool", default=False, required="proxy reboot restarts the proxy: each server stops answering "
            "for the time of a container restart. Run it again with -e confirm=true (and -e rolling=true to reboot one "
            "server at a time)."),)),
    _proxy("remove", locked=True, options=(opt("force", kind="bool", setting=True),)),
    _proxy("start", locked=True),
    _proxy("stop", locked=True),
    _proxy("restart", locked=True),
    _lock("acquire", options=(opt("message", to="lock_message", kind="str", required=(
        'Say why: -e message="..." (Kamal: kamal lock acquire -m MESSAGE)')),)),
    _lock("release"),
    _lock("status"),
    command("audit", "audit", pre_connect=False, options=(opt("lines", kind="int", default=50),)),
    # details: one play each for the proxy, the app and the accessories (the pre-connect hook runs once).
    command("details proxy", "proxy", action="details", hook_subcommand="", scope="proxy"),
    command("details app", "app", action="details", hook_subcommand="", pre_connect=False),
    command("details accessories", "accessory", action="details", hook_subcommand="", scope="accessory", pre_connect=False),
    # build push builds (and pushes) on the controller; build pull gets the version to each server as a deploy does
    # (the local registry's forward or delivery over SSH first, then one kamal_app pull per host).
    command("build push", "image", builds=True, needs_version=True, needs_secrets=True, hooks=("pre-build",), options=(
        opt("output", kind="str", default="registry"), opt("no_cache", kind="bool", default=False))),
    command("build pull", "app", action="pull", needs_version=True, needs_secrets=True, scope="host"),
    # build deliver: build push then build pull in one play (the build and push once, on the controller; one pre-connect).
    command("build deliver", "app", action="pull", builds=True, needs_version=True, needs_secrets=True, scope="host",
            hooks=("pre-build",)),
    _server("exec", options=(opt("cmd", to="exec_command", required=EXEC_COMMAND % ("server", "uptime", "")),)),
    command("server bootstrap", "bootstrap", locked=True, hooks=("docker-setup",)),
    _server("login", hook_command="registry", needs_secrets=True, options=SESSION_OPTIONS),
    _server("logout", hook_command="registry", options=SESSION_OPTIONS),
    _server("boot_config", hook_command="proxy", scope="proxy", options=(
        opt("boot_config", kind="str", required="proxy boot_config needs what to do: -e boot_config=get|set|reset"),
        opt("boot_settings", default={}))),
)}

# The proxy's settings (the proxy role's documented variables): name -> (user variable, default).
PROXY_SETTINGS = {
    "image": ("kamal_proxy_image", ""),
    "build_image": ("kamal_proxy_build_image", "kamal-deploy/proxy:2.11"),
    "build_args": ("kamal_proxy_build_args", {"BASE": "caddy:2.11-alpine"}),
    "run": ("kamal_proxy_run", {}),
    "acme": ("kamal_proxy_acme", {}),
    "takeover": ("proxy_takeover", False),
    "force": ("kamal_proxy_force", False),
    "keep_in_use": ("kamal_proxy_keep_in_use", False),
    "log_lines": ("kamal_proxy_log_lines", 100),
}


def lookup(name):
    try:
        return TABLE[name]
    except KeyError:
        raise CommandError("Unknown kamal command %r (known: %s)" % (name, ", ".join(sorted(TABLE)))) from None


def _convert(option, value):
    if option.kind == "bool":
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0", ""):
                raise CommandError("-e %s= takes true or false (got %r)" % (option.name, value))
            return lowered in ("true", "yes", "on", "1")
        return bool(value)
    if option.kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise CommandError("-e %s= takes a whole number (got %r)" % (option.name, value)) from None
    if option.kind == "str":
        return "" if value is None else str(value)
    return value


def user_options(cmd, given):
    """The command's own options from the user's variables (``given``: name -> value, only those set)."""
    found = {}
    for option in cmd.options:
        if option.name in given and given[option.name] is not None:
            value = _convert(option, given[option.name])
        elif option.default is not MISSING:
            value = option.default
        elif option.required:
            raise CommandError(option.required)
        else:
            continue
        if option.required and not (value.strip() if isinstance(value, str) else value):
            raise CommandError(option.required)
        found[option.name] = value
    return found


def _check_prune(options):
    if options.get("prune", "all") not in ("all", "containers", "images") or options.get("retain", 1) < 1:
        raise CommandError("-e prune= takes all, containers or images; -e retain= must be at least 1 (got prune=%s, retain=%s)"
                           % (options.get("prune", "all"), options.get("retain", "")))


def _check_raw_output(resolved, options):
    """Kamal's ``app exec --raw``: one command's output, byte for byte, into one file; so one host and role."""
    if options.get("detach"):
        raise CommandError("-e raw_output= and -e detach=true do not go together (Kamal: Raw is not compatible with detach)")
    calls = [(host, role) for host, placed in resolved["hosts"].items()
             for role in list(placed.get("primary") or []) + list(placed.get("others") or [])]
    if len(calls) != 1:
        raise CommandError("-e raw_output=%s writes the output of one command, and this one would run %d times (%s): "
                           "add -e primary=true, or -l with one host and role" % (
                               options["raw_output"], len(calls), ", ".join("%s on %s" % (r, h) for h, r in calls) or "nowhere"))


def selected_roles(kamal, limit=None, roles_option=None):
    """Like Kamal's -r: ``-l web_new`` (or -e roles=web_new) selects only that role, even on a host that runs
    others; host limits (-l 172.29.0.11) select every role of the host ([] : no role selection)."""
    names = [role["name"] for role in kamal["roles"]]
    if roles_option is not None:
        words = str(roles_option).split(",")
    else:
        words = "".join(" " if c in ":,&!" else c for c in (limit or "")).split()
    return [word for word in words if word in names]


def host_roles(kamal, host, host_role_names, selection):
    """The roles to act on, on ``host``: its roles (the inventory's kamal_roles), in the config's order, kept
    to the selection when there is one."""
    return [role for role in kamal["roles"]
            if role["name"] in host_role_names and (not selection or role["name"] in selection)]


def _scoped(cmd, roles, primary_option):
    scope = "primary" if primary_option else cmd.scope
    if scope == "host":
        return roles[:1]
    if scope == "proxied":
        return [role for role in roles if role.get("running_proxy")]
    if scope == "primary":
        return [role for role in roles if role.get("primary")]
    return roles


def boot_groups(kamal, play_hosts, hosts, boots, hooks_present):
    """The host groups an app command goes through, each with the primary and the other roles to act on per
    host (``hosts``: host -> {primary, others}). For a boot, the play's hosts (primary-role hosts first) in
    slices of boot.limit, each between the pre-app-boot and post-app-boot hooks, then boot.wait seconds
    (Kamal's rolling boot), the roles of a host at once with boot.parallel_roles (_boot_items), the assets of every
    host first (assets_first); any other command acts on every host at once."""
    if boots:
        primary_hosts = [h for role in kamal["roles"] if role.get("primary") for h in role.get("hosts") or []]
        ordered = []
        for host in primary_hosts + list(kamal.get("app_hosts") or []):
            if host in play_hosts and host not in ordered:
                ordered.append(host)
        size = max(kamal["boot"].get("limit") or len(ordered), 1)
        slices = [ordered[i:i + size] for i in range(0, len(ordered), size)]
    else:
        slices = [list(play_hosts)]
    wait = (kamal["boot"].get("wait") or 0) if boots else 0
    parallel = boots and bool(kamal["boot"].get("parallel_roles"))
    pre_hook, post_hook = boots and "pre-app-boot" in hooks_present, boots and "post-app-boot" in hooks_present
    groups = []
    for n, group in enumerate(slices):
        group_wait = wait if n + 1 < len(slices) else 0
        items = {h: _boot_items(hosts[h], parallel) for h in group if h in hosts}
        primary = {h: item[0] for h, item in items.items()}
        others = {h: item[1] for h, item in items.items()}
        # The app role's files for the group's calls: only the loops that have a role to call (the other roles'
        # loop is no task at all where every host runs one role).
        roles_tasks = ("roles.yml" if any(primary.values()) and any(others.values())
                       else "others.yml" if any(others.values()) else "primary.yml")
        groups.append({
            "number": n + 1, "count": len(slices), "hosts": group,
            # tasks: the app role's file for the group: group.yml puts the hooks and the wait around the calls;
            # a boot group with neither includes them at once (two tasks fewer per host, ~0.1 s a deploy);
            # other commands print what each call returns (output.yml).
            "tasks": "group.yml" if pre_hook or post_hook or group_wait else roles_tasks if boots else "output.yml",
            "roles_tasks": roles_tasks, "primary": primary, "others": others,
            "pre_hook": pre_hook, "post_hook": post_hook, "wait": group_wait,
            "label": "group %d of %d" % (n + 1, len(slices))})
    prepare = assets_first(kamal, [h for group in slices for h in group], hosts) if boots else {}
    if prepare:
        groups.insert(0, {"number": 0, "count": len(slices), "hosts": sorted(prepare, key=list(hosts).index),
                          "tasks": "primary.yml", "roles_tasks": "primary.yml", "primary": prepare,
                          "others": {h: [] for h in prepare}, "pre_hook": False, "post_hook": False, "wait": 0,
                          "label": "the version's assets on every host first"})
    return groups


def assets_first(kamal, boot_hosts, hosts):
    """Kamal prepares the assets (asset_path) on every host before any boots: a page of the new version served by
    one host asks the others for its assets, and their old containers must have them. One kamal_app call per host
    and asset role (``command: assets``: extract, combine both ways) before the first boot group; only when the
    boot spans more than one host (on one host the boot call does it in its own order)."""
    asset_roles = [role["name"] for role in kamal["roles"] if role.get("running_proxy") and role.get("asset_path")]
    prepare = {h: [{"role": r, "command": "assets"} for r in hosts[h]["roles"] if r in asset_roles]
               for h in boot_hosts if h in hosts}
    prepare = {h: items for h, items in prepare.items() if items}
    return prepare if len(prepare) > 1 else {}


def _boot_items(placed, parallel):
    """The items of a host's primary-role and other-roles loops: role names, one call each; with
    boot.parallel_roles and several roles on the host, one item listing them, booted at once in one call (the
    primary role's loop when the host has it: the others then wait for its healthy container, Kamal's barrier)."""
    primary, others = list(placed["primary"]), list(placed["others"])
    if not parallel or len(primary) + len(others) < 2:
        return primary, others
    if primary:
        return [primary + others], []
    return [], [others]


COMMAND_ROLE, APP_ROLE = "kamal.deploy.command", "kamal.deploy.app"


def work_step(cmd, groups, hooks):
    """The role and task file that do the command's work, and the boot group they act on: an app command (or a
    deploy with no pre-deploy hook) of one group goes straight to the app role's file for it, one include instead
    of the flow file's and the group loop's; anything else to the command role's flow file."""
    direct = (cmd.flow == "app" or (cmd.flow == "deploy" and "pre-deploy" not in hooks)
              or (cmd.flow == "app_remove" and not set(APP_REMOVE_HOOKS) & set(hooks)))
    if direct and len(groups) == 1:
        return {"role": APP_ROLE, "tasks": groups[0]["tasks"], "group": groups[0]}
    return {"role": COMMAND_ROLE, "tasks": cmd.flow + ".yml", "group": {}}


def accessories_on(kamal, host, names):
    """The accessories named (a name, a comma-separated list or all) that run on ``host``."""
    return [a["name"] for a in kamal["accessories"] if host in (a.get("hosts") or [])
            and (names == "all" or a["name"] in names.split(","))]


def check_accessory_names(kamal, names):
    known = [a["name"] for a in kamal["accessories"]]
    unknown = [] if names == "all" else [name for name in names.split(",") if name not in known]
    if unknown:
        raise CommandError("No accessory by the name of '%s' in %s (accessories: %s). Use -e accessory=NAME or "
                           "-e accessory=all." % ("', '".join(unknown), (kamal.get("config_files") or ["deploy.yml"])[0],
                                                  ", ".join(known) or "none"))


def version_of(cmd, kamal, version_option):
    """-e version wins; else the config's version (git), except for commands that boot the latest tag as Kamal
    does (app boot, app exec)."""
    if version_option:
        return str(version_option)
    return (kamal.get("version") or "") if cmd.version_from_config else ""


def proxy_settings(given, overrides=None):
    """The proxy's settings from the user's variables (PROXY_SETTINGS' names), the command's options winning."""
    settings = {key: given[var] if given.get(var) is not None else default for key, (var, default) in PROXY_SETTINGS.items()}
    settings.update(overrides or {})
    return settings


def module_options(cmd, options):
    """The user's options under their module names (-e cmd= is exec_command); prune's ``all`` prunes both."""
    taken = {o.to: options[o.name] for o in cmd.options if o.name in options and not o.setting}
    if taken.get("prune_only") == "all":
        taken.pop("prune_only")
    return taken


def local_registry_forward(port, controller_pid, forward_dir):
    """The OpenSSH remote forward that lets the servers pull from the controller's local registry: an open
    ControlPersist master would not take a new -R, so this run's connections get their own ControlPath (in
    ``forward_dir``, closed once ansible-playbook ends)."""
    return {"port": port, "forward_dir": forward_dir, "forward": "-R %s:" % port,
            "ssh_args": "-R %s:127.0.0.1:%s -o ControlPath=%s/%s-%%C" % (port, port, forward_dir, controller_pid)}


def resolve(name, kamal, given, play_hosts, host_role_names, identity, hooks_present=(), secrets=None, environ=None,
            limit=None, started_at=None, forward_dir=None):
    """The plan of one command for this run.

    ``given``: the user's variables this command may read (its options, version, roles, lock_wait,
    force_unlock, skip_hooks, the proxy's settings); ``play_hosts``: the play's hosts; ``host_role_names``:
    host -> the inventory's kamal_roles; ``identity``: controller.identity(); ``hooks_present``: the hook files
    that exist; ``secrets``: a callable names -> {name: value}, called only when the command needs secrets;
    ``environ``: the controller's environment (KAMAL_LOCK); ``limit``: ansible_limit; ``forward_dir``: where the
    local registry's SSH control sockets live."""
    cmd = lookup(name)
    environ = environ or {}
    options = user_options(cmd, given)
    if cmd.name == "prune":
        _check_prune(options)
    builds = cmd.builds and not options.get("skip_push")
    version = version_of(cmd, kamal, given.get("version"))
    if cmd.needs_version and not version:
        raise CommandError(kamal.get("version_error") or "No version for %s: pass -e version=..." % kamal["project_dir"])
    locked = options.get(cmd.locked, False) if isinstance(cmd.locked, str) else cmd.locked
    wanted_hooks = (("pre-connect",) if cmd.pre_connect else ()) + cmd.hooks
    hooks = [hook for hook in wanted_hooks if hook in hooks_present and (builds or hook != "pre-build")]
    secret_names = list(kamal.get("secret_names") or [])
    secret_values = dict(secrets(secret_names)) if cmd.needs_secrets and secret_names and secrets else {}
    resolved = {
        "command": cmd.name, "flow": cmd.flow, "action": cmd.action, "scope": cmd.scope,
        # prune's KAMAL_SUBCOMMAND is what it prunes (all, containers, images), as Kamal's `prune <what>`.
        "hook_command": cmd.hook_command, "hook_subcommand": options["prune"] if cmd.name == "prune" else cmd.hook_subcommand or None,
        "locked": bool(locked), "needs_secrets": cmd.needs_secrets, "needs_version": cmd.needs_version,
        "builds": bool(builds), "skip_prune": cmd.skip_prune, "fleet": cmd.fleet, "proxy": cmd.proxy,
        "hooks": hooks, "skip_hooks": bool(_convert(opt("skip_hooks", kind="bool"), given.get("skip_hooks") or False)),
        "run_id": identity["run_id"], "controller_pid": identity["controller_pid"], "performer": identity["performer"],
        # post-deploy's KAMAL_RUNTIME: the deploy's seconds since this task (rollback gives none, as before).
        "started_at": started_at if cmd.builds else None, "version": version, "secrets": secret_values, "options": module_options(cmd, options),
        # One lock per service and destination, whatever the limit or the play (app, proxy, accessories): on the
        # config's primary host, even outside -l (Ansible delegates to any inventory host); accessory-only
        # configs have none and lock on the first host of the play.
        "lock_host": kamal.get("primary_host") or (list(play_hosts) or [None])[0],
        # A run started from a hook that already holds the lock (KAMAL_LOCK=true) does not lock again.
        "lock_inherited": environ.get("KAMAL_LOCK") == "true",
        "lock_wait": _convert(opt("lock_wait", kind="int"), given.get("lock_wait") or 0),
        "force_unlock": _convert(opt("force_unlock", kind="bool"), given.get("force_unlock") or False),
    }
    registry = kamal["registry"]
    resolved["delivers"] = bool(kamal.get("image_delivery") == "ssh" and cmd.needs_version and version)
    resolved["local_registry_forward"] = bool(registry.get("local") and kamal.get("image_delivery") != "ssh"
                                              and cmd.needs_version)
    resolved["build"] = build_args(kamal, version, secret_values, options) if builds else None
    # The prepare role's task files this run needs, in order: only locked commands build, deliver or forward
    # (and build push, pull, which do nothing else).
    resolved["image_steps"] = [step for step, needed in (("local_registry", resolved["local_registry_forward"]),
                                                         ("build", builds), ("deliver", resolved["delivers"])) if needed]
    if cmd.flow == "image":
        resolved["image_steps"] = ["build"] if builds else []
    if cmd.flow == "server":
        resolved.update(_server_placement(cmd, kamal, options))
    if resolved["local_registry_forward"]:
        resolved["local_registry"] = local_registry_forward(registry["local_port"], identity["controller_pid"], forward_dir)
    resolved.update(_placement(cmd, kamal, given, options, play_hosts, host_role_names, hooks, limit))
    if options.get("raw_output"):
        _check_raw_output(resolved, options)
    # What does the command's work (the command role's flow file, or straight the app role's file for its one
    # group), and the command role's one include: the image steps then the lock block (image.yml), the lock block
    # (locked.yml), each of which includes the work, or the work itself.
    resolved["work"] = work_step(cmd, resolved.get("boot_groups") or [], hooks)
    if cmd.flow == "image" or (cmd.action == "pull" and resolved["delivers"]):
        resolved["work"] = None  # build push, or a pull done by delivering over SSH: the image steps are all of it
    # An unlocked command with image steps (build push, pull) runs them, then its work, from build.yml.
    unlocked = {"role": COMMAND_ROLE, "tasks": "build.yml", "group": {}} if resolved["image_steps"] else resolved["work"]
    resolved["entry"] = ({"role": COMMAND_ROLE, "tasks": "image.yml" if resolved["image_steps"] else "locked.yml", "group": {}}
                         if locked else unlocked)
    if cmd.scope == "proxy" or cmd.flow == "deploy":
        overrides = {o.to: options[o.name] for o in cmd.options if o.setting and o.name in options}
        if cmd.name == "remove proxy":
            overrides["keep_in_use"] = True  # another app still routed through this proxy keeps it, as in Kamal
        resolved["proxy_args"] = plan.proxy_args(kamal, proxy_settings(given, overrides))
        resolved["proxy_hosts"] = [h for h in play_hosts if h in (kamal.get("proxy_hosts") or [])]
        resolved["proxy_log_lines"] = int(proxy_settings(given, overrides)["log_lines"])
    return resolved


def _server_placement(cmd, kamal, options):
    """Where kamal_server runs: a registry session on the controller's docker CLI too (unless -L) and on the
    servers (unless -R), as Kamal's registry login/logout; the others on the servers only."""
    if cmd.action in ("login", "logout"):
        if kamal["registry"].get("local"):
            raise CommandError("Cannot use %s command with a local registry (%s): the servers pull from it through an SSH "
                               "forward and need no session" % (cmd.action, kamal["registry"].get("server")))
        return {"server_local": not options.get("skip_local"), "server_remote": not options.get("skip_remote")}
    if cmd.action == "boot_config" and options.get("boot_config") not in BOOT_CONFIG_ACTIONS:
        raise CommandError("Unknown boot_config subcommand %s: proxy boot_config takes get, set or reset"
                           % options.get("boot_config"))
    return {"server_local": False, "server_remote": True}


def _placement(cmd, kamal, given, options, play_hosts, host_role_names, hooks, limit):
    """Where the command acts: per host, the roles (primary first) or the accessories; the boot groups."""
    if cmd.flow == "accessory":
        names = options.get("accessory") or "all"
        check_accessory_names(kamal, names)
        return {"hosts": {h: {"accessories": accessories_on(kamal, h, names)} for h in play_hosts}, "selected_roles": []}
    if cmd.flow not in ("app", "app_remove", "deploy"):
        return {"hosts": {}, "selected_roles": []}
    selection = selected_roles(kamal, limit, given.get("roles"))
    hosts = {}
    for host in play_hosts:
        mine = host_roles(kamal, host, host_role_names.get(host) or [], selection)
        scoped = _scoped(cmd, mine, options.get("primary"))
        every = len(mine) == len(host_role_names.get(host) or [])
        hosts[host] = {"roles": [r["name"] for r in mine],
                       "primary": [r["name"] for r in scoped if r.get("primary")],
                       "others": [r["name"] for r in scoped if not r.get("primary")],
                       # app remove takes the images and the app directory only with every role of the host.
                       "options": {"remove_images": every, "remove_app_directory": every} if cmd.action == "remove" else {}}
    boots = cmd.action == "boot"
    return {"hosts": hosts, "selected_roles": selection,
            "boot_groups": boot_groups(kamal, play_hosts, hosts, boots, hooks)}


# build push --output: what we can give docker buildx (registry: build and push; docker: build into the local engine).
BUILD_OUTPUTS = ("registry", "docker")


def build_args(kamal, version, secrets, options=None):
    """kamal_build's arguments: the builder, the registry's credentials (from the config or its secrets) and
    the builder's secrets; build push's --output and --no-cache (``options``)."""
    options = options or {}
    output = options.get("output") or "registry"
    if output not in BUILD_OUTPUTS:
        raise CommandError("build push --output=%s: kamal.deploy builds into the local engine and pushes from there, so "
                           "--output takes registry (build and push) or docker (build only)" % output)
    credentials = plan.registry_credentials(kamal["registry"], secrets)
    builder = kamal["builder"]
    return {"service": kamal["service"], "repository": kamal["repository"], "version": version,
            "latest_tag": kamal["latest_tag"], "project_dir": kamal["project_dir"], "builder": builder,
            "registry": credentials,
            "secret_values": {name: plan.secret_value(secrets, name, "builder/secrets") for name in builder.get("secrets") or []},
            # image_delivery: ssh (ours) builds here and streams the image to the servers: nothing to push.
            "push": kamal.get("image_delivery") != "ssh" and output == "registry",
            "no_cache": bool(options.get("no_cache"))}
