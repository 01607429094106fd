"""Kamal's accessory integration scenarios (accessory_test) ported, through the accessory playbooks on the lab: a busybox
accessory on two servers with a read-only directory, a file of mode 0640 owned by 1000:1000 and a directory of
mode 0750 owned by 1000:1000, then stop, start, restart, logs, a second boot that changes nothing, remove; and a
proxied accessory answering 200 through the proxy, 404 once stopped, back after start and restart, 404 once
removed. See docs/dev/kamal-suite.md."""
import http.client
import os
import re
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, changed_counts  # noqa: E402  pylint: disable=wrong-import-position

BUSYBOX_CMD = "sh -c 'echo \"Starting busybox...\"; trap exit TERM; while true; do sleep 1; done'"


@pytest.fixture(scope="module")
def project(lab, tmp_path_factory):
    vm1, vm2 = lab.ips[0], lab.ips[1]
    app = App(lab, tmp_path_factory.mktemp("accessories"), prefix="acs", servers={"web": [vm1, vm2]})
    app.box, app.netcat_host = f"custom-busybox-{app.service}", f"netcat-{app.service}.lab.test"
    app.config["accessories"] = {
        "busybox": {
            "service": app.box, "image": f"{lab.registry}/kamal-lab/busybox:1", "cmd": BUSYBOX_CMD, "roles": ["web"],
            "files": [{"local": "config/busybox.conf", "remote": "/etc/busybox.conf", "mode": "0640", "owner": "1000:1000"}],
            "directories": [{"local": "data", "remote": "/data", "mode": "0750", "owner": "1000:1000", "options": "ro"}],
        },
        "netcat": {"image": f"{lab.registry}/demo-app:v1", "host": vm2,
                   "proxy": {"host": app.netcat_host, "app_port": 80, "healthcheck": {"path": "/up"}}},
    }
    app.write_config()
    (app.root / "config" / "busybox.conf").write_text("# busybox settings\n")
    app.vm1, app.vm2 = vm1, vm2
    yield app
    for ip in (vm1, vm2):
        lab.ssh(ip, f"docker rm -f {app.box} {app.service}-netcat; rm -rf {app.box} {app.service}-netcat "
                    f".kamal/apps/{app.service}", check=False)


def container(app, ip, name):
    res = app.lab.ssh(ip, f"docker inspect -f '{{{{.Id}}}} {{{{.State.Status}}}}' {name}", check=False)
    return res.stdout.split() if res.returncode == 0 else None


def answer(ip, host):
    conn = http.client.HTTPConnection(ip, 80, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode().strip()
    finally:
        conn.close()


def served(ip, host):
    """The accessory (the lab's demo app v1) answers for its host. Once its route is gone the proxy answers 404, or
    another app's catch-all route does (the demo's, after `make demo`), as kamal-proxy would."""
    return answer(ip, host) == (200, "app v1")


def test_boot_stop_start_restart_logs_a_second_boot_and_remove_a_busybox_accessory(project):
    app, vm1, vm2 = project, project.vm1, project.vm2
    app.playbook("accessory_boot", "-e", "accessory=busybox")
    for ip in (vm1, vm2):
        assert container(app, ip, app.box)[1] == "running"
    mounts = app.lab.ssh(vm1, f"docker inspect {app.box} --format '{{{{json .Mounts}}}}'").stdout
    assert re.search(r'"Destination":"/data"[^}]*"RW":false', mounts), mounts
    assert app.lab.ssh(vm1, f"stat -c '%a %u:%g' {app.box}/etc/busybox.conf").stdout.strip() == "640 1000:1000"
    assert app.lab.ssh(vm1, f"stat -c '%a %u:%g' {app.box}/data").stdout.strip() == "750 1000:1000"

    app.playbook("accessory_stop", "-e", "accessory=busybox")
    assert container(app, vm1, app.box)[1] == "exited"
    app.playbook("accessory_start", "-e", "accessory=busybox")
    assert container(app, vm1, app.box)[1] == "running"
    app.playbook("accessory_restart", "-e", "accessory=busybox")
    assert container(app, vm2, app.box)[1] == "running"
    assert "Starting busybox..." in app.playbook("accessory_logs", "-e", "accessory=busybox").stdout

    before = [container(app, ip, app.box) for ip in (vm1, vm2)]
    again = app.playbook("accessory_boot", "-e", "accessory=busybox")
    assert changed_counts(again.stdout) == [0, 0] and [container(app, ip, app.box) for ip in (vm1, vm2)] == before

    app.playbook("accessory_remove", "-e", "accessory=busybox", "-e", "confirm=true")
    assert container(app, vm1, app.box) is None and container(app, vm2, app.box) is None


def test_a_proxied_accessory_answers_through_the_proxy_until_stopped_or_removed(project):
    app, vm2 = project, project.vm2
    app.playbook("proxy_boot")
    app.playbook("accessory_boot", "-e", "accessory=netcat")
    assert served(vm2, app.netcat_host)
    app.playbook("accessory_stop", "-e", "accessory=netcat")
    assert not served(vm2, app.netcat_host)
    app.playbook("accessory_start", "-e", "accessory=netcat")
    assert served(vm2, app.netcat_host)
    app.playbook("accessory_restart", "-e", "accessory=netcat")
    assert served(vm2, app.netcat_host)
    app.playbook("accessory_remove", "-e", "accessory=netcat", "-e", "confirm=true")
    assert not served(vm2, app.netcat_host) and container(app, vm2, f"{app.service}-netcat") is None
