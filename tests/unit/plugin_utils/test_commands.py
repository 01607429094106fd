"""The command table and its resolution: what each playbook used to set by hand (lock, scope, secrets, version,
build), the role selection of select.yml, the boot groups of app/tasks/main.yml, and the user options, read by
name so no internal variable can be set from -e."""
import glob
import os
import re

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import commands, plan

from test_plan import REPO, load

CONFIG = """\
service: app
image: app
servers:
  web: [1.1.1.1, 1.1.1.2, 1.1.1.3]
  workers:
    hosts: [1.1.1.2, 1.1.1.4]
    cmd: bin/jobs
proxy: {host: a.test, app_port: 3000}
registry: {server: r.test, username: u, password: [REG_PW]}
builder: {arch: amd64, secrets: [GH_TOKEN]}
env: {secret: [APP_SECRET]}
boot: {limit: 2, wait: 3}
accessories:
  db: {image: mysql:8, host: 1.1.1.4}
  cache: {image: redis:7, host: 1.1.1.1}
"""
HOSTS = ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"]
HOST_ROLES = {"1.1.1.1": ["web"], "1.1.1.2": ["web", "workers"], "1.1.1.3": ["web"], "1.1.1.4": ["workers"]}
IDENTITY = {"run_id": "r-1", "controller_pid": 42, "performer": "me@example.test"}
SECRETS = {"REG_PW": "pw", "APP_SECRET": "s", "GH_TOKEN": "gh"}


@pytest.fixture(name="kamal")
def fixture_kamal(tmp_path):
    return load(tmp_path, CONFIG)


class SecretsRead:
    def __init__(self):
        self.calls = []

    def __call__(self, names):
        self.calls.append(list(names))
        return {name: SECRETS[name] for name in names}


def resolve(kamal, name, given=None, hooks=(), limit=None, environ=None, play_hosts=None, secrets=None):
    hosts = list(play_hosts or (HOSTS if not name.startswith(("accessory", "setup acc", "remove acc")) else ["1.1.1.1", "1.1.1.4"]))
    return commands.resolve(name, kamal, dict(given or {}), hosts, HOST_ROLES, IDENTITY, hooks,
                            secrets=secrets or SecretsRead(), environ=environ or {}, limit=limit, started_at=100.0,
                            forward_dir="/home/me/.ansible/kamal-fwd")


# What each playbook set before the table (kamal_app_locked, kamal_app_scope, kamal_needs_secrets,
# kamal_needs_version, skip_push): the table must say the same.
@pytest.mark.parametrize("name, flow, locked, scope, needs_secrets, needs_version, builds", [
    ("deploy", "deploy", True, "roles", True, True, True),
    ("redeploy", "deploy", True, "roles", True, True, True),
    ("setup", "deploy", True, "roles", True, True, True),
    ("rollback", "deploy", True, "roles", True, False, False),
    ("app boot", "app", True, "roles", True, False, False),
    ("app containers", "app", False, "host", False, False, False),
    ("app details", "app", False, "roles", False, False, False),
    ("app exec", "app", False, "roles", True, False, False),
    ("app images", "app", False, "host", False, False, False),
    ("app live", "app", True, "proxied", False, False, False),
    ("app logs", "app", False, "roles", False, False, False),
    ("app maintenance", "app", True, "proxied", False, False, False),
    ("app remove", "app_remove", True, "roles", False, False, False),
    ("app stale_containers", "app", "stop", "roles", False, False, False),  # locked with -e stop=true
    ("app start", "app", True, "roles", False, True, False),
    ("app stop", "app", True, "roles", False, False, False),
    ("app version", "app", False, "host", False, False, False),
    ("prune", "app", True, "host", False, False, False),
    ("remove app", "app_remove", True, "roles", False, False, False),
    ("remove proxy", "proxy", True, "proxy", False, False, False),
    ("remove accessories", "accessory", True, "accessory", False, False, False),
    ("setup accessories", "accessory", True, "accessory", True, False, False),
    ("accessory boot", "accessory", True, "accessory", True, False, False),
    ("accessory details", "accessory", False, "accessory", False, False, False),
    ("accessory exec", "accessory", False, "accessory", True, False, False),
    ("accessory logs", "accessory", False, "accessory", False, False, False),
    ("accessory reboot", "accessory", True, "accessory", True, False, False),
    ("accessory remove", "accessory", True, "accessory", False, False, False),
    ("accessory restart", "accessory", True, "accessory", False, False, False),
    ("accessory start", "accessory", True, "accessory", False, False, False),
    ("accessory stop", "accessory", True, "accessory", False, False, False),
    ("accessory upload", "accessory", True, "accessory", True, False, False),
    ("proxy boot", "proxy", True, "proxy", False, False, False),
    ("proxy details", "proxy", False, "proxy", False, False, False),
    ("proxy logs", "proxy", False, "proxy", False, False, False),
    ("proxy reboot", "proxy_reboot", True, "proxy", False, False, False),
    ("proxy remove", "proxy", True, "proxy", False, False, False),
    ("lock acquire", "lock", False, "roles", False, False, False),
    ("lock release", "lock", False, "roles", False, False, False),
    ("lock status", "lock", False, "roles", False, False, False),
    ("audit", "audit", False, "roles", False, False, False),
])
def test_the_table_says_what_each_command_needs(name, flow, locked, scope, needs_secrets, needs_version, builds):
    cmd = commands.lookup(name)
    assert (cmd.flow, cmd.locked, cmd.scope, cmd.needs_secrets, cmd.needs_version, cmd.builds) == (
        flow, locked, scope, needs_secrets, needs_version, builds)


def test_every_playbook_names_a_command_of_the_table():
    named = set()
    for path in glob.glob(os.path.join(REPO, "playbooks", "*.yml")):
        with open(path, encoding="utf-8") as f:
            named.update(re.findall(r"kamal_command(?:_override)?: ([a-z_ ]+?)\s*$", f.read(), re.M))
    named.discard("")
    assert named and named <= set(commands.TABLE), named - set(commands.TABLE)


def test_an_unknown_command_names_the_known_ones():
    with pytest.raises(commands.CommandError, match="Unknown kamal command 'app frobnicate'.*app logs"):
        commands.lookup("app frobnicate")


def test_skip_push_false_on_app_boot_builds_nothing(kamal):
    # It used to build and push: app boot set skip_push: true as a role var, which -e skip_push=false overrode.
    resolved = resolve(kamal, "app boot", {"skip_push": False}, hooks=("pre-build", "pre-connect"))
    assert (resolved["builds"], resolved["build"], resolved["hooks"]) == (False, None, ["pre-connect"])


@pytest.mark.parametrize("given, builds", [({}, True), ({"skip_push": True}, False), ({"skip_push": "true"}, False),
                                           ({"skip_push": "false"}, True)])
def test_deploy_builds_unless_skip_push(kamal, given, builds):
    resolved = resolve(kamal, "deploy", given, hooks=("pre-build",))
    assert resolved["builds"] is builds and ("pre-build" in resolved["hooks"]) is builds
    assert (resolved["build"] is not None) is builds


def test_a_user_variable_named_like_an_internal_one_changes_nothing(kamal):
    # The resolution reads only the command's options and the run's (version, roles, lock_wait...).
    plain = resolve(kamal, "app logs")
    noisy = resolve(kamal, "app logs", {"kamal_plan_run": {"locked": True}, "locked": True, "builds": True})
    assert plain == noisy and not plain["locked"]


def test_the_build_gets_the_registry_credentials_and_the_builder_secrets(kamal):
    build = resolve(kamal, "deploy")["build"]
    assert build["registry"] == {"server": "r.test", "username": "u", "password": "pw"}
    assert build["secret_values"] == {"GH_TOKEN": "gh"} and build["push"] is True and build["version"] == "v1"


def test_only_commands_that_boot_read_secrets(kamal):
    reads = SecretsRead()
    assert resolve(kamal, "app logs", secrets=reads)["secrets"] == {} and reads.calls == []
    assert resolve(kamal, "app boot", secrets=reads)["secrets"] == SECRETS and len(reads.calls) == 1


@pytest.mark.parametrize("name, given, version", [
    ("deploy", {}, "v1"), ("deploy", {"version": "v9"}, "v9"),
    ("app boot", {}, ""),          # the latest tag, as Kamal does
    ("app exec", {"cmd": "ls"}, ""), ("app start", {}, "v1"), ("rollback", {}, ""), ("rollback", {"version": "v0"}, "v0"),
])
def test_the_version(kamal, name, given, version):
    assert resolve(kamal, name, given)["version"] == version


def test_a_command_that_needs_a_version_fails_without_one(kamal):
    kamal = dict(kamal, version=None, version_error="No git repository: pass -e version=...")
    with pytest.raises(commands.CommandError, match="No git repository"):
        resolve(kamal, "deploy")


@pytest.mark.parametrize("limit, roles, expected", [
    (None, None, {"1.1.1.1": ["web"], "1.1.1.2": ["web", "workers"], "1.1.1.3": ["web"], "1.1.1.4": ["workers"]}),
    ("workers", None, {"1.1.1.1": [], "1.1.1.2": ["workers"], "1.1.1.3": [], "1.1.1.4": ["workers"]}),
    ("1.1.1.2", None, {"1.1.1.1": ["web"], "1.1.1.2": ["web", "workers"], "1.1.1.3": ["web"], "1.1.1.4": ["workers"]}),
    ("1.1.1.2:&workers", None, {"1.1.1.1": [], "1.1.1.2": ["workers"], "1.1.1.3": [], "1.1.1.4": ["workers"]}),
    ("web", "workers", {"1.1.1.1": [], "1.1.1.2": ["workers"], "1.1.1.3": [], "1.1.1.4": ["workers"]}),
])
def test_roles_are_selected_by_a_role_limit_or_roles_and_a_host_limit_selects_every_role(kamal, limit, roles, expected):
    given = {"roles": roles} if roles else {}
    resolved = resolve(kamal, "app details", given, limit=limit)
    assert {host: placed["roles"] for host, placed in resolved["hosts"].items()} == expected


@pytest.mark.parametrize("name, expected", [
    ("app details", {"1.1.1.2": (["web"], ["workers"])}),
    ("app version", {"1.1.1.2": (["web"], [])}),       # host: its first role only
    ("app live", {"1.1.1.2": (["web"], []), "1.1.1.4": ([], [])}),  # proxied: the roles behind the proxy
])
def test_the_scope_keeps_the_roles_the_command_acts_on(kamal, name, expected):
    hosts = resolve(kamal, name)["hosts"]
    for host, (primary, others) in expected.items():
        assert (hosts[host]["primary"], hosts[host]["others"]) == (primary, others)


def test_app_exec_primary_runs_on_the_primary_role_only(kamal):
    hosts = resolve(kamal, "app exec", {"cmd": "ls", "primary": True})["hosts"]
    assert (hosts["1.1.1.2"]["primary"], hosts["1.1.1.2"]["others"], hosts["1.1.1.4"]["others"]) == (["web"], [], [])


def test_a_boot_goes_in_groups_of_boot_limit_primary_hosts_first_with_the_hooks_and_the_wait(kamal):
    groups = resolve(kamal, "app boot", hooks=("pre-app-boot",), play_hosts=["1.1.1.4", "1.1.1.3", "1.1.1.2", "1.1.1.1"])[
        "boot_groups"]
    assert [g["hosts"] for g in groups] == [["1.1.1.1", "1.1.1.2"], ["1.1.1.3", "1.1.1.4"]]
    assert [(g["number"], g["count"], g["wait"], g["pre_hook"], g["post_hook"]) for g in groups] == [
        (1, 2, 3, True, False), (2, 2, 0, True, False)]
    assert groups[0]["primary"] == {"1.1.1.1": ["web"], "1.1.1.2": ["web"]} and groups[0]["others"]["1.1.1.2"] == ["workers"]
    assert groups[1]["others"] == {"1.1.1.3": [], "1.1.1.4": ["workers"]}


def test_parallel_roles_boot_a_hosts_roles_in_one_call_the_primary_ones_in_the_primary_loop(kamal):
    kamal = dict(kamal, boot={"parallel_roles": True})
    hosts = HOST_ROLES | {"1.1.1.3": ["web", "workers", "jobs"]}
    kamal["roles"] = kamal["roles"] + [dict(kamal["roles"][1], name="jobs", hosts=["1.1.1.3", "1.1.1.4"])]
    hosts["1.1.1.4"] = ["workers", "jobs"]
    (group,) = commands.resolve("deploy", kamal, {}, HOSTS, hosts, IDENTITY, (), secrets=SecretsRead(), environ={},
                                started_at=1.0, forward_dir="/f")["boot_groups"]
    assert group["primary"] == {"1.1.1.1": ["web"], "1.1.1.2": [["web", "workers"]], "1.1.1.3": [["web", "workers", "jobs"]],
                                "1.1.1.4": []}
    assert group["others"] == {"1.1.1.1": [], "1.1.1.2": [], "1.1.1.3": [], "1.1.1.4": [["workers", "jobs"]]}
    # other commands go role by role, as without it
    stop = commands.resolve("app stop", kamal, {}, HOSTS, hosts, IDENTITY, (), secrets=SecretsRead(), environ={},
                            forward_dir="/f")["boot_groups"][0]
    assert stop["primary"]["1.1.1.2"] == ["web"] and stop["others"]["1.1.1.2"] == ["workers"]


def test_other_app_commands_act_on_every_host_at_once_without_group_hooks(kamal):
    groups = resolve(kamal, "app stop", hooks=("pre-app-boot",))["boot_groups"]
    assert [(g["hosts"], g["pre_hook"], g["wait"]) for g in groups] == [(HOSTS, False, 0)]


@pytest.mark.parametrize("name, hooks, boot, tasks", [
    ("app boot", ("pre-app-boot",), {"limit": 2, "wait": 3}, ["group.yml", "group.yml"]),
    ("app boot", (), {"limit": 2, "wait": 3}, ["group.yml", "roles.yml"]),   # the last group waits for nothing
    ("app boot", ("post-app-boot",), {}, ["group.yml"]),
    ("deploy", (), {}, ["roles.yml"]),                                         # no hook, no wait: the roles at once
    ("app stop", ("pre-app-boot",), {"limit": 2, "wait": 3}, ["output.yml"]),     # prints each call's output
])
def test_a_group_includes_the_hooks_and_wait_file_only_when_it_has_a_hook_or_a_wait(kamal, name, hooks, boot, tasks):
    kamal = dict(kamal, boot=boot)
    assert [g["tasks"] for g in resolve(kamal, name, hooks=hooks)["boot_groups"]] == tasks


def test_app_remove_takes_images_and_directory_only_with_every_role_of_the_host(kamal):
    hosts = resolve(kamal, "app remove", {"confirm": "true"}, limit="workers")["hosts"]
    assert hosts["1.1.1.4"]["options"] == {"remove_images": True, "remove_app_directory": True}
    assert hosts["1.1.1.2"]["options"] == {"remove_images": False, "remove_app_directory": False}


@pytest.mark.parametrize("name, given, message", [
    ("app remove", {}, "app remove deletes every container.*-e confirm=true"),
    ("remove app", {"confirm": False}, "remove deletes the app's containers.*-e confirm=true"),
    ("app exec", {"cmd": "  "}, "app exec needs a command"),
    ("accessory exec", {}, "accessory exec needs a command"),
    ("proxy reboot", {}, "proxy reboot restarts the proxy"),
    ("lock acquire", {}, "Say why"),
    ("prune", {"prune": "everything"}, "-e prune= takes all, containers or images"),
    ("prune", {"retain": 0}, "-e retain= must be at least 1"),
    ("app logs", {"lines": "many"}, "-e lines= takes a whole number"),
    ("accessory boot", {"accessory": "db,nosuch"}, "No accessory by the name of 'nosuch'.*accessories: db, cache"),
])
def test_a_command_asked_wrongly_fails_before_anything_runs_naming_the_fix(kamal, name, given, message):
    with pytest.raises(commands.CommandError, match=message):
        resolve(kamal, name, given)


@pytest.mark.parametrize("name, given, options", [
    ("app logs", {"lines": "20", "grep": "err"}, {"lines": 20, "grep": "err"}),
    ("app exec", {"cmd": "ls"}, {"exec_command": "ls", "exec_env": {}, "reuse": False, "detach": False, "primary": False}),
    ("app maintenance", {"message": "back soon"}, {"maintenance_message": "back soon"}),
    ("prune", {}, {}),
    ("prune", {"prune": "images", "retain": "3"}, {"prune_only": "images", "retain": 3}),
    ("accessory reboot", {}, {"names": "all", "force": True}),
    ("app stale_containers", {"stop": "true"}, {"stop": True}),
])
def test_user_options_become_the_module_options(kamal, name, given, options):
    assert resolve(kamal, name, given)["options"] == options


def test_app_stale_containers_locks_only_to_stop_them(kamal):
    assert not resolve(kamal, "app stale_containers")["locked"]
    assert resolve(kamal, "app stale_containers", {"stop": True})["locked"]


def test_the_accessories_per_host(kamal):
    assert resolve(kamal, "accessory boot", {"accessory": "db"})["hosts"] == {
        "1.1.1.1": {"accessories": []}, "1.1.1.4": {"accessories": ["db"]}}
    assert resolve(kamal, "setup accessories")["hosts"]["1.1.1.1"] == {"accessories": ["cache"]}


def test_the_run_identity_the_lock_and_the_hooks(kamal):
    resolved = resolve(kamal, "deploy", {"lock_wait": "30", "force_unlock": "true", "skip_hooks": True},
                       hooks=("pre-connect", "post-deploy", "pre-proxy-reboot", "unrelated"), environ={"KAMAL_LOCK": "true"})
    assert (resolved["run_id"], resolved["controller_pid"], resolved["performer"]) == ("r-1", 42, "me@example.test")
    assert (resolved["lock_host"], resolved["lock_inherited"], resolved["lock_wait"], resolved["force_unlock"]) == (
        "1.1.1.1", True, 30, True)
    assert resolved["hooks"] == ["pre-connect", "post-deploy"] and resolved["skip_hooks"] is True
    assert (resolved["hook_command"], resolved["hook_subcommand"], resolved["started_at"]) == ("deploy", None, 100.0)
    assert resolve(kamal, "app logs")["hook_subcommand"] == "logs" and resolve(kamal, "rollback")["started_at"] is None
    assert [resolve(kamal, "prune", given)["hook_subcommand"] for given in ({}, {"prune": "images"})] == ["all", "images"]


def test_without_a_primary_host_the_lock_is_on_the_first_host_of_the_play(kamal):
    kamal = dict(kamal, primary_host=None)
    assert resolve(kamal, "accessory boot", play_hosts=["1.1.1.4", "1.1.1.1"])["lock_host"] == "1.1.1.4"


def test_the_proxy_arguments_come_from_the_proxy_settings(kamal):
    built = resolve(kamal, "proxy boot")["proxy_args"]
    with open(plan.PROXY_DOCKERFILE, encoding="utf-8") as f:
        assert built["dockerfile"] == f.read()
    assert (built["image"], built["build_args"], built["takeover"]) == ("kamal-deploy/proxy:2.11", {"BASE": "caddy:2.11-alpine"}, False)
    given = {"kamal_proxy_image": "r.test/proxy:1", "proxy_takeover": "true", "kamal_proxy_acme": {"ca": "x"}}
    assert resolve(kamal, "deploy", given)["proxy_args"] == {
        "image": "r.test/proxy:1", "takeover": True, "force": False, "keep_in_use": False, "acme": {"ca": "x"}}
    assert resolve(kamal, "remove proxy")["proxy_args"]["keep_in_use"] is True
    assert resolve(kamal, "proxy remove", {"force": "true"})["proxy_args"]["force"] is True
    assert resolve(kamal, "proxy logs", {"lines": "7"})["proxy_log_lines"] == 7
    assert resolve(kamal, "proxy logs")["proxy_log_lines"] == 100


def test_the_proxy_run_comes_from_the_config_unless_the_role_variable_is_set(tmp_path):
    kamal = load(tmp_path, CONFIG.replace("proxy: {host: a.test, app_port: 3000}",
                                          "proxy: {host: a.test, app_port: 3000, run: {http_port: 8080}}"))
    run = plan.proxy_args(kamal, commands.proxy_settings({}))["run"]
    assert run["http_port"] == 8080 and run["debug"] is False and set(run) == set(plan.PROXY_RUN_KEYS)
    assert plan.proxy_args(kamal, commands.proxy_settings({"kamal_proxy_run": {"http_port": 81}}))["run"] == {"http_port": 81}


def test_the_local_registry_forward(tmp_path):
    kamal = load(tmp_path, CONFIG.replace("registry: {server: r.test, username: u, password: [REG_PW]}",
                                          "registry: {server: \"localhost:5555\"}"))
    resolved = resolve(kamal, "deploy")
    assert resolved["local_registry_forward"] and resolved["local_registry"] == {
        "port": 5555, "forward_dir": "/home/me/.ansible/kamal-fwd", "forward": "-R 5555:",
        "ssh_args": "-R 5555:127.0.0.1:5555 -o ControlPath=/home/me/.ansible/kamal-fwd/42-%C"}
    assert not resolve(kamal, "app logs")["local_registry_forward"]


@pytest.mark.parametrize("name, given, entry, work, steps", [
    ("deploy", {}, "image.yml", "roles.yml", ["build"]),      # the image steps, then the lock block
    ("deploy", {"skip_push": True}, "locked.yml", "roles.yml", []),
    ("app start", {}, "locked.yml", "output.yml", []),
    ("app logs", {}, "output.yml", "output.yml", []),   # read-only: no lock block, no image step listed at all
    ("proxy details", {}, "proxy.yml", "proxy.yml", []),
    ("proxy reboot", {"confirm": True}, "locked.yml", "proxy_reboot.yml", []),
    ("accessory details", {}, "accessory.yml", "accessory.yml", []),
    ("lock status", {}, "lock.yml", "lock.yml", []),
])
def test_the_command_role_includes_only_what_the_command_needs(kamal, name, given, entry, work, steps):
    resolved = resolve(dict(kamal, boot={}), name, given)
    assert (resolved["entry"]["tasks"], resolved["work"]["tasks"], resolved["image_steps"]) == (entry, work, steps)


def test_one_group_goes_straight_to_the_app_roles_file_with_the_group_and_more_go_through_the_flow(kamal):
    one = resolve(dict(kamal, boot={}), "deploy", {"skip_push": True})
    assert one["work"] == {"role": "kamal.deploy.app", "tasks": "roles.yml", "group": one["boot_groups"][0]}
    assert one["entry"] == {"role": "kamal.deploy.command", "tasks": "locked.yml", "group": {}}
    # boot.limit makes two groups; a pre-deploy hook runs before the groups: both go through deploy.yml
    assert resolve(kamal, "deploy")["work"] == {"role": "kamal.deploy.command", "tasks": "deploy.yml", "group": {}}
    hooked = resolve(dict(kamal, boot={}), "deploy", hooks=("pre-deploy",))
    assert hooked["work"]["tasks"] == "deploy.yml"
    logs = resolve(kamal, "app logs")
    assert logs["entry"] == logs["work"] == {"role": "kamal.deploy.app", "tasks": "output.yml", "group": logs["boot_groups"][0]}


@pytest.mark.parametrize("play_hosts, roles_tasks", [
    (["1.1.1.1", "1.1.1.3"], "primary.yml"),   # web only: no other roles' loop at all
    (["1.1.1.4"], "others.yml"),               # workers only
    (["1.1.1.1", "1.1.1.4"], "roles.yml"),
])
def test_a_group_lists_only_the_loops_it_has_roles_for(kamal, play_hosts, roles_tasks):
    group = resolve(dict(kamal, boot={}), "deploy", play_hosts=play_hosts)["boot_groups"][0]
    assert (group["tasks"], group["roles_tasks"]) == (roles_tasks, roles_tasks)


def test_an_ssh_delivered_image_is_delivered_by_every_command_that_boots_a_version(tmp_path):
    kamal = load(tmp_path, CONFIG + "x-kamal-deploy: {image_delivery: ssh}\n")
    assert resolve(kamal, "deploy")["image_steps"] == ["build", "deliver"]
    assert resolve(kamal, "app start")["image_steps"] == ["deliver"] and resolve(kamal, "app boot")["image_steps"] == []


# The proxy is ensured inside the app boot call (kamal_app's proxy_boot): once per proxy host, by the first role of
# the host that runs the proxy, only for the commands that boot it. CONFIG: web runs the proxy on 1.1.1.1-3,
# workers (not proxied) on 1.1.1.2 and 1.1.1.4.
@pytest.mark.parametrize("name, host, role, boots_proxy", [
    ("deploy", "1.1.1.1", "web", True),
    ("deploy", "1.1.1.2", "web", True),
    ("deploy", "1.1.1.2", "workers", False),   # web ensured it on this host already
    ("deploy", "1.1.1.4", "workers", False),   # no proxy on a workers-only host
    ("setup", "1.1.1.3", "web", True),
    ("redeploy", "1.1.1.1", "web", False),     # Kamal's redeploy leaves the proxy alone
    ("rollback", "1.1.1.1", "web", False),
    ("app boot", "1.1.1.1", "web", False),
])
def test_the_proxy_boots_inside_the_first_proxied_role_boot_of_each_proxy_host(kamal, name, host, role, boots_proxy):
    run = resolve(kamal, name)
    proxy_boot = plan.proxy_boot(kamal, run, host, role) if run.get("proxy_args") else None
    assert bool(proxy_boot) is boots_proxy
    if boots_proxy:
        # kamal_proxy's boot arguments as the proxy command resolves them, without what only kamal_proxy takes.
        expected = dict(resolve(kamal, "proxy boot")["proxy_args"])
        for only_kamal_proxy in ("force", "keep_in_use"):
            expected.pop(only_kamal_proxy)
        assert proxy_boot == expected


def test_a_role_limit_to_the_unproxied_role_boots_no_proxy(kamal):
    run = resolve(kamal, "deploy", limit="workers")
    assert [plan.proxy_boot(kamal, run, host, "workers") for host in ("1.1.1.2", "1.1.1.4")] == [None, None]


# build, server, registry, proxy boot_config, details -----------------------------------------------------------

def test_build_push_builds_on_the_controller_and_nothing_else(kamal):
    run = resolve(kamal, "build push", {"version": "v9"})
    assert (run["entry"]["tasks"], run["image_steps"], run["work"], run["locked"]) == ("build.yml", ["build"], None, False)
    assert run["build"]["version"] == "v9" and run["build"]["push"] is True and run["build"]["no_cache"] is False
    assert run["hooks"] == [] and resolve(kamal, "build push", {"version": "v9"}, hooks=("pre-build",))["hooks"] == ["pre-build"]
    docker = resolve(kamal, "build push", {"version": "v9", "output": "docker", "no_cache": "true"})["build"]
    assert (docker["push"], docker["no_cache"]) == (False, True)
    with pytest.raises(commands.CommandError, match="--output takes registry .* or docker"):
        resolve(kamal, "build push", {"version": "v9", "output": "tar"})


def test_build_pull_is_a_kamal_app_pull_once_per_host(kamal):
    run = resolve(kamal, "build pull", {"version": "v9"})
    assert (run["entry"], run["action"], run["scope"], run["image_steps"]) == (run["work"], "pull", "host", [])
    assert (run["work"]["role"], run["work"]["tasks"]) == ("kamal.deploy.app", "output.yml")
    assert run["hosts"]["1.1.1.2"]["primary"] == ["web"] and run["hosts"]["1.1.1.2"]["others"] == []
    assert run["secrets"]["REG_PW"] == "pw"  # the login before the pull


def test_build_pull_with_ssh_delivery_is_the_delivery(tmp_path):
    kamal = load(tmp_path, CONFIG + "x-kamal-deploy: {image_delivery: ssh}\n")
    run = resolve(kamal, "build pull", {"version": "v9"})
    assert (run["entry"]["tasks"], run["image_steps"], run["work"]) == ("build.yml", ["deliver"], None)


def test_build_deliver_is_build_push_then_build_pull_in_one_play(kamal):
    run = resolve(kamal, "build deliver", {"version": "v9"}, hooks=("pre-build", "pre-connect"))
    # the image step builds and pushes once on the controller, then each host pulls: one pre-connect, one pre-build
    assert (run["entry"]["tasks"], run["image_steps"], run["locked"], run["action"]) == ("build.yml", ["build"], False, "pull")
    assert (run["work"]["role"], run["work"]["tasks"]) == ("kamal.deploy.app", "output.yml")
    assert run["build"]["push"] is True and run["build"]["version"] == "v9" and run["hooks"] == ["pre-connect", "pre-build"]
    assert run["hook_command"] == "build" and run["hook_subcommand"] == "deliver"
    assert run["hosts"]["1.1.1.2"]["primary"] == ["web"] and run["secrets"]["REG_PW"] == "pw"


def test_build_deliver_with_ssh_delivery_builds_then_delivers(tmp_path):
    kamal = load(tmp_path, CONFIG + "x-kamal-deploy: {image_delivery: ssh}\n")
    run = resolve(kamal, "build deliver", {"version": "v9"})
    assert (run["image_steps"], run["work"], run["build"]["push"]) == (["build", "deliver"], None, False)


@pytest.mark.parametrize("name", ["deploy", "redeploy", "setup", "rollout deploy"])
def test_deploys_build_without_the_cache_with_no_cache(kamal, name):
    assert resolve(kamal, name, {"version": "v9"})["build"]["no_cache"] is False
    assert resolve(kamal, name, {"version": "v9", "no_cache": "true"})["build"]["no_cache"] is True
    assert resolve(kamal, name, {"version": "v9", "no_cache": True, "skip_push": True})["build"] is None


def test_server_exec_runs_on_the_servers_with_its_command(kamal):
    run = resolve(kamal, "server exec", {"cmd": "uptime"})
    assert (run["flow"], run["entry"]["tasks"], run["server_local"], run["server_remote"]) == ("server", "server.yml", False, True)
    assert run["options"] == {"exec_command": "uptime"} and run["hook_command"] == "server"
    with pytest.raises(commands.CommandError, match="server exec needs a command"):
        resolve(kamal, "server exec")


@pytest.mark.parametrize("given, local, remote", [
    ({}, True, True), ({"skip_local": True}, False, True), ({"skip_remote": "true"}, True, False)])
def test_registry_login_and_logout_run_locally_and_remotely_unless_skipped(kamal, given, local, remote):
    for action in ("login", "logout"):
        run = resolve(kamal, "registry " + action, given)
        assert (run["action"], run["server_local"], run["server_remote"]) == (action, local, remote)
        assert run["hook_command"] == "registry"
    assert resolve(kamal, "registry login")["secrets"]["REG_PW"] == "pw"
    assert resolve(kamal, "registry logout")["secrets"] == {}


def test_registry_login_refuses_a_local_registry(tmp_path):
    kamal = load(tmp_path, CONFIG.replace("registry: {server: r.test, username: u, password: [REG_PW]}", "registry: {server: localhost:5555}"))
    with pytest.raises(commands.CommandError, match="Cannot use login command with a local registry"):
        resolve(kamal, "registry login")


def test_proxy_boot_config_takes_get_set_or_reset(kamal):
    run = resolve(kamal, "proxy boot_config", {"boot_config": "set", "boot_settings": {"http_port": 8080}})
    assert run["options"] == {"boot_config": "set", "boot_settings": {"http_port": 8080}}
    assert (run["hook_command"], run["hook_subcommand"], run["scope"]) == ("proxy", "boot_config", "proxy")
    with pytest.raises(commands.CommandError, match="Unknown boot_config subcommand show"):
        resolve(kamal, "proxy boot_config", {"boot_config": "show"})
    with pytest.raises(commands.CommandError, match="boot_config=get"):
        resolve(kamal, "proxy boot_config")


def test_server_bootstrap_is_locked_and_ends_with_docker_setup(kamal):
    run = resolve(kamal, "server bootstrap", hooks=("docker-setup", "pre-connect"))
    assert (run["entry"]["tasks"], run["work"]["tasks"], run["hooks"]) == ("locked.yml", "bootstrap.yml", ["pre-connect", "docker-setup"])


def test_details_runs_pre_connect_once_for_its_three_plays(kamal):
    hooks = ("pre-connect",)
    assert [resolve(kamal, name, hooks=hooks)["hooks"] for name in ("details proxy", "details app", "details accessories")] == [
        ["pre-connect"], [], []]
    assert resolve(kamal, "details accessories")["hosts"]["1.1.1.4"]["accessories"] == ["db"]


def test_server_args_carry_the_registry_credentials_for_a_session(kamal):
    args = plan.server_args(kamal, "1.1.1.1", "login", secrets={"REG_PW": "pw"}, performer="me",
                            options={"exec_command": "ignored-for-login-but-passed"})
    assert args["registry"] == {"server": "r.test", "username": "u", "password": "pw"}
    assert (args["service"], args["host"], args["performer"]) == ("app", "1.1.1.1", "me")
    assert "registry" not in plan.server_args(kamal, "1.1.1.1", "exec", options={"exec_command": "uptime"})


def test_raw_output_takes_one_host_and_role(kamal):
    one = resolve(kamal, "app exec", {"cmd": "ls", "primary": True, "raw_output": "out.bin"}, play_hosts=["1.1.1.1"])
    assert one["options"]["raw_output"] == "out.bin"
    with pytest.raises(commands.CommandError, match=r"raw_output=out.bin writes the output of one command, and this one "
                                                    r"would run 5 times \(web on 1.1.1.1, web on 1.1.1.2, workers on 1.1.1.2"):
        resolve(kamal, "app exec", {"cmd": "ls", "raw_output": "out.bin"})
    with pytest.raises(commands.CommandError, match="do not go together"):
        resolve(kamal, "app exec", {"cmd": "ls", "primary": True, "raw_output": "o", "detach": True}, play_hosts=["1.1.1.1"])
    args = plan.app_args(kamal, "web", "1.1.1.1", "exec", secrets=SECRETS, options=one["options"])
    assert args["raw"] is True and "raw_output" not in args


@pytest.mark.parametrize("name, given", [("app remove", {"confirm": True}), ("remove app", {"confirm": True})])
def test_app_removal_runs_between_the_app_remove_hooks_under_the_lock(kamal, name, given):
    run = resolve(kamal, name, given, hooks=("pre-app-remove", "post-app-remove", "pre-deploy"))
    assert run["hooks"] == ["pre-app-remove", "post-app-remove"]
    assert (run["flow"], run["entry"]["tasks"], run["work"]["tasks"], run["locked"]) == (
        "app_remove", "locked.yml", "app_remove.yml", True)
    assert os.path.exists(os.path.join(REPO, "roles", "command", "tasks", "app_remove.yml"))
    # without them, straight to the app role's file, as any app command
    assert resolve(kamal, name, given)["work"]["role"] == "kamal.deploy.app"


def test_a_boot_of_asset_roles_on_several_hosts_prepares_every_hosts_assets_first(tmp_path):
    kamal = load(tmp_path, CONFIG.replace("proxy: {host: a.test, app_port: 3000}",
                                          "proxy: {host: a.test, app_port: 3000}\nasset_path: /rails/public/assets"))
    groups = resolve(kamal, "deploy")["boot_groups"]
    prep = groups[0]
    assert (prep["number"], prep["label"], prep["tasks"]) == (0, "the version's assets on every host first", "primary.yml")
    assert prep["hosts"] == ["1.1.1.1", "1.1.1.2", "1.1.1.3"]  # the web hosts: workers has no proxy, no assets
    assert prep["primary"]["1.1.1.2"] == [{"role": "web", "command": "assets"}]
    assert [g["label"] for g in groups[1:]] == ["group 1 of 2", "group 2 of 2"]
    # one host: its boot call does it in its own order; other commands never
    assert resolve(kamal, "deploy", play_hosts=["1.1.1.1"])["boot_groups"][0]["number"] == 1
    assert resolve(kamal, "app stop")["boot_groups"][0]["number"] == 1
    assert resolve(load(tmp_path, CONFIG), "deploy")["boot_groups"][0]["number"] == 1
