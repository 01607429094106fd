"""The proxy beyond Kamal's (issue 16): canary rollouts, the options Kamal users ask for and the takeover of
Kamal's kamal-proxy with every service's route. The pure half (_caddy) directly, the files (_proxy) against the
fake Caddy admin API of test_proxy_contract. The Caddy side of each rule is checked in the lab
(tests/integration/test_rollout.py, test_proxy_options.py, test_takeover.py)."""
import json
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy as caddy
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy as proxy
from ansible_collections.kamal.deploy.plugins.module_utils import _route

from test_proxy_contract import caddy as fake_caddy, home, read  # noqa: F401  pylint: disable=unused-import,import-error

WEB = {"name": "app-web", "hosts": ["app.test"], "app_port": 3000}
HASH = _route.password_hash("s3cret", "app/web/admin")


# --- the split -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("percent, threshold", [(0, ""), (10, "19999999"), (50, "80000000"), (100, "g")])
def test_the_split_threshold_cuts_the_random_cookie_space_at_the_percentage(percent, threshold):
    assert caddy.split_threshold(percent) == threshold


def test_ten_percent_of_random_cookies_fall_below_the_threshold():
    import uuid  # pylint: disable=import-outside-toplevel
    threshold = caddy.split_threshold(10)
    share = sum(str(uuid.uuid4()) < threshold for _attempt in range(20000)) / 20000.0
    assert 0.09 < share < 0.11


def test_the_split_file_holds_the_threshold_and_the_cookie_list():
    assert caddy.split_file(0, []) == ""
    assert caddy.split_file(10, []) == "19999999 ,\n"
    assert caddy.split_file(0, ["beta", "qa"]) == " ,beta,qa,\n"
    with pytest.raises(caddy.RouteError, match="not a cookie value"):
        caddy.split_file(0, ["a,b"])


def test_the_rollout_target_has_a_dns_name_of_its_own_under_the_route():
    assert caddy.dns_name("app-web") == "app-web.live."
    assert caddy.dns_name(caddy.rollout_name("app-web")) == "app-web.rollout.live."
    assert caddy.dns_hosts_file("app-web@rollout", "10.0.0.9").endswith("10.0.0.9 app-web.rollout.live\n")


def test_every_route_chooses_its_upstream_by_the_split_file_without_a_config_change():
    config = caddy.build_config({}, [{"route": caddy.normalize_route(WEB), "maintenance_address": "127.64.0.9"}])
    handle = config["apps"]["http"]["servers"]["kamal_http"]["routes"][0]["handle"]
    chooser = handle[[h["handler"] for h in handle].index("vars")]
    assert chooser["kamal_split_file"] == "{file./kamal-proxy/split/app-web}"
    choice = handle[[h["handler"] for h in handle].index("vars") + 1]["routes"]
    assert "Set-Cookie" in json.dumps(choice[0]) and "kamal-split={http.request.uuid}" in json.dumps(choice[0])
    assert choice[1]["handle"] == [{"handler": "vars", "kamal_upstream": "app-web.rollout.live."}]


# --- the options ---------------------------------------------------------------------------------------------

def test_options_kamal_lacks_are_stored_only_when_set():
    bare = caddy.normalize_route(dict(WEB))
    assert "basic_auth" not in bare and "client_ip" not in bare and "port" not in bare["healthcheck"]
    full = caddy.normalize_route(dict(WEB, healthcheck={"port": 9000}, basic_auth={"username": "admin", "password_hash": HASH},
                                      client_ip={"header": "CF-Connecting-IP", "trusted_proxies": ["10.1.0.0/16", "10.2.3.4"]}))
    assert full["healthcheck"]["port"] == 9000
    assert full["basic_auth"] == {"username": "admin", "fingerprint": caddy.password_fingerprint(HASH)}
    assert HASH not in json.dumps(full)
    assert full["client_ip"] == {"header": "CF-Connecting-IP", "trusted_proxies": ["10.1.0.0/16", "10.2.3.4/32"]}


@pytest.mark.parametrize("extra, message", [
    ({"basic_auth": {"username": "admin", "password_hash": "s3cret"}}, "not an argon2id or bcrypt hash"),
    ({"basic_auth": {"username": "a:b", "password_hash": HASH}}, "not a user name"),
    ({"client_ip": {"header": "CF-Connecting-IP"}}, "needs trusted_proxies"),
    ({"client_ip": {"header": "CF-Connecting-IP", "trusted_proxies": ["cloudflare"]}}, "not an IP address"),
    ({"healthcheck": {"port": 70000}}, "healthcheck.port must be a TCP port"),
])
def test_bad_options_are_refused_naming_the_route_and_the_key(extra, message):
    with pytest.raises(caddy.RouteError, match="route app-web: .*" + message):
        caddy.normalize_route(dict(WEB, **extra))


def test_basic_auth_reads_the_hash_from_its_file_and_caches_verifications():
    stored = caddy.normalize_route(dict(WEB, basic_auth={"username": "admin", "password_hash": HASH}))
    config = caddy.build_config({}, [{"route": stored, "maintenance_address": "127.64.0.9"}])
    assert HASH not in json.dumps(config)
    auth = config["apps"]["http"]["servers"]["kamal_http"]["routes"][0]["handle"][4]
    basic = auth["providers"]["http_basic"]
    assert basic["accounts"] == [{"username": "admin", "password":
                                  "{file./kamal-proxy/auth/app-web.%s}" % caddy.password_fingerprint(HASH)}]
    assert basic["hash"] == {"algorithm": "argon2id"} and basic["hash_cache"] == {}


def test_the_password_hash_is_the_same_for_the_same_password_and_salt():
    assert HASH == _route.password_hash("s3cret", "app/web/admin")
    assert HASH != _route.password_hash("s3cret", "app/api/admin") and HASH.startswith("$argon2id$v=19$m=47104,t=1,p=1$")


def test_the_client_ip_header_is_believed_only_from_trusted_proxies():
    stored = caddy.normalize_route(dict(WEB, client_ip={"header": "CF-Connecting-IP", "trusted_proxies": ["10.1.0.0/16"]}))
    handle = caddy.build_config({}, [{"route": stored, "maintenance_address": "127.64.0.9"}])[
        "apps"]["http"]["servers"]["kamal_http"]["routes"][0]["handle"]
    trusted = next(h for h in handle if h["handler"] == "subroute" and "remote_ip" in json.dumps(h))["routes"][0]
    assert trusted["match"] == [{"remote_ip": {"ranges": ["10.1.0.0/16"]}, "header": {"CF-Connecting-IP": ["*"]}}]
    upstream = handle[-1]
    assert upstream["headers"] == {"request": {"set": {"X-Forwarded-For": ["{http.vars.kamal_client_ip}"]}}}
    assert upstream["trusted_proxies"] == ["10.1.0.0/16"]


def test_http3_is_on_only_when_its_udp_port_is_published():
    tls = [{"route": caddy.normalize_route(dict(WEB, tls=True)), "maintenance_address": "127.64.0.9"}]
    assert caddy.build_config({}, tls)["apps"]["http"]["servers"]["kamal_https"]["protocols"] == ["h1", "h2"]
    assert caddy.build_config({"http3": True}, tls)["apps"]["http"]["servers"]["kamal_https"]["protocols"] == ["h1", "h2", "h3"]
    assert "443/udp" not in proxy.run_spec("/home/u", "img")["ports"]
    assert proxy.run_spec("/home/u", "img", {"http3": True})["ports"]["443/udp"] == 443
    assert proxy.desired_settings("/home/u", {"http3": True})[0]["http3"] is True


def test_own_settings_merge_into_kamals_healthcheck_and_name_the_password_secret():
    settings, secrets = _route.from_own({"healthcheck": {"port": 9000}, "basic_auth": {"username": "admin", "password": "PW"}})
    merged = _route.merge_own({"healthcheck": {"path": "/health"}}, settings)
    assert merged == {"healthcheck": {"path": "/health", "port": 9000}, "basic_auth": {"username": "admin"}}
    assert secrets == {("basic_auth", "password"): "PW"}
    resolved = _route.resolve_own_secrets(merged, secrets, lambda name, where: "s3cret", "app/web")
    assert resolved["basic_auth"] == {"username": "admin", "password_hash": HASH}
    assert "s3cret" not in json.dumps(resolved)


# --- rollouts on the proxy's files -------------------------------------------------------------------------

def test_a_rollout_is_a_dns_answer_and_a_split_file_never_a_config_load(home, fake_caddy):  # noqa: F811
    proxy.ensure_route(home, WEB)
    loads = fake_caddy.loads
    assert read(home, "split", "app-web") == ""
    with pytest.raises(proxy.ProxyError, match="has no rollout"):
        proxy.set_split(home, "app-web", 10, [])
    deployed = proxy.rollout_deploy(home, "app-web", "10.0.0.9", "app-web-v2", "v2")
    assert deployed["changed"] and deployed["after"]["percent"] == 0
    assert read(home, "dns", "app-web@rollout").endswith("10.0.0.9 app-web.rollout.live\n")
    assert read(home, "split", "app-web") == ""  # no traffic before a split is set
    planned = proxy.set_split(home, "app-web", 10, ["beta"], check_mode=True)
    assert planned["changed"] and planned["after"] == {"percent": 10, "list": ["beta"]} and read(home, "split", "app-web") == ""
    assert proxy.set_split(home, "app-web", 10, ["beta"])["changed"]
    assert read(home, "split", "app-web") == "19999999 ,beta,\n"
    assert proxy.set_split(home, "app-web", 10, ["beta"])["changed"] is False
    assert proxy.rollout(home, "app-web") == {"version": "v2", "container": "app-web-v2", "ip": "10.0.0.9",
                                              "percent": 10, "list": ["beta"]}
    assert proxy.routes(home)[0]["rollout"]["percent"] == 10
    ended = proxy.end_rollout(home, "app-web")
    assert ended["changed"] and ended["before"]["version"] == "v2"
    assert read(home, "split", "app-web") == "" and proxy.rollout(home, "app-web") is None
    assert not os.path.exists(os.path.join(home, ".kamal", "proxy", "dns", "app-web@rollout"))
    assert fake_caddy.loads == loads


def test_maintenance_covers_the_rollout_share_and_live_restores_both(home, fake_caddy):  # noqa: F811
    proxy.ensure_route(home, WEB)
    proxy.switch_live_target(home, "app-web", "10.0.0.5", container="app-web-v1")
    proxy.rollout_deploy(home, "app-web", "10.0.0.9", "app-web-v2", "v2")
    proxy.maintenance(home, "app-web", "later")
    address = json.loads(read(home, "routes", "app-web.json"))["maintenance_address"]
    assert read(home, "dns", "app-web").startswith("# kamal.deploy route app-web\n" + address)
    assert address in read(home, "dns", "app-web@rollout")
    proxy.live(home, "app-web")
    assert "10.0.0.5" in read(home, "dns", "app-web") and "10.0.0.9" in read(home, "dns", "app-web@rollout")


def test_the_live_target_cannot_be_its_own_rollout(home, fake_caddy):  # noqa: F811
    proxy.ensure_route(home, WEB)
    proxy.switch_live_target(home, "app-web", "10.0.0.5")
    with pytest.raises(proxy.ProxyError, match="is the live target"):
        proxy.rollout_deploy(home, "app-web", "10.0.0.5", "app-web-v1", "v1")


def test_basic_auth_hash_goes_to_a_0600_file_and_is_kept_when_a_command_has_no_secret(home, fake_caddy):  # noqa: F811
    route = dict(WEB, basic_auth={"username": "admin", "password_hash": HASH})
    proxy.ensure_route(home, route)
    path = os.path.join(home, ".kamal", "proxy", "auth", "app-web." + caddy.password_fingerprint(HASH))
    assert read(home, "auth", os.path.basename(path)).strip() == HASH and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert HASH not in read(home, "caddy.json") and HASH not in read(home, "routes", "app-web.json")
    kept = proxy.ensure_route(home, dict(WEB, basic_auth={"username": "admin"}))
    assert kept["changed"] is False
    with pytest.raises(proxy.ProxyError, match="no password hash on this host"):
        proxy.ensure_route(home, dict(WEB, basic_auth={"username": "root"}))
    proxy.ensure_route(home, WEB)
    assert not os.path.exists(path)


# --- taking over Kamal's kamal-proxy -------------------------------------------------------------------------

def kamal_state():
    """Two services as kamal-proxy v0.9.2 saves them (Router.saveStateSnapshot: a JSON list of marshalledService,
    durations in nanoseconds, the pause state as a number)."""
    def service(name, host, target, **extra):
        options = {"hosts": [host], "path_prefixes": ["/"], "tls_enabled": False, "tls_certificate_path": "",
                   "tls_private_key_path": "", "tls_redirect": True, "canonical_host": "", "acme_directory": "",
                   "acme_cache_path": "/home/kamal-proxy/.config/kamal-proxy/certs", "error_page_path": "",
                   "strip_prefix": True, "writer_affinity_timeout": 3000000000, "read_targets_accept_websockets": False}
        target_options = {"health_check_config": {"path": "/up", "port": 0, "interval": 1000000000,
                                                  "timeout": 5000000000, "host": ""},
                          "response_timeout": 30000000000, "buffer_requests": True, "buffer_responses": True,
                          "max_memory_buffer_size": 1000000, "max_request_body_size": 0, "max_response_body_size": 0,
                          "log_request_headers": ["Cache-Control", "Last-Modified", "User-Agent"],
                          "log_response_headers": None, "forward_headers": True, "scope_cookie_paths": False}
        entry = {"name": name, "options": options, "target_options": target_options, "active_targets": [target],
                 "active_readers": None, "rollout_targets": None, "rollout_readers": None,
                 "pause_controller": {"state": 0, "stop_message": "", "fail_after": 0}, "rollout_controller": None}
        entry.update(extra)
        return entry

    return json.dumps([service("blog-web", "blog.test", "4f3a2b1c0d9e:80"),
                       service("shop-web", "shop.test", "9e8d7c6b5a4f:3000", rollout_targets=["aaaaaaaaaaaa:3000"],
                               pause_controller={"state": 2, "stop_message": "Upgrading", "fail_after": 0})])


def test_kamal_proxys_state_becomes_our_routes():
    found = proxy.kamal_proxy_routes(kamal_state())
    assert [f["route"]["name"] for f in found] == ["blog-web", "shop-web"]
    blog = found[0]
    assert blog["target"] == "4f3a2b1c0d9e:80" and blog["container"] == "4f3a2b1c0d9e" and not blog["paused"]
    stored = caddy.normalize_route(blog["route"])
    assert stored == caddy.normalize_route({"name": "blog-web", "hosts": ["blog.test"], "forward_headers": True})
    shop = found[1]
    assert shop["route"]["app_port"] == 3000 and shop["paused"] and shop["message"] == "Upgrading"
    assert any("rollout" in note for note in shop["notes"])


def test_the_takeover_writes_routes_targets_and_answers_for_the_proxy_to_boot_with(home):  # noqa: F811
    entries = proxy.kamal_proxy_routes(kamal_state())
    entries[0]["ip"], entries[0]["container"] = "172.18.0.7", "blog-web-abc"
    entries[1]["ip"] = "172.18.0.8"
    planned = proxy.import_routes(home, entries, check_mode=True)
    assert [m["name"] for m in planned] == ["blog-web", "shop-web"]
    assert not os.path.exists(os.path.join(home, ".kamal", "proxy", "routes"))
    moved = proxy.import_routes(home, entries)
    assert [m["name"] for m in moved] == ["blog-web", "shop-web"]
    assert read(home, "targets", "blog-web.target") == "blog-web-abc 172.18.0.7\n"
    assert "172.18.0.7 blog-web.live" in read(home, "dns", "blog-web")
    shop = json.loads(read(home, "routes", "shop-web.json"))
    assert shop["maintenance_address"] in read(home, "dns", "shop-web") and "Upgrading" in read(home, "maintenance", "shop-web.html")
    assert proxy.import_routes(home, entries) == []  # routes already ours stay ours
