"""kamal.deploy.deploy / rollback against the lab, as a user runs them: a git project with config/deploy.yml.

One project per module: v1, then v2 and a rollback under steady load (0 failed requests), an identical
rerun (changed=0), a check run (nothing changes), and a broken image that fails with its diagnostic
while the running version keeps answering.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, Load, changed_counts  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def app(lab, tmp_path_factory):
    project = App(lab, tmp_path_factory.mktemp("deploy"))
    yield project
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service}", check=False)
    subprocess.run(["ansible", "all", "-i", ",".join(lab.ips) + ",", "-m", "kamal.deploy.kamal_proxy",
                    "-a", f"command=remove_route name={project.service}-web"], env=lab.ansible_env(), capture_output=True, check=False)


def test_deploy_v1_serves_it_on_every_server(app):
    v1 = app.commit("v1")
    app.playbook("deploy")
    assert app.versions_served() == {ip: "app v1" for ip in app.lab.ips}
    app.v1 = v1
    hooks = app.hook_records()
    assert [h["hook"] for h in hooks] == ["pre-connect", "pre-build", "pre-deploy", "post-deploy"]
    assert all(h["KAMAL_VERSION"] == v1 and h["KAMAL_COMMAND"] == "deploy" and h["KAMAL_SERVICE"] == app.service for h in hooks)
    assert hooks[0]["KAMAL_HOSTS"] == ",".join(app.lab.ips)
    assert hooks[2]["KAMAL_LOCK"] == "true" and hooks[3]["KAMAL_LOCK"] == "false" and "KAMAL_RUNTIME" in hooks[3]
    for ip in app.lab.ips:
        audit = app.lab.ssh(ip, f"cat .kamal/{app.service}-audit.log").stdout
        assert re.search(rf"^\[\S+Z\] \[[^]]+\] \[web\] Booted app version {v1}$", audit, re.M), audit
        assert "s3cr3t-value" not in audit
    env = app.lab.ssh(app.lab.ips[0], f"docker exec {app.service}-web-{v1} env").stdout
    assert "APP_SECRET=s3cr3t-value" in env and f"KAMAL_VERSION={v1}" in env
    mode = app.lab.ssh(app.lab.ips[0], f"stat -c %a .kamal/apps/{app.service}/env/roles/web.env").stdout.strip()
    assert mode == "600"


def test_v2_then_rerun_then_check_then_rollback_lose_no_request(app):
    with Load(app) as load:
        time.sleep(0.5)
        v2 = app.commit("v2")
        app.playbook("deploy")
        assert app.versions_served() == {ip: "app v2" for ip in app.lab.ips}

        rerun = app.playbook("deploy")
        assert changed_counts(rerun.stdout) == [0] * len(app.lab.ips), rerun.stdout[-3000:]

        before = {ip: app.containers(ip) for ip in app.lab.ips}
        planned = app.playbook("deploy", "--check", "--diff", "-e", f"version={app.v1}", "-e", "skip_push=true")
        assert "changed=1" in planned.stdout  # the plan says it would boot v1 ...
        assert {ip: app.containers(ip) for ip in app.lab.ips} == before  # ... and nothing moved
        assert app.versions_served() == {ip: "app v2" for ip in app.lab.ips}

        app.playbook("rollback", "-e", f"version={app.v1}")
        assert app.versions_served() == {ip: "app v1" for ip in app.lab.ips}
        time.sleep(0.5)
    assert load.requests > 100
    assert load.failures == 0, load.errors[:10]
    app.v2 = v2


def test_rollback_to_a_version_missing_somewhere_changes_nothing(app):
    before = {ip: app.containers(ip) for ip in app.lab.ips}
    res = app.playbook("rollback", "-e", "version=nosuchversion", check=False)
    assert res.returncode != 0
    assert "The app version 'nosuchversion' is not available" in res.stdout
    assert {ip: app.containers(ip) for ip in app.lab.ips} == before


def test_two_deploys_started_together_let_exactly_one_through(app):
    runs = [app.start_playbook("deploy", "-e", f"version={app.v2}", "-e", "skip_push=true") for _run in range(2)]
    outputs = [(run.wait(timeout=300), run.stdout.read()) for run in runs]
    winners = [out for rc, out in outputs if rc == 0]
    losers = [out for rc, out in outputs if rc != 0]
    assert len(winners) == 1 and len(losers) == 1, [out[-2000:] for _rc, out in outputs]
    assert "Deploy lock already in place" in losers[0] and "Locked by" in losers[0], losers[0][-3000:]
    # The loser stopped at the lock: it booted nothing.
    assert "Boot web" not in losers[0].split("Acquire the deploy lock")[-1]
    assert app.versions_served() == {ip: "app v2" for ip in app.lab.ips}
    assert app.lab.ssh(app.lab.ips[0], f"test -e .kamal/lock-{app.service}", check=False).returncode == 1


def test_a_deploy_killed_with_sigterm_releases_its_lock(app):
    vm1 = app.lab.ips[0]
    run = app.start_playbook("deploy", "-e", f"version={app.v1}", "-e", "skip_push=true")
    deadline = time.monotonic() + 60
    while app.lab.ssh(vm1, f"test -e .kamal/lock-{app.service}", check=False).returncode != 0:
        assert run.poll() is None and time.monotonic() < deadline, "the deploy never took the lock"
        time.sleep(0.2)
    run.terminate()
    run.wait(timeout=30)
    deadline = time.monotonic() + 30
    while app.lab.ssh(vm1, f"test -e .kamal/lock-{app.service}", check=False).returncode == 0:
        assert time.monotonic() < deadline, "the lock of the killed deploy is still there after 30 s"
        time.sleep(0.5)
    # Each server serves one whole version, old or new.
    assert set(app.versions_served().values()) <= {"app v1", "app v2"}
    # And the next deploy runs.
    app.playbook("deploy", "-e", f"version={app.v2}", "-e", "skip_push=true")
    assert app.versions_served() == {ip: "app v2" for ip in app.lab.ips}


def test_a_manual_lock_blocks_deploys_until_released(app):
    app.playbook("lock_acquire", "-e", json.dumps({"message": "Migrating the database"}))
    status = app.playbook("lock_status").stdout
    assert "Migrating the database" in status, status[-2000:]
    blocked = app.playbook("deploy", "-e", f"version={app.v2}", "-e", "skip_push=true", check=False)
    assert blocked.returncode != 0
    assert "Deploy lock already in place" in blocked.stdout and "Migrating the database" in blocked.stdout
    app.playbook("lock_release")
    assert "no deploy lock" in app.playbook("lock_status").stdout.lower()
    audit = app.playbook("audit").stdout
    assert f"Booted app version {app.v2}" in audit


def test_a_broken_image_fails_with_its_diagnostic_and_the_old_version_keeps_serving(app):
    app.commit("broken", healthy=False)
    with Load(app, clients_per_server=1) as load:
        res = app.playbook("deploy", check=False)
    assert res.returncode != 0
    out = res.stdout
    assert "/up" in out and "404" in out, out[-4000:]
    assert "deploy_timeout" in out
    assert "boot error: no /up in this build" in out
    assert load.failures == 0, load.errors[:10]
    assert app.versions_served() == {ip: "app v2" for ip in app.lab.ips}
    # The failed deploy released its lock.
    assert app.lab.ssh(app.lab.ips[0], f"test -e .kamal/lock-{app.service}", check=False).returncode == 1
