"""The app, proxy, prune and remove playbooks against the lab, as a user runs them after a deploy:
each reads or changes exactly what Kamal's command does, and the ones that change servers hold the lock."""
import datetime
import os
import re
import shutil
import sys
import urllib.error

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, changed_counts  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def app(lab, tmp_path_factory):
    project = App(lab, tmp_path_factory.mktemp("commands"), prefix="cmd")
    project.v1 = project.commit("v1")
    project.playbook("deploy")
    project.v2 = project.commit("v2")
    project.playbook("deploy")
    yield project
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service} .kamal/apps/keeper-{project.service}", check=False)


def shown(output):
    """The text of the debug messages (what the playbook shows the user)."""
    return "\n".join(line for line in output.splitlines() if '"msg"' in line or line.startswith(("    ", "        \"")))


def status_of(app, ip):
    try:
        return app.get(ip)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_read_only_commands_show_what_runs_and_change_nothing(app):
    details = app.playbook("app_details")
    assert changed_counts(details.stdout) == [0, 0, 0]
    assert details.stdout.count(f"{app.service}-web-{app.v2}  running") == 3

    containers = app.playbook("app_containers").stdout
    assert containers.count(f"{app.service}-web-{app.v1}  exited") == 3, containers

    version = app.playbook("app_version").stdout
    assert version.count(f'"msg": "{app.v2}"') == 3, version

    images = app.playbook("app_images").stdout
    assert f"{app.lab.registry}/{app.service}:{app.v2}" in images

    logs = app.playbook("app_logs", "-e", "lines=5").stdout
    assert changed_counts(logs) == [0, 0, 0]

    proxy = app.playbook("proxy_details").stdout
    assert f"{app.service}-web" in proxy and changed_counts(proxy) == [0, 0, 0]


def test_app_boot_with_skip_push_false_builds_nothing(app):
    # It used to build and push: app boot set skip_push as an internal variable, which -e skip_push=false overrode.
    boot = app.playbook("app_boot", "-e", f"version={app.v2}", "-e", "skip_push=false").stdout
    assert "TASK [kamal.deploy.prepare : " not in boot and "TASK [kamal.deploy.lock : Acquire the deploy lock]" in boot


def test_read_only_commands_list_no_build_deliver_or_lock_task(app):
    for playbook in ("app_logs", "app_details", "proxy_details"):
        out = app.playbook(playbook).stdout
        tasks = re.findall(r"^TASK \[(.*?)\]", out, re.M)
        assert tasks and not [t for t in tasks if t.startswith(("kamal.deploy.prepare :", "kamal.deploy.lock :"))], tasks


def test_exec_runs_in_a_new_or_the_running_container_and_refuses_an_empty_command(app):
    new = app.playbook("app_exec", "-e", "cmd='cat /www/index.html'", "-l", app.lab.ips[0])
    assert "app v2" in new.stdout
    assert not any("-exec-" in line for line in app.containers(app.lab.ips[0]))

    reused = app.playbook("app_exec", "-e", '{"cmd": ["sh", "-c", "echo $KAMAL_VERSION"], "reuse": true}')
    assert reused.stdout.count(app.v2) >= 3

    empty = app.playbook("app_exec", "-e", "cmd=''", check=False)
    assert empty.returncode != 0 and "app exec needs a command" in empty.stdout


def test_maintenance_answers_503_with_the_message_and_live_restores(app):
    ip = app.lab.ips[1]
    app.playbook("app_maintenance", "-e", "message='Back at five'")
    code, body = status_of(app, ip)
    assert code == 503 and "Back at five" in body
    rerun = app.playbook("app_maintenance", "-e", "message='Back at five'")
    assert changed_counts(rerun.stdout) == [0, 0, 0]
    app.playbook("app_live")
    assert status_of(app, ip) == (200, "app v2")


def test_stop_takes_the_route_away_and_start_brings_it_back(app):
    ip = app.lab.ips[2]
    app.playbook("app_stop", "-l", ip)
    assert not any(line.endswith("running") for line in app.containers(ip))
    # The app's host no longer reaches it. What answers instead depends on the proxy's other routes: a 404,
    # or another app's catch-all route (the demo's, after `make demo`), as with kamal-proxy.
    assert status_of(app, ip) != (200, "app v2")
    assert f"{app.service}-web" not in app.playbook("proxy_details", "-l", ip).stdout
    assert status_of(app, app.lab.ips[0]) == (200, "app v2")  # the other servers kept serving

    app.playbook("app_start", "-l", ip, "-e", f"version={app.v2}")
    assert status_of(app, ip) == (200, "app v2")
    stale = app.playbook("app_stale_containers").stdout
    assert changed_counts(stale) == [0, 0, 0] and app.v1 not in shown(stale)


def test_prune_keeps_the_retention_and_the_running_version(app):
    ip = app.lab.ips[0]
    before = app.containers(ip)
    assert any(app.v1 in line for line in before)
    bad = app.playbook("prune", "-e", "retain=0", check=False)
    assert bad.returncode != 0 and "retain= must be at least 1" in bad.stdout
    pruned = app.playbook("prune", "-e", "prune=containers", "-e", "retain=1")
    after = app.containers(ip)
    assert any(f"{app.service}-web-{app.v2} running" in line for line in after), after
    # v1's container is the only stopped one: retain=1 keeps it; nothing else to remove
    assert changed_counts(pruned.stdout) == [0, 0, 0] and len(after) == len(before)


def test_boot_limit_boots_one_host_group_after_another(app):
    """boot.limit 1 with boot.wait 2: each server boots alone, between its pre/post-app-boot hooks."""
    hooks = app.root / ".kamal" / "hooks"
    for name in ("pre-app-boot", "post-app-boot"):
        shutil.copy(hooks / "pre-deploy", hooks / name)
    app.config["boot"] = {"limit": 1, "wait": 2}
    app.write_config()
    version = app.commit("v3")
    app.playbook("deploy")
    started = []
    for ip in app.lab.ips:
        out = app.lab.ssh(ip, f"docker inspect -f '{{{{.State.StartedAt}}}}' {app.service}-web-{version}").stdout.strip()
        started.append(datetime.datetime.fromisoformat(out[:26].rstrip("Z")))
    gaps = [(b - a).total_seconds() for a, b in zip(started, started[1:])]
    assert all(gap >= 2 for gap in gaps), gaps
    groups = [r["KAMAL_HOSTS"] for r in app.hook_records() if r["hook"] == "pre-app-boot"]
    assert groups[-3:] == app.lab.ips, groups
    assert status_of(app, app.lab.ips[2]) == (200, "app v3")


def test_app_remove_needs_confirmation_then_remove_keeps_a_shared_proxy(app):
    refused = app.playbook("app_remove", check=False)
    assert refused.returncode != 0 and "confirm=true" in refused.stdout
    assert len(app.containers(app.lab.ips[0])) >= 1

    # another app is installed on every server: remove must keep the proxy they share
    for ip in app.lab.ips:
        app.lab.ssh(ip, f"mkdir -p .kamal/apps/keeper-{app.service}")
    removed = app.playbook("remove", "-e", "confirm=true")
    assert "Not removing the proxy, as other apps are installed" in removed.stdout + removed.stderr
    for ip in app.lab.ips:
        assert app.containers(ip) == []
        assert app.lab.ssh(ip, f"test -d .kamal/apps/{app.service}", check=False).returncode == 1
        assert app.lab.ssh(ip, "docker ps --filter name=^kamal-proxy$ -q").stdout.strip()
    assert re.search(r"changed=[1-9]", removed.stdout.split("PLAY RECAP")[-1])
