"""The proxy contract kamal_app relies on (docs/dev/proxy-contract.md), against a fake Caddy admin API.

The fake listens on the real unix socket path under <home>/.kamal/proxy/run, keeps the loaded config and
answers /reverse_proxy/upstreams from a table the test sets.
"""
import http.server
import json
import os
import shutil
import socketserver
import tempfile
import threading

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _proxy as proxy


class FakeCaddy(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path):
        self.config = None
        self.loads = 0
        self.upstreams = []
        self.refuse = None
        socketserver.UnixStreamServer.__init__(self, path, Handler)

    def get_request(self):  # unix sockets have no client address; http.server wants a tuple
        return socketserver.UnixStreamServer.get_request(self)[0], ("local", 0)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/config/":
            self._send(200, self.server.config)
        elif self.path == "/reverse_proxy/upstreams":
            self._send(200, self.server.upstreams.pop(0) if len(self.server.upstreams) > 1 else self.server.upstreams[0])
        else:
            self._send(404, {"error": "no"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.refuse:
            self._send(400, {"error": self.server.refuse})
            return
        self.server.config = body
        self.server.loads += 1
        self._send(200, None)


@pytest.fixture
def home(monkeypatch):
    path = tempfile.mkdtemp(prefix="kp", dir="/tmp")  # short: unix socket paths are limited to 107 bytes
    waits = []
    monkeypatch.setattr(proxy, "_wait_dns", lambda home, name, ip: waits.append((name, ip)) or {"confirmed_by": "test"})
    yield path
    shutil.rmtree(path)


@pytest.fixture
def caddy(home):
    os.makedirs(os.path.join(home, ".kamal", "proxy", "run"))
    server = FakeCaddy(proxy.admin_socket(home))
    server.config = {"apps": {}}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def read(home, *parts):
    with open(os.path.join(home, ".kamal", "proxy", *parts), encoding="utf-8") as handle:
        return handle.read()


WEB = {"name": "app-web", "hosts": ["app.test"], "app_port": 3000}


def test_ensure_route_loads_once_and_then_reports_no_change(home, caddy):
    first = proxy.ensure_route(home, WEB)
    assert first["changed"] and first["diff"]["before"] is None and first["diff"]["after"]["hosts"] == ["app.test"]
    assert caddy.loads == 1 and json.loads(read(home, "caddy.json")) == caddy.config
    assert proxy.ensure_route(home, dict(WEB))["changed"] is False
    assert caddy.loads == 1
    changed = proxy.ensure_route(home, dict(WEB, hosts=["app.test", "www.app.test"]))
    assert changed["changed"] and changed["diff"]["before"]["hosts"] == ["app.test"] and caddy.loads == 2


def test_ensure_route_check_mode_changes_nothing(home, caddy):
    assert proxy.ensure_route(home, WEB, check_mode=True)["changed"] is True
    assert caddy.loads == 0 and not os.path.exists(os.path.join(home, ".kamal", "proxy", "routes", "app-web.json"))


def test_a_config_caddy_refuses_is_not_saved(home, caddy):
    caddy.refuse = "loading new config: bad"
    with pytest.raises(proxy.ProxyError) as err:
        proxy.ensure_route(home, WEB)
    assert "Caddy refused POST /load" in str(err.value) and "bad" in str(err.value)
    assert not os.path.exists(os.path.join(home, ".kamal", "proxy", "routes", "app-web.json"))


def test_ensure_route_without_a_running_proxy_says_how_to_boot_it(home):
    with pytest.raises(proxy.ProxyError) as err:
        proxy.ensure_route(home, WEB)
    assert "kamal-proxy is not running" in str(err.value) and "command=boot" in str(err.value)


def test_custom_certificates_are_written_0600(home, caddy):
    proxy.ensure_route(home, dict(WEB, tls=True, tls_certificate_pem="CERT", tls_private_key_pem="KEY"))
    key = os.path.join(home, ".kamal", "proxy", "tls", "app-web", "key.pem")
    assert read(home, "tls", "app-web", "key.pem") == "KEY" and oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert "KEY" not in read(home, "routes", "app-web.json") and "KEY" not in read(home, "caddy.json")


def test_services_never_touch_each_other_routes(home, caddy):
    proxy.ensure_route(home, WEB)
    proxy.ensure_route(home, {"name": "other-web", "hosts": ["other.test"]})
    with pytest.raises(proxy.ProxyError) as err:
        proxy.ensure_route(home, {"name": "third-web", "hosts": ["app.test"]})
    assert "already served by route app-web" in str(err.value)
    proxy.remove_route(home, "app-web")
    ids = [r["@id"] for r in caddy.config["apps"]["http"]["servers"]["kamal_http"]["routes"]]
    assert ids == ["kamal:other-web:http", "kamal:not-found"]
    assert proxy.remove_route(home, "app-web")["changed"] is False


def test_switch_live_target_writes_the_dns_answer_without_a_reload(home, caddy):
    proxy.ensure_route(home, WEB)
    loads = caddy.loads
    assert proxy.live_target(home, "app-web") is None
    first = proxy.switch_live_target(home, "app-web", "172.18.0.5", container="app-web-v1")
    assert first["changed"] and first["before"] is None and first["after"] == "172.18.0.5"
    assert read(home, "dns", "app-web") == "# kamal.deploy route app-web\n172.18.0.5 app-web.live\n"
    assert read(home, "targets", "app-web.target") == "app-web-v1 172.18.0.5\n"
    assert proxy.switch_live_target(home, "app-web", "172.18.0.5")["changed"] is False
    second = proxy.switch_live_target(home, "app-web", "172.18.0.6", check_mode=True)
    assert second["changed"] and proxy.live_target(home, "app-web") == "172.18.0.5"
    proxy.switch_live_target(home, "app-web", "172.18.0.6", container="app-web-v2")
    assert proxy.live_target(home, "app-web") == "172.18.0.6" and caddy.loads == loads
    assert not os.listdir(os.path.join(home, ".kamal", "proxy", "tmp"))  # atomic writes left nothing behind


def test_switch_to_an_unknown_route_fails_clearly(home, caddy):
    with pytest.raises(proxy.ProxyError) as err:
        proxy.switch_live_target(home, "nope", "172.18.0.5")
    assert "route nope does not exist" in str(err.value)


def test_maintenance_then_live_switch_the_dns_answer_only(home, caddy):
    proxy.ensure_route(home, WEB)
    proxy.switch_live_target(home, "app-web", "172.18.0.5")
    loads = caddy.loads
    address = json.loads(read(home, "routes", "app-web.json"))["maintenance_address"]
    result = proxy.maintenance(home, "app-web", "Back soon")
    assert result["changed"] and result["before"] == {"maintenance": False}
    assert read(home, "dns", "app-web").split("\n")[1].startswith(address + " ")
    assert "Back soon" in read(home, "maintenance", "app-web.html")
    assert proxy.maintenance(home, "app-web", "Back soon")["changed"] is False
    assert proxy.maintenance(home, "app-web", "Back later")["changed"] is True
    # A deploy during maintenance moves the remembered target; live goes there.
    proxy.switch_live_target(home, "app-web", "172.18.0.6")
    assert read(home, "dns", "app-web").split("\n")[1].startswith(address + " ")
    assert proxy.live(home, "app-web")["changed"] is True
    assert "172.18.0.6 app-web.live" in read(home, "dns", "app-web")
    assert proxy.live(home, "app-web")["changed"] is False and caddy.loads == loads


def test_drain_waits_until_caddy_has_nothing_in_flight(home, caddy):
    caddy.upstreams = [
        [{"address": "172.18.0.5:3000", "num_requests": 2}, {"address": "172.18.0.5:3000", "num_requests": 1}],
        [{"address": "172.18.0.5:3000", "num_requests": 1}],
        [{"address": "172.18.0.5:3000", "num_requests": 0}, {"address": "172.18.0.6:3000", "num_requests": 4}],
    ]
    result = proxy.drain(home, "172.18.0.5:3000", 5)
    assert result["drained"] is True and result["in_flight"] == 0 and result["in_flight_at_start"] == 2


def test_drain_gives_up_at_the_timeout(home, caddy):
    caddy.upstreams = [[{"address": "172.18.0.5:3000", "num_requests": 1}]]
    result = proxy.drain(home, "172.18.0.5:3000", 0.2)
    assert result["drained"] is False and result["in_flight"] == 1 and 0.2 <= result["waited"] < 1


def test_routes_lists_targets_and_maintenance(home, caddy):
    proxy.ensure_route(home, WEB)
    proxy.switch_live_target(home, "app-web", "172.18.0.5", container="c1")
    proxy.maintenance(home, "app-web", None)
    (entry,) = proxy.routes(home)
    assert entry["target"] == "172.18.0.5" and entry["target_container"] == "c1" and entry["maintenance"] is True
