"""Kamal's proxy scenarios (proxy_test) and main_test's "setup and remove" and "two apps", ported, on the lab's vm4
(a server no other test deploys to: its proxy can come and go) and, for a rolling reboot, vm1 and vm2.

remove on a server where nothing was set up succeeds; setup boots the proxy and the first app; a second app
shares the proxy; proxy boot changes nothing, boot starts a stopped proxy, stop/start/restart, reboot between
its hooks (and rolling: one server at a time, each between its hooks), logs; removing the first app keeps the
proxy for the second, removing the second takes the proxy away. See docs/dev/kamal-suite.md."""
import os
import shutil
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, changed_counts  # noqa: E402  pylint: disable=wrong-import-position

PROXY_HOOKS = ("pre-proxy-reboot", "post-proxy-reboot")


def proxy_state(lab, ip):
    res = lab.ssh(ip, "docker inspect -f '{{.State.Status}}' kamal-proxy", check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def app_on(lab, root, prefix, servers):
    app = App(lab, root, prefix=prefix, servers={"web": servers})
    hooks = app.root / ".kamal" / "hooks"
    for name in PROXY_HOOKS:
        shutil.copy(os.path.join(REPO, "tests", "fixtures", "hooks", "record"), hooks / name)
    return app


@pytest.fixture(scope="module")
def vm4(lab, unavailable):
    try:
        server = lab.extra("no-forwarding")
    except StopIteration:
        unavailable("the lab has no vm4 (tests/lab/lab.py up without --no-extras)")
    ip = server["ip"]
    apps = lab.ssh(ip, "ls .kamal/apps 2>/dev/null || true").stdout.split()
    assert apps == [], "vm4 is this test's: other apps are installed there (%s)" % apps
    return ip


@pytest.fixture(scope="module")
def two(lab, vm4, tmp_path_factory):
    first = app_on(lab, tmp_path_factory.mktemp("first"), "one", [vm4])
    second = app_on(lab, tmp_path_factory.mktemp("second"), "two", [vm4])
    yield first, second
    for app in (first, second):
        lab.ssh(vm4, f"docker ps -aq --filter label=service={app.service} | xargs -r docker rm -f; "
                     f"docker images -q {lab.registry}/{app.service} | xargs -r docker rmi -f; "
                     f"rm -rf .kamal/apps/{app.service}", check=False)


def test_remove_on_a_server_where_nothing_was_set_up_succeeds(two, vm4):
    first, _second = two
    first.playbook("remove", "-e", "confirm=true")
    assert first.containers(vm4) == []


def test_setup_boots_the_proxy_and_the_first_app_and_a_second_app_shares_it(two, vm4, lab):
    first, second = two
    first.v1 = first.commit("v1")
    first.playbook("setup")
    assert proxy_state(lab, vm4) == "running" and first.get(vm4) == (200, "app v1")
    assert first.containers(vm4) and lab.ssh(vm4, f"docker images -q {lab.registry}/{first.service}").stdout.strip()
    second.v1 = second.commit("v1")
    second.playbook("deploy")
    assert first.get(vm4) == (200, "app v1") and second.get(vm4) == (200, "app v1")


def test_proxy_boot_stop_start_restart_reboot_and_logs(two, vm4, lab):
    first, second = two
    assert changed_counts(first.playbook("proxy_boot").stdout) == [0]
    first.playbook("proxy_stop")
    assert proxy_state(lab, vm4) == "exited"
    first.playbook("proxy_boot")  # boot starts a stopped proxy
    assert proxy_state(lab, vm4) == "running" and second.get(vm4) == (200, "app v1")
    first.playbook("proxy_stop")
    first.playbook("proxy_start")
    assert proxy_state(lab, vm4) == "running" and first.get(vm4) == (200, "app v1")
    first.playbook("proxy_restart")
    assert proxy_state(lab, vm4) == "running" and second.get(vm4) == (200, "app v1")
    count = len(first.hook_records())
    first.playbook("proxy_reboot", "-e", "confirm=true")
    hooks = first.hook_records()[count:]
    assert [h["hook"] for h in hooks] == ["pre-connect", "pre-proxy-reboot", "post-proxy-reboot"]
    assert hooks[1]["KAMAL_HOSTS"] == vm4 and hooks[1]["KAMAL_LOCK"] == "true"
    assert first.get(vm4) == (200, "app v1") and second.get(vm4) == (200, "app v1")  # routes came back
    logs = first.playbook("proxy_logs").stdout
    assert "serving initial configuration" in logs, logs[-3000:]  # Caddy, at each start


def test_a_rolling_reboot_goes_one_server_at_a_time_each_between_its_hooks(lab, tmp_path):
    app = app_on(lab, tmp_path, "roll", lab.ips[:2])
    app.playbook("proxy_reboot", "-e", "confirm=true", "-e", "rolling=true")
    hooks = [(h["hook"], h["KAMAL_HOSTS"]) for h in app.hook_records() if h["hook"] in PROXY_HOOKS]
    assert hooks == [("pre-proxy-reboot", lab.ips[0]), ("post-proxy-reboot", lab.ips[0]),
                     ("pre-proxy-reboot", lab.ips[1]), ("post-proxy-reboot", lab.ips[1])]
    assert all(proxy_state(lab, ip) == "running" for ip in lab.ips[:2])


def test_removing_the_first_app_keeps_the_proxy_and_the_second_takes_it_away(two, vm4, lab):
    first, second = two
    first.playbook("remove", "-e", "confirm=true")
    assert first.containers(vm4) == [] and proxy_state(lab, vm4) == "running"
    assert lab.ssh(vm4, f"test -e .kamal/apps/{first.service}", check=False).returncode == 1
    assert not lab.ssh(vm4, f"docker images -q {lab.registry}/{first.service}").stdout.strip()
    assert second.get(vm4) == (200, "app v1")
    second.playbook("remove", "-e", "confirm=true")
    assert second.containers(vm4) == [] and proxy_state(lab, vm4) is None
    assert lab.ssh(vm4, "test -e .kamal/proxy", check=False).returncode == 1
