"""kamal.deploy.kamal_app against the lab's servers, through real SSH and ansible.

Each run builds its own images (`demo-app` plus the label `service=<unique service>`, as Kamal's builder adds)
and pushes them to the lab registry, so the module's pull and its service-label check run for real and other
developers' containers and tags are never touched. Every test uses its own role; the service is removed from
every server at the end.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest

# the ansible next to the running python (the virtualenv's), else the one on PATH
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
ANSIBLE = ANSIBLE if os.path.exists(ANSIBLE) else "ansible"
HEALTH_OPTIONS = {"health-cmd": "wget -qO- http://127.0.0.1/up", "health-interval": "1s", "health-retries": 1}


class Runner:
    """Runs kamal_app ad hoc on lab hosts and returns the per-host results (ansible's json callback)."""

    def __init__(self, lab, service, repository):
        self.lab = lab
        self.service = service
        self.repository = repository
        self.timings = []

    def __call__(self, hosts, check=False, diff=False, **args):
        module_args = {"service": self.service, "image": self.repository, "check_service_label": True}
        module_args.update(args)
        return self.module(hosts, "kamal.deploy.kamal_app", module_args, check, diff, args.get("command", "boot"))

    def module(self, hosts, name, module_args, check=False, diff=False, label=None):
        cmd = [ANSIBLE, hosts, "-i", self.lab.inventory, "-m", name, "-a", json.dumps(module_args)]
        cmd.append("--one-line")
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        started = time.monotonic()
        res = subprocess.run(cmd, env=self.lab.ansible_env(), capture_output=True, text=True, check=False, timeout=300)
        self.timings.append((hosts, label or name, time.monotonic() - started))
        results = {}
        for line in res.stdout.splitlines():
            match = re.match(r"^(\S+) \| ([A-Z]+!?) => (\{.*\})$", line)
            if match:
                result = json.loads(match.group(3))
                result["failed"] = match.group(2).startswith("FAILED")
                results[match.group(1)] = result
        if not results:
            raise AssertionError("no result from ansible (rc %s): %s %s" % (res.returncode, res.stdout, res.stderr))
        return results


def _hosts(lab, count):
    return [s["name"] for s in lab.servers[:count]]


@pytest.fixture(scope="module")
def app(lab):
    service = "kt%s" % uuid.uuid4().hex[:6]
    repository = "%s/%s" % (lab.registry, service)
    push_repo = "%s/%s" % (lab.registry_push, service)
    for tag in ("v1", "v2", "broken"):
        dockerfile = "FROM kamal-lab/demo-app:%s\n" % tag
        subprocess.run(["docker", "build", "-q", "--label", "service=%s" % service, "-t", "%s:%s" % (push_repo, tag),
                        "-"], input=dockerfile, text=True, check=True, capture_output=True)
        subprocess.run(["docker", "push", "-q", "%s:%s" % (push_repo, tag)], check=True, capture_output=True)
    runner = Runner(lab, service, repository)
    yield runner
    for tag in ("v1", "v2", "broken"):
        subprocess.run(["docker", "rmi", "%s:%s" % (push_repo, tag)], check=False, capture_output=True)
    for ip in lab.ips:
        lab.ssh(ip, "docker ps -aq --filter label=service=%s | xargs -r docker rm -f >/dev/null; "
                    "docker images -q %s | sort -u | xargs -r docker rmi -f >/dev/null; rm -rf ~/.kamal/apps/%s"
                % (service, repository, service), check=False)
    if runner.timings:
        print("\nkamal_app timings (s):")
        for hosts, command, seconds in runner.timings:
            print("  %-12s %-16s %.2f" % (hosts, command, seconds))


def names(lab, ip, service, role, running_only=True):
    out = lab.ssh(ip, "docker ps %s --filter label=service=%s --filter label=role=%s --format '{{.Names}}'"
                  % ("" if running_only else "-a", service, role)).stdout
    return sorted(out.split())


def test_boot_on_three_servers_is_idempotent_and_check_mode_changes_nothing(lab, app):
    role = "workers"
    three = "vm1:vm2:vm3"
    plan = app(three, check=True, diff=True, role=role, version="v1", readiness_delay=1)
    for host in _hosts(lab, 3):
        assert plan[host]["changed"] is True, plan[host]
        assert "docker pull %s:v1" % app.repository in plan[host]["actions"]
    for ip in lab.ips:
        assert names(lab, ip, app.service, role, running_only=False) == []
        assert lab.ssh(ip, "test -e ~/.kamal/apps/%s" % app.service, check=False).returncode != 0

    started = time.monotonic()
    booted = app(three, role=role, version="v1", readiness_delay=1, env={"GREETING": "hi ${HOME}"},
                 secret_env={"TOKEN": "t0ps3cret"})
    elapsed = time.monotonic() - started
    for host, ip in zip(_hosts(lab, 3), lab.ips):
        assert booted[host]["changed"] is True, booted[host]
        assert names(lab, ip, app.service, role) == ["%s-%s-v1" % (app.service, role)]
        env = lab.ssh(ip, "docker exec %s-%s-v1 env" % (app.service, role)).stdout.splitlines()
        assert "GREETING=hi /root" in env and "TOKEN=t0ps3cret" in env and "KAMAL_HOST=%s" % host in env
        mode = lab.ssh(ip, "stat -c %%a ~/.kamal/apps/%s/env/roles/%s.env" % (app.service, role)).stdout.strip()
        assert mode == "600"
        assert "t0ps3cret" not in json.dumps(booted[host])
    print("\none-role boot on 3 servers through ansible: %.2f s (readiness_delay 1 s)" % elapsed)

    again = app(three, role=role, version="v1", readiness_delay=1, env={"GREETING": "hi ${HOME}"},
                secret_env={"TOKEN": "t0ps3cret"})
    assert all(again[h]["changed"] is False and again[h]["actions"] == [] for h in _hosts(lab, 3)), again
    check_again = app(three, check=True, role=role, version="v1", readiness_delay=1, env={"GREETING": "hi ${HOME}"},
                      secret_env={"TOKEN": "t0ps3cret"})
    assert all(check_again[h]["changed"] is False for h in _hosts(lab, 3)), check_again


def test_boot_on_one_server_then_v2_stops_v1(lab, app):
    role = "jobs"
    started = time.monotonic()
    first = app("vm1", role=role, version="v1", readiness_delay=1)["vm1"]
    elapsed = time.monotonic() - started
    assert first["changed"] is True
    print("\none-role boot on 1 server through ansible: %.2f s (readiness_delay 1 s)" % elapsed)

    plan = app("vm1", check=True, diff=True, role=role, version="v2", readiness_delay=1, drain_timeout=5)["vm1"]
    assert "docker stop -t 5 %s-%s-v1" % (app.service, role) in plan["actions"]
    assert names(lab, lab.ips[0], app.service, role) == ["%s-%s-v1" % (app.service, role)]

    second = app("vm1", role=role, version="v2", readiness_delay=1, drain_timeout=5)["vm1"]
    assert second["changed"] is True and second["old_version"] == "v1"
    assert names(lab, lab.ips[0], app.service, role) == ["%s-%s-v2" % (app.service, role)]
    assert names(lab, lab.ips[0], app.service, role, running_only=False) == [
        "%s-%s-v1" % (app.service, role), "%s-%s-v2" % (app.service, role)]
    latest = lab.ssh(lab.ips[0], "docker image inspect -f '{{.Id}}' %s:latest" % app.repository).stdout
    v2 = lab.ssh(lab.ips[0], "docker image inspect -f '{{.Id}}' %s:v2" % app.repository).stdout
    assert latest == v2

    versions = app("vm1", command="versions", role=role)["vm1"]
    assert sorted(versions["versions"]) == ["v1", "v2"] and versions["current"] == "v2"


def test_broken_image_fails_with_the_diagnostic_and_v1_keeps_running(lab, app):
    role = "checked"
    ok = app("vm2", role=role, version="v1", options=HEALTH_OPTIONS, deploy_timeout=20)["vm2"]
    assert ok["changed"] is True, ok
    res = app("vm2", role=role, version="broken", options=HEALTH_OPTIONS, deploy_timeout=6)["vm2"]
    assert res.get("failed") is True, res
    msg = res["msg"]
    assert "%s-%s-broken on vm2: container not ready after 6 seconds (unhealthy)" % (app.service, role) in msg
    assert "boot error: the broken demo app never answers /up" in msg
    assert "the new container was stopped; %s-%s-v1 keeps serving on vm2" % (app.service, role) in msg
    ip = lab.ips[1]
    assert names(lab, ip, app.service, role) == ["%s-%s-v1" % (app.service, role)]
    served = lab.ssh(ip, "docker exec %s-%s-v1 wget -qO- http://127.0.0.1/" % (app.service, role)).stdout
    assert served.strip() == "app v1"


def test_exec_logs_stop_start_and_prune(lab, app):
    role = "tools"
    # "broken" has no HEALTHCHECK: without the proxy it passes by running, so it serves as an old version here
    for version in ("broken", "v2"):
        assert app("vm3", role=role, version=version, readiness_delay=1, drain_timeout=2)["vm3"]["changed"]

    out = app("vm3", command="exec", role=role, version="v2", exec_command="cat /www/index.html")["vm3"]
    assert out["rc"] == 0 and out["stdout"].strip() == "app v2", out
    assert out["actions"][0].startswith("docker run --rm --name %s-%s-exec-v2-" % (app.service, role))
    leftover = lab.ssh(lab.ips[2], "docker ps -a --format '{{.Names}}' | grep -c -- '-exec-' || true").stdout.strip()
    assert leftover == "0"
    reused = app("vm3", command="exec", role=role, reuse=True, exec_command=["sh", "-c", "echo $KAMAL_VERSION"])["vm3"]
    assert reused["stdout"].strip() == "v2"
    empty = app("vm3", command="exec", role=role, version="v2", exec_command=[])["vm3"]
    assert empty.get("failed") and "exec needs a command" in empty["msg"]

    logs = app("vm3", command="logs", role=role, lines=5)["vm3"]
    assert any("app v2 listening" in line for line in logs["lines"]), logs

    stopped = app("vm3", command="stop", role=role, drain_timeout=2)["vm3"]
    assert stopped["changed"] and names(lab, lab.ips[2], app.service, role) == []
    started = app("vm3", command="start", role=role, version="v2")["vm3"]
    assert started["changed"] and names(lab, lab.ips[2], app.service, role) == ["%s-%s-v2" % (app.service, role)]

    # one stopped container (broken) is within retention, and every image is used by a container
    pruned = app("vm3", command="prune", retain_containers=1)["vm3"]
    assert pruned["changed"] is False and pruned["removed_containers"] == [], pruned
    app("vm3", command="stop", role=role, drain_timeout=1)
    plan = app("vm3", command="prune", retain_containers=1, check=True)["vm3"]
    assert plan["changed"] and plan["removed_containers"] == ["%s-%s-broken" % (app.service, role)], plan
    assert len(names(lab, lab.ips[2], app.service, role, running_only=False)) == 2
    pruned = app("vm3", command="prune", retain_containers=1)["vm3"]
    assert pruned["removed_containers"] == ["%s-%s-broken" % (app.service, role)], pruned
    assert pruned["removed_images"] == ["%s:broken" % app.repository], pruned
    remaining = lab.ssh(lab.ips[2], "docker images --format '{{.Repository}}:{{.Tag}}' %s" % app.repository).stdout
    assert "%s:broken" % app.repository not in remaining.split()
    assert "%s:latest" % app.repository in remaining.split()


# --- proxied roles (kamal_proxy on vm2: the proxy suite owns vm3) ------------------------------------------

def _get(ip, host, path="/", timeout=5):
    conn = http.client.HTTPConnection(ip, 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def proxy_on_vm2(lab, app):
    ip = lab.ips[1]
    ours = lab.ssh(ip, "docker ps -aq --filter name=^/kamal-proxy$").stdout.strip() == ""
    booted = app.module("vm2", "kamal.deploy.kamal_proxy", {"command": "boot", "image": lab.images["kamal-lab/proxy:2.11"]})
    assert not booted["vm2"]["failed"], booted
    yield ip
    if ours:
        app.module("vm2", "kamal.deploy.kamal_proxy", {"command": "remove", "force": True})


def test_proxied_boot_switches_without_losing_a_request_and_a_broken_version_never_gets_traffic(lab, app, proxy_on_vm2):
    ip = proxy_on_vm2
    role = "web"
    host = "%s.lab.test" % app.service
    proxy = {"hosts": [host], "app_port": 80, "healthcheck": {"path": "/up", "interval": 1, "timeout": 2}}
    try:
        first = app("vm2", role=role, version="v1", proxy=proxy)["vm2"]
        assert first["changed"] and not first["failed"], first
        assert any(a.startswith("proxy ensure route %s-web" % app.service) for a in first["actions"]), first
        assert _get(ip, host) == (200, "app v1\n")
        again = app("vm2", role=role, version="v1", proxy=proxy)["vm2"]
        assert again["changed"] is False, again

        stop = threading.Event()
        tally = {"ok": 0, "failed": [], "bodies": set()}

        def load():
            while not stop.is_set():
                try:
                    status, body = _get(ip, host)
                    if status == 200:
                        tally["ok"] += 1
                        tally["bodies"].add(body.strip())
                    else:
                        tally["failed"].append(status)
                except (OSError, http.client.HTTPException) as exc:
                    tally["failed"].append(repr(exc))

        worker = threading.Thread(target=load)
        worker.start()
        try:
            second = app("vm2", role=role, version="v2", proxy=proxy)["vm2"]
            time.sleep(0.5)
        finally:
            stop.set()
            worker.join()
        assert second["changed"] and not second["failed"], second
        print("\nproxied boot of v2 on vm2 (module phases, s): %s; route: %s" % (second["timings"], second["route"]))
        actions = second["actions"]
        switch = next(i for i, a in enumerate(actions) if a.startswith("proxy switch"))
        assert switch < actions.index("docker stop %s-web-v1" % app.service), actions
        assert tally["failed"] == [] and tally["ok"] > 0, tally
        assert tally["bodies"] == {"app v1", "app v2"}, tally
        assert _get(ip, host) == (200, "app v2\n")

        broken = app("vm2", role=role, version="broken", proxy=proxy, deploy_timeout=3)["vm2"]
        assert broken["failed"], broken
        assert "GET http://" in broken["msg"] and ":80/up: HTTP 404" in broken["msg"], broken["msg"]
        assert "deploy_timeout is 3 s" in broken["msg"]
        assert "boot error: the broken demo app never answers /up" in broken["msg"]
        assert _get(ip, host) == (200, "app v2\n")
        assert names(lab, ip, app.service, role) == ["%s-web-v2" % app.service]

        plan = app("vm2", check=True, diff=True, role=role, version="v1", proxy=proxy)["vm2"]
        assert any(a.startswith("proxy switch %s-web to <ip of" % app.service) for a in plan["actions"]), plan
        assert _get(ip, host) == (200, "app v2\n")
    finally:
        app("vm2", command="stop", role=role, proxy=proxy)
