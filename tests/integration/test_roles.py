"""Kamal's integration scenarios for an app with roles, against the lab: "app with roles" and "aliases"
(main_test), "deploying a bad image" (broken_deploy_test) and "parallel roles" (app_test), ported.

One project with web on two servers and workers on the third: v1, then v2 swaps the workers container too, the
aliases run through kamal-ansible, and a broken v3 fails with the app's own error line while v2 keeps serving and
the v2 workers keep running (the v3 workers never run). A second project boots web and workers of one server in
parallel (boot.parallel_roles) and goes through stop, start, logs, images, containers, exec, maintenance and live.
See docs/dev/kamal-suite.md."""
import http.client
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position

KAMAL_ANSIBLE = os.path.join(os.path.dirname(sys.executable), "kamal-ansible")
WORKER = "echo \"worker $(cat /www/index.html) on $KAMAL_HOST\"; trap 'exit 0' TERM; sleep 100000 & wait $!"


def running(app, ip):
    return [line.split()[1] for line in app.containers(ip) if line.endswith(" running")]


def every_container(app, ip):
    return [line.split()[1] for line in app.containers(ip)]


def cleanup(lab, project):
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service}", check=False)


@pytest.fixture(scope="module")
def roles(lab, tmp_path_factory):
    vm1, vm2, vm3 = lab.ips
    project = App(lab, tmp_path_factory.mktemp("roles"), prefix="roles",
                  servers={"web": [vm1, vm2], "workers": {"hosts": [vm3], "cmd": "sh -c " + shlex.quote(WORKER)}},
                  aliases={"whome": "version", "worker_hostname": "app exec -r workers --reuse hostname"})
    project.vm1, project.vm2, project.vm3 = vm1, vm2, vm3
    yield project
    cleanup(lab, project)


def test_deploy_boots_web_on_two_servers_and_workers_on_the_third(roles):
    roles.v1 = roles.commit("v1")
    roles.playbook("deploy")
    assert roles.get(roles.vm1) == (200, "app v1") and roles.get(roles.vm2) == (200, "app v1")
    assert [h["hook"] for h in roles.hook_records()] == ["pre-connect", "pre-build", "pre-deploy", "post-deploy"]
    assert running(roles, roles.vm3) == [f"{roles.service}-workers-{roles.v1}"]


def test_a_redeploy_swaps_the_workers_container_too(roles):
    roles.v2 = roles.commit("v2")
    roles.playbook("redeploy")
    assert roles.get(roles.vm2) == (200, "app v2")
    assert running(roles, roles.vm3) == [f"{roles.service}-workers-{roles.v2}"]


def kamal_ansible(app, *args):
    env = dict(app.playbook_env())
    env.pop("KAMAL_ANSIBLE_DRY_RUN", None)
    res = subprocess.run([KAMAL_ANSIBLE, *args], cwd=app.root, env=env, capture_output=True, text=True, timeout=300,
                         check=False, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return res.stdout


def test_aliases_run_through_kamal_ansible(roles):
    version = kamal_ansible(roles, "whome").strip().splitlines()[-1]
    assert re.match(r"^\d+\.\d+\.\d+", version), version
    out = kamal_ansible(roles, "worker_hostname")
    # the workers container's hostname: the host as deploy.yml names it, then 12 hex (Kamal's --hostname)
    assert re.search(r"%s-[0-9a-f]{12}" % re.escape(roles.vm3), out), out[-3000:]


def test_a_broken_image_fails_with_its_error_and_v2_keeps_serving_and_working(roles):
    broken = roles.commit("broken", healthy=False)
    res = roles.playbook("deploy", check=False)
    out = res.stdout
    assert res.returncode != 0
    assert "boot error: no /up in this build" in out, out[-4000:]  # the app's own error line
    assert roles.get(roles.vm1) == (200, "app v2") and roles.get(roles.vm2) == (200, "app v2")
    assert running(roles, roles.vm3) == [f"{roles.service}-workers-{roles.v2}"]
    assert f"{roles.service}-workers-{broken}" not in every_container(roles, roles.vm3)  # never ran
    # the run says what each host runs now: the workers were not reached
    assert re.search(rf"{re.escape(roles.vm3)}\s+workers\s+as before\s+not reached", out), out[-3000:]


@pytest.fixture(scope="module")
def parallel(lab, tmp_path_factory):
    vm1, vm2 = lab.ips[0], lab.ips[1]
    project = App(lab, tmp_path_factory.mktemp("parallel"), prefix="par",
                  servers={"web": [vm1, vm2], "workers": {"hosts": [vm1], "cmd": "sh -c " + shlex.quote(WORKER)}},
                  boot={"parallel_roles": True})
    project.vm1, project.vm2 = vm1, vm2
    yield project
    cleanup(lab, project)


def status(ip, host):
    conn = http.client.HTTPConnection(ip, 80, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def started_at(app, ip, name):
    return app.lab.ssh(ip, f"docker inspect -f '{{{{.State.StartedAt}}}}' {name}").stdout.strip()


def test_parallel_roles_boot_web_and_workers_of_a_server_in_one_call(parallel):
    version = parallel.commit("v1")
    out = parallel.playbook("deploy").stdout
    web, workers = f"{parallel.service}-web-{version}", f"{parallel.service}-workers-{version}"
    assert sorted(running(parallel, parallel.vm1)) == sorted([web, workers])
    assert running(parallel, parallel.vm2) == [web]
    # vm1's roles went in one call (the workers behind web's healthy container), vm2's web alone
    assert "(item=['web', 'workers'])" in out and "Other roles" not in out, out[-3000:]
    assert started_at(parallel, parallel.vm1, workers) > started_at(parallel, parallel.vm1, web)
    assert parallel.get(parallel.vm1) == (200, "app v1") and parallel.get(parallel.vm2) == (200, "app v1")
    parallel.version = version


def test_parallel_roles_then_stop_start_logs_images_containers_exec_maintenance(parallel):
    vm1, vm2, version = parallel.vm1, parallel.vm2, parallel.version
    parallel.playbook("app_stop")
    assert running(parallel, vm1) == [] and running(parallel, vm2) == []
    parallel.playbook("app_start", "-e", f"version={version}")
    assert parallel.get(vm1) == (200, "app v1") and len(running(parallel, vm1)) == 2
    logs = parallel.playbook("app_logs").stdout
    assert f"worker app v1 on {vm1}" in logs, logs[-3000:]
    images = parallel.playbook("app_images").stdout
    assert images.count('"msg": [') == 2, images[-3000:]  # once per host, not per role
    containers = parallel.playbook("app_containers").stdout
    assert containers.count('"msg": [') == 2 and f"{parallel.service}-workers-{version}" in containers
    exec_out = parallel.playbook("app_exec", "-e", json.dumps({"cmd": ["sh", "-c", "echo $KAMAL_HOST"]})).stdout
    # per role per host: web on vm1 and vm2, workers on vm1 (new containers: no KAMAL_* env, as Kamal)
    assert len(re.findall(r"ok: \[[0-9.]+\] => \(item=(web|workers)\)", exec_out)) == 3, exec_out[-3000:]
    parallel.playbook("app_maintenance")
    assert status(vm1, parallel.host) == 503
    parallel.playbook("app_live")
    assert parallel.get(vm2) == (200, "app v1")
