"""kamal_proxy against a lab server, through real SSH and Ansible: Caddy + dnsmasq, switching by DNS.

Everything runs on the last lab server (vm3 in the default lab; other suites use vm1/vm2 concurrently) and
is removed afterwards: the proxy container, ~/.kamal/proxy and the test app containers.
"""
import http.client
import json
import os
import socket
import ssl
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest

SWITCHES = int(os.environ.get("KAMAL_PROXY_TEST_SWITCHES", "30"))
PREFIX = "kpt" + uuid.uuid4().hex[:6]
HOST = PREFIX + ".lab.test"
PLAYBOOK = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or "ansible-playbook"


class Server:
    def __init__(self, lab):
        self.lab = lab
        entry = lab.servers[-1]
        self.name, self.ip = entry["name"], entry["ip"]
        self.proxy_image = lab.images["kamal-lab/proxy:2.11"]
        self.v1, self.v2 = lab.images["kamal-lab/demo-app:v1"], lab.images["kamal-lab/demo-app:v2"]

    def sh(self, command, check=True):
        return self.lab.ssh(self.ip, command, check=check, timeout=120)

    def play(self, task, check=False, diff=False):
        """Run one task (a loop is fine) on the server with ansible-playbook; returns its result.

        The result comes from Ansible's ``tree`` callback, which writes each host's last result as JSON."""
        with tempfile.TemporaryDirectory() as tmp:
            playbook = os.path.join(tmp, "play.yml")
            with open(playbook, "w", encoding="utf-8") as handle:
                json.dump([{"hosts": self.name, "gather_facts": False, "tasks": [dict(task, ignore_errors=True)]}], handle)
            env = dict(self.lab.ansible_env(), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree",
                       ANSIBLE_CALLBACK_TREE_DIR=os.path.join(tmp, "tree"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
            command = [PLAYBOOK, "-i", self.lab.inventory, playbook] + (["--check"] if check else []) + (
                ["--diff"] if diff else [])
            res = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
            out = os.path.join(tmp, "tree", self.name)
            if not os.path.exists(out):
                raise AssertionError("ansible-playbook failed:\n%s\n%s" % (res.stdout, res.stderr))
            with open(out, encoding="utf-8") as handle:
                result = json.load(handle)
            # The tree callback leaves out the `failed` flag; kamal_proxy only returns `msg` when it fails.
            if "msg" in result and "results" not in result:
                result["failed"] = True
            return result

    def proxy(self, check=False, diff=False, **args):
        return self.play({"kamal.deploy.kamal_proxy": args}, check, diff)

    def boot(self, **args):
        return self.proxy(command="boot", image=self.proxy_image, **args)

    def app(self, name, image, command=None):
        self.sh("docker rm -f %s >/dev/null 2>&1; docker run -d --name %s --network kamal %s %s" % (
            name, name, image, command or ""))
        return self.sh("docker inspect -f '{{.NetworkSettings.Networks.kamal.IPAddress}}' %s" % name).stdout.strip()

    def get(self, path="/", host=HOST, timeout=5):
        conn = http.client.HTTPConnection(self.ip, 80, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            return response.status, response.read().decode(), dict(response.getheaders())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server(lab):
    srv = Server(lab)
    srv.sh("docker rm -f kamal-proxy >/dev/null 2>&1; rm -rf ~/.kamal/proxy; docker network create kamal >/dev/null 2>&1;"
           " docker pull -q %s >/dev/null && docker pull -q %s >/dev/null" % (srv.v1, srv.v2), check=False)
    yield srv
    srv.sh("docker rm -f $(docker ps -aq --filter name=%s) kamal-proxy >/dev/null 2>&1; "
           "docker rm -f $(docker ps -aq --filter name=kamal-proxy_replaced_) >/dev/null 2>&1; rm -rf ~/.kamal/proxy"
           % PREFIX, check=False)


@pytest.fixture(scope="module")
def apps(server):
    """Two demo app containers on the kamal network: (ip of v1, ip of v2)."""
    return server.app(PREFIX + "-v1", server.v1), server.app(PREFIX + "-v2", server.v2)


@pytest.fixture(scope="module")
def booted(server):
    result = server.boot()
    assert not result.get("failed"), result
    return result


def test_boot_check_mode_then_boot_then_idempotent(server):
    server.sh("docker rm -f kamal-proxy >/dev/null 2>&1; rm -rf ~/.kamal/proxy", check=False)
    planned = server.proxy(check=True, command="boot", image=server.proxy_image)
    assert planned["changed"] and any(a.startswith("run container kamal-proxy") for a in planned["actions"]), planned
    assert server.sh("docker ps -aq --filter name=^/kamal-proxy$").stdout.strip() == ""
    assert server.sh("test -e ~/.kamal/proxy", check=False).returncode != 0, "check mode wrote files"
    first = server.boot()
    assert first["changed"] and not first.get("failed"), first
    assert first["proxy"]["container"]["state"] == "running"
    assert {"80/tcp", "443/tcp"} <= set(first["proxy"]["container"]["ports"])
    again = server.boot()
    assert again["changed"] is False and again["actions"] == [], again
    assert server.proxy(check=True, command="boot", image=server.proxy_image)["changed"] is False
    # The admin API is a unix socket in the host directory, never TCP.
    assert server.sh("test -S ~/.kamal/proxy/run/admin.sock").returncode == 0
    assert server.get("/", host="nobody.lab.test")[0] == 404


def test_route_then_switch_under_load_loses_no_request(server, booted, apps):
    v1, v2 = apps
    route = {"name": PREFIX + "-web", "hosts": [HOST]}
    first = server.proxy(command="route", route=route, target=PREFIX + "-v1")
    assert first["changed"] and server.get()[1].strip() == "app v1", first
    again = server.proxy(command="route", route=route, target=PREFIX + "-v1")
    assert again["changed"] is False, again

    stop = threading.Event()
    tallies = []

    def client(keepalive):
        ok, failures, bodies = 0, [], {}
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(server.ip, 80, timeout=5)
                conn.request("GET", "/", headers={"Host": HOST})
                response = conn.getresponse()
                body = response.read().decode().strip()
                if response.status == 200:
                    ok += 1
                    bodies[body] = bodies.get(body, 0) + 1
                else:
                    failures.append("%d %s" % (response.status, body[:60]))
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                conn = None
            if not keepalive and conn is not None:
                conn.close()
                conn = None
            time.sleep(0.005)
        tallies.append((ok, failures, bodies))

    threads = [threading.Thread(target=client, args=(keepalive,)) for keepalive in (False, False, True)]
    for thread in threads:
        thread.start()
    started = time.time()
    try:
        args = {"command": "route", "route": route, "target": "{{ item }}", "drain_timeout": 5}
        task = {"kamal.deploy.kamal_proxy": args,
                "loop": [PREFIX + ("-v2" if i % 2 == 0 else "-v1") for i in range(SWITCHES)]}
        results = server.play(task)["results"]
    finally:
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
    elapsed = time.time() - started
    requests = sum(t[0] + len(t[1]) for t in tallies)
    failures = [f for t in tallies for f in t[1]]
    bodies = {}
    for t in tallies:
        for body, count in t[2].items():
            bodies[body] = bodies.get(body, 0) + count
    switched = [r for r in results if r.get("changed")]
    drains = [r["switch"]["drain"]["waited"] for r in results if "drain" in r.get("switch", {})]
    print("\nproxy switch: %d switches, %d requests in %.1f s, %d failed, answers %s, drain max %.3f s"
          % (len(switched), requests, elapsed, len(failures), bodies, max(drains or [0])))
    assert len(switched) == SWITCHES, [(r.get("item"), r.get("msg"), r.get("actions")) for r in results
                                       if not r.get("changed")]
    assert failures == []
    assert bodies.get("app v1") and bodies.get("app v2"), bodies
    assert set(bodies) == {"app v1", "app v2"}


def test_drain_waits_for_the_request_in_flight_to_the_old_container(server, booted, apps):
    slow = PREFIX + "-slow"
    script = ('printf \'#!/bin/sh\\nsleep ${QUERY_STRING:-2}\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nslow\\\\n"\\n\' '
              '> /www/cgi-bin/slow')
    server.app(slow, server.v1, "sh -c 'mkdir -p /www/cgi-bin && %s && chmod +x /www/cgi-bin/slow && exec httpd -f -p 80 -h /www'"
               % script.replace("'", "'\\''"))
    route = {"name": PREFIX + "-drain", "hosts": ["drain." + HOST]}
    assert not server.proxy(command="route", route=route, target=slow).get("failed")
    outcome = {}

    def slow_request(seconds):
        outcome[seconds] = server.get("/cgi-bin/slow?%s" % seconds, host="drain." + HOST, timeout=10)

    # ansible-playbook needs a second or two before the module runs: the request takes 6 s.
    started = time.time()
    thread = threading.Thread(target=slow_request, args=(6,))
    thread.start()
    time.sleep(0.3)
    result = server.proxy(command="route", route=route, target=PREFIX + "-v2", drain_timeout=20)
    finished = time.time() - started
    thread.join()
    drain = result["switch"]["drain"]
    print("\ndrain of a 6 s request (switch issued at 0.3 s, play done at %.1f s): %s" % (finished, drain))
    assert outcome[6][0] == 200 and outcome[6][1].strip() == "slow"
    assert drain["in_flight_at_start"] == 1 and drain["drained"] is True
    assert 0.5 < drain["waited"] < 6 and 5.5 < finished, drain
    assert server.get(host="drain." + HOST)[1].strip() == "app v2"

    # A drain_timeout shorter than the request: the module stops waiting and says so.
    server.proxy(command="route", route=route, target=slow)
    thread = threading.Thread(target=slow_request, args=(8,))
    thread.start()
    time.sleep(0.3)
    result = server.proxy(command="route", route=route, target=PREFIX + "-v1", drain_timeout=1)
    thread.join()
    drain = result["switch"]["drain"]
    assert drain["drained"] is False and drain["in_flight"] == 1 and 0.9 < drain["waited"] < 1.6, drain
    server.proxy(command="remove_route", name=route["name"])


def test_maintenance_answers_503_with_the_message_and_live_restores(server, booted, apps):
    route = {"name": PREFIX + "-maint", "hosts": ["maint." + HOST]}
    server.proxy(command="route", route=route, target=PREFIX + "-v1")
    planned = server.proxy(check=True, command="maintenance", name=route["name"], maintenance_message="Back at <5>")
    assert planned["changed"] and server.get(host="maint." + HOST)[0] == 200
    result = server.proxy(command="maintenance", name=route["name"], maintenance_message="Back at <5>")
    assert result["changed"], result
    status, body, headers = server.get(host="maint." + HOST)
    assert status == 503 and "Back at &lt;5&gt;" in body and headers.get("Retry-After")
    assert server.proxy(command="maintenance", name=route["name"], maintenance_message="Back at <5>")["changed"] is False
    assert server.proxy(command="live", name=route["name"])["changed"]
    assert server.get(host="maint." + HOST)[1].strip() == "app v1"
    assert server.proxy(command="live", name=route["name"])["changed"] is False
    server.proxy(command="remove_route", name=route["name"])


def test_routes_of_two_services_are_independent_and_specific_hosts_win(server, booted, apps):
    a = {"name": PREFIX + "-a", "hosts": ["a." + HOST]}
    api = {"name": PREFIX + "-api", "path_prefixes": ["/api"]}
    server.proxy(command="route", route=a, target=PREFIX + "-v1")
    server.proxy(command="route", route=api, target=PREFIX + "-v2")
    assert server.get("/", host="a." + HOST)[1].strip() == "app v1"
    # The host route comes before the catch-all prefix route: /api/ reaches app v1 unstripped (its own 404).
    assert "The requested URL was not found" in server.get("/api/", host="a." + HOST)[1]
    assert server.get("/api/", host="other." + HOST)[1].strip() == "app v2"  # prefix stripped: /api/ -> /
    assert server.get("/api/up", host="other." + HOST)[1].strip() == "ok"
    clash = server.proxy(command="route", route={"name": PREFIX + "-b", "hosts": ["a." + HOST]})
    assert clash.get("failed") and "already served by route %s" % a["name"] in clash["msg"], clash
    removed = server.proxy(command="remove_route", name=api["name"])
    assert removed["changed"]
    assert server.get("/api/", host="other." + HOST)[0] == 404
    assert server.get(host="a." + HOST)[1].strip() == "app v1"
    assert server.proxy(command="remove_route", name=api["name"])["changed"] is False
    server.proxy(command="remove_route", name=a["name"])


def test_https_with_a_certificate_caddy_obtains_from_pebble(server, booted, apps, lab):
    pebble = lab.state["pebble"]
    host = "tls." + HOST
    mgmt = "http://%s:8055" % pebble["ip"]
    urllib.request.urlopen(urllib.request.Request(mgmt + "/add-a", method="POST", data=json.dumps(
        {"host": host, "addresses": [server.ip]}).encode()), timeout=10)
    try:
        with open(pebble["listener_ca"], encoding="utf-8") as handle:
            listener_ca = handle.read()
        booted_acme = server.boot(acme={"ca": pebble["directory"], "email": "lab@example.test", "ca_root_pem": listener_ca})
        assert not booted_acme.get("failed"), booted_acme
        ctx = ssl.create_default_context(cafile=pebble["listener_ca"])
        root = urllib.request.urlopen("https://%s:15000/roots/0" % pebble["ip"], context=ctx, timeout=10).read().decode()
        started = time.time()
        route = {"name": PREFIX + "-tls", "hosts": [host], "tls": True}
        assert not server.proxy(command="route", route=route, target=PREFIX + "-v2").get("failed")
        client_ctx = ssl.create_default_context(cadata=root)
        answer, issuer = None, None
        while time.time() - started < 30 and answer is None:
            try:
                with socket.create_connection((server.ip, 443), timeout=2) as raw:
                    with client_ctx.wrap_socket(raw, server_hostname=host) as tls:
                        issuer = dict(x[0] for x in tls.getpeercert()["issuer"])
                        tls.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
                        data = b""
                        while True:
                            chunk = tls.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        answer = data.decode()
            except (OSError, ssl.SSLError):
                time.sleep(0.2)
        print("\nACME: first good HTTPS answer %.2f s after the route was created (issuer %s)"
              % (time.time() - started, issuer))
        assert answer and answer.startswith("HTTP/1.1 200") and answer.rstrip().endswith("app v2"), answer
        assert "Pebble" in issuer.get("commonName", ""), issuer
        status, _body, headers = server.get(host=host)
        assert status == 301 and headers["Location"] == "https://%s/" % host
        server.proxy(command="remove_route", name=route["name"])
    finally:
        urllib.request.urlopen(urllib.request.Request(mgmt + "/clear-a", method="POST", data=json.dumps(
            {"host": host}).encode()), timeout=10)


def test_routes_survive_a_proxy_restart_and_a_reboot(server, booted, apps):
    route = {"name": PREFIX + "-keep", "hosts": ["keep." + HOST]}
    server.proxy(command="route", route=route, target=PREFIX + "-v2")
    server.sh("docker restart kamal-proxy >/dev/null")
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            if server.get(host="keep." + HOST)[1].strip() == "app v2":
                break
        except OSError:
            pass
        time.sleep(0.2)
    assert server.get(host="keep." + HOST)[1].strip() == "app v2"
    rebooted = server.proxy(command="reboot", image=server.proxy_image)
    assert rebooted["changed"] and not rebooted.get("failed"), rebooted
    assert server.get(host="keep." + HOST)[1].strip() == "app v2"
    assert server.proxy(command="details")["proxy"]["routes"][0]["target"] is not None
    server.proxy(command="remove_route", name=route["name"])


def test_boot_builds_the_image_on_the_server_from_dockerfile_text(server, booted):
    # The production recipe (roles/proxy/files/Dockerfile) needs Alpine's or Debian's package mirror, which lab
    # servers cannot reach: a Dockerfile with the same BASE argument on top of the lab's proxy image stands in.
    dockerfile = "ARG BASE\nFROM ${BASE}\nLABEL org.kamal-deploy.test=%s\n" % PREFIX
    image = "kamal-deploy/proxy:" + PREFIX
    args = {"dockerfile": dockerfile, "build_args": {"BASE": server.proxy_image}}
    server.sh("docker rm -f kamal-proxy >/dev/null")
    built = server.proxy(command="boot", image=image, **args)
    assert built["changed"] and not built.get("failed"), built
    assert any(a.startswith("build image %s" % image) for a in built["actions"]), built["actions"]
    assert built["proxy"]["container"]["image"] == image
    again = server.proxy(command="boot", image=image, **args)
    assert again["changed"] is False, again
    # Back to the lab image for the next tests (a different image is only applied by reboot).
    assert server.proxy(command="boot", image=server.proxy_image)["changed"] is False
    assert not server.proxy(command="reboot", image=server.proxy_image).get("failed")
    server.sh("docker rmi %s >/dev/null" % image)


def test_a_foreign_kamal_proxy_is_never_replaced_silently(server, booted):
    server.sh("docker rm -f kamal-proxy >/dev/null")
    server.sh("docker run -d --name kamal-proxy %s sleep 600 >/dev/null" % server.lab.images["kamal-lab/busybox:1"])
    refused = server.boot()
    assert refused.get("failed"), refused
    assert "did not create" in refused["msg"] and "kamal-lab/busybox:1" in refused["msg"]
    assert "takeover=true" in refused["msg"] and "docker rm -f kamal-proxy" in refused["msg"]
    assert "sleep" in server.sh("docker inspect -f '{{.Config.Cmd}}' kamal-proxy").stdout
    taken = server.boot(takeover=True)
    assert taken["changed"] and not taken.get("failed"), taken
    assert any(a.startswith("stop foreign container kamal-proxy") for a in taken["actions"])
    assert server.sh("docker ps -aq --filter name=kamal-proxy_replaced_").stdout.strip()
    assert server.proxy(command="details")["proxy"]["container"]["ours"] is True


def test_remove_takes_the_proxy_away(server, booted):
    planned = server.proxy(check=True, command="remove", force=True)
    assert planned["changed"] and server.sh("docker ps -q --filter name=^/kamal-proxy$").stdout.strip()
    removed = server.proxy(command="remove", force=True)
    assert removed["changed"] and not removed.get("failed"), removed
    assert server.sh("docker ps -aq --filter name=^/kamal-proxy$").stdout.strip() == ""
    assert server.proxy(command="remove", force=True)["changed"] is False
