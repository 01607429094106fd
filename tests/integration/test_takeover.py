"""Taking over a server Kamal deployed (issue 16): every app's route moves, not only ours.

On one lab server, a stand-in for Kamal's proxy: a container named kamal-proxy, labelled as Kamal's image labels
it (org.opencontainers.image.title=kamal-proxy), publishing 80 and 443, with the kamal-proxy-config volume holding
a state file in kamal-proxy v0.9.2's format for two apps whose containers (named and labelled as Kamal names
them) run behind it (it is Caddy inside, routing the same two hosts). ``--check`` lists the two routes it would
move; the takeover moves them and replaces the stand-in; a load generator through port 80 for both apps records
the gap; then our own route answers next to them.
"""
import http.client
import json
import os
import sys
import threading
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_proxy import Server  # noqa: E402  pylint: disable=wrong-import-position,import-error

PREFIX = "tko" + uuid.uuid4().hex[:6]


def kamal_service(name, host, target):
    """One service as kamal-proxy v0.9.2 saves it (internal/server/service.go marshalledService; durations in ns)."""
    return {
        "name": name,
        "options": {"hosts": [host], "path_prefixes": ["/"], "tls_enabled": False, "tls_certificate_path": "",
                    "tls_private_key_path": "", "tls_redirect": True, "canonical_host": "", "acme_directory":
                    "https://acme-v02.api.letsencrypt.org/directory", "acme_cache_path":
                    "/home/kamal-proxy/.config/kamal-proxy/certs", "error_page_path": "", "strip_prefix": True,
                    "writer_affinity_timeout": 3000000000, "read_targets_accept_websockets": False},
        "target_options": {"health_check_config": {"path": "/up", "port": 0, "interval": 1000000000,
                                                   "timeout": 5000000000, "host": ""},
                           "response_timeout": 30000000000, "buffer_requests": True, "buffer_responses": True,
                           "max_memory_buffer_size": 1000000, "max_request_body_size": 0, "max_response_body_size": 0,
                           "log_request_headers": ["Cache-Control", "Last-Modified", "User-Agent"],
                           "log_response_headers": None, "forward_headers": True, "scope_cookie_paths": False},
        "active_targets": [target], "active_readers": None, "rollout_targets": None, "rollout_readers": None,
        "pause_controller": {"state": 0, "stop_message": "", "fail_after": 0}, "rollout_controller": None,
    }


class Gaps:
    """Steady requests to each host through port 80; the longest time without an answer, per host."""

    def __init__(self, ip, hosts):
        self.ip, self.hosts, self.stop = ip, hosts, threading.Event()
        self.samples = {host: [] for host in hosts}
        self.threads = [threading.Thread(target=self.run, args=(host,), daemon=True) for host in hosts for _attempt in range(2)]

    def run(self, host):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection(self.ip, 80, timeout=3)
                conn.request("GET", "/", headers={"Host": host})
                ok = conn.getresponse().status == 200
                conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
            self.samples[host].append((started, time.monotonic(), ok))
            time.sleep(0.005)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def report(self):
        """{host: (requests, failed, longest seconds between two good answers)}."""
        result = {}
        for host, samples in self.samples.items():
            good = sorted(end for _start, end, ok in samples if ok)
            gap = max([b - a for a, b in zip(good, good[1:])] or [0])
            result[host] = (len(samples), sum(1 for s in samples if not s[2]), gap)
        return result


@pytest.fixture(scope="module")
def server(lab):
    srv = Server(lab)
    entry = lab.servers[2]
    srv.name, srv.ip = entry["name"], entry["ip"]
    srv.sh("docker rm -f kamal-proxy >/dev/null 2>&1; docker volume rm kamal-proxy-config >/dev/null 2>&1; "
           "docker network create kamal >/dev/null 2>&1; docker pull -q %s >/dev/null; docker pull -q %s >/dev/null; "
           "docker pull -q %s >/dev/null" % (srv.v1, srv.v2, lab.images["kamal-lab/caddy:2.11"]), check=False)
    yield srv
    srv.sh("docker rm -f $(docker ps -aq --filter name=%s) $(docker ps -aq --filter name=kamal-proxy_replaced_) "
           ">/dev/null 2>&1; docker volume rm kamal-proxy-config >/dev/null 2>&1" % PREFIX, check=False)


@pytest.fixture(scope="module")
def kamal_server(server, lab):
    """Two Kamal apps behind the stand-in kamal-proxy: {host: (service name, body)}."""
    apps = {}
    for letter, image, body in (("b", server.v1, "app v1"), ("s", server.v2, "app v2")):
        service = "%s%s" % (PREFIX, letter)
        name = "%s-web-%s" % (service, uuid.uuid4().hex[:12])
        server.sh("docker run -d --name %s --network kamal --label service=%s --label role=web --label destination= %s"
                  " >/dev/null" % (name, service, image))
        short_id = server.sh("docker container ls --all --filter name=^%s$ --quiet" % name).stdout.strip()
        apps["%s.lab.test" % service] = (service + "-web", name, short_id, body)
    state = json.dumps([kamal_service(web, host, "%s:80" % cid) for host, (web, _n, cid, _b) in apps.items()])
    caddyfile = "".join("http://%s {\n\treverse_proxy %s:80\n}\n" % (host, name) for host, (_w, name, _c, _b) in apps.items())
    server.sh("docker volume create kamal-proxy-config >/dev/null && mkdir -p ~/%s" % PREFIX)
    server.lab.ssh(server.ip, "cat > ~/%s/kamal-proxy.state" % PREFIX, input=state + "\n")
    server.lab.ssh(server.ip, "cat > ~/%s/Caddyfile" % PREFIX, input=caddyfile)
    server.sh("docker run --rm -v kamal-proxy-config:/state -v ~/%s:/in %s cp /in/kamal-proxy.state /state/"
              % (PREFIX, lab.images["kamal-lab/busybox:1"]))
    server.sh("docker run -d --name kamal-proxy --network kamal --restart unless-stopped -p 80:80 -p 443:443 "
              "--label org.opencontainers.image.title=kamal-proxy "
              "-v kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy -v ~/%s/Caddyfile:/etc/caddy/Caddyfile %s "
              "caddy run --config /etc/caddy/Caddyfile --adapter caddyfile >/dev/null"
              % (PREFIX, lab.images["kamal-lab/caddy:2.11"]))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if all(server.get(host=host)[1].strip() == body for host, (_w, _n, _c, body) in apps.items()):
                break
        except OSError:
            pass
        time.sleep(0.2)
    for host, (_w, _n, _c, body) in apps.items():
        assert server.get(host=host)[1].strip() == body, "the stand-in kamal-proxy does not serve %s" % host
    return apps


def test_check_mode_lists_the_routes_that_would_move_and_changes_nothing(server, kamal_server):
    planned = server.proxy(check=True, command="boot", image=server.proxy_image, takeover=True)
    assert planned["changed"] and not planned.get("failed"), planned
    for host, (web, _name, cid, _body) in kamal_server.items():
        assert any(a.startswith("move route %s (%s) from Kamal's kamal-proxy to %s:80" % (web, host, cid))
                   for a in planned["actions"]), planned["actions"]
    assert "org.opencontainers.image.title" in server.sh("docker inspect kamal-proxy").stdout
    assert server.sh("docker inspect -f '{{.State.Status}}' kamal-proxy").stdout.strip() == "running"


def test_the_takeover_moves_every_apps_route_with_a_short_gap(server, kamal_server):
    with Gaps(server.ip, list(kamal_server)) as gaps:
        time.sleep(0.5)
        taken = server.proxy(command="boot", image=server.proxy_image, takeover=True)
        time.sleep(1.0)
    assert taken["changed"] and not taken.get("failed"), taken
    report = gaps.report()
    worst = max(gap for _n, _f, gap in report.values())
    print("\ntakeover: %d routes moved; module gap %.0f ms (stand-in stopped -> our proxy up); clients: %s; "
          "longest time without an answer %.0f ms" % (
              len(taken["takeover"]["routes"]), taken["takeover"]["gap_seconds"] * 1000,
              {h: "%d requests, %d failed" % (n, f) for h, (n, f, _g) in report.items()}, worst * 1000))
    assert sorted(r["name"] for r in taken["takeover"]["routes"]) == sorted(w for w, _n, _c, _b in kamal_server.values())
    for host, (_web, _name, _cid, body) in kamal_server.items():
        assert server.get(host=host)[1].strip() == body
    assert worst < 10, report
    assert server.proxy(command="details")["proxy"]["container"]["ours"] is True
    assert server.sh("docker ps -aq --filter name=kamal-proxy_replaced_").stdout.strip()


def test_our_app_answers_next_to_the_kamal_apps_and_their_routes_follow_their_containers(server, kamal_server):
    ours = PREFIX + "-ours"
    server.app(ours, server.v2)
    route = {"name": ours + "-web", "hosts": ["%s.lab.test" % ours]}
    assert not server.proxy(command="route", route=route, target=ours).get("failed")
    assert server.get(host="%s.lab.test" % ours)[1].strip() == "app v2"
    for host, (_web, _name, _cid, body) in kamal_server.items():
        assert server.get(host=host)[1].strip() == body
    # The moved routes follow their containers by name (a server reboot gives them new addresses).
    details = {r["name"]: r for r in server.proxy(command="details")["proxy"]["routes"]}
    for _host, (web, name, _cid, _body) in kamal_server.items():
        assert details[web]["target_container"] == name
