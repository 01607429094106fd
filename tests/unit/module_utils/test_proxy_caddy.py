"""The proxy's pure half (_caddy.py): routes in, Caddy JSON and dnsmasq files out."""
import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy as caddy
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy as proxy


def route(**kw):
    kw.setdefault("name", "app-web")
    return caddy.normalize_route(kw)


def record(r, address="127.64.0.9"):
    return {"route": r, "maintenance_address": address}


def server_routes(config, server="kamal_http"):
    return config["apps"]["http"]["servers"][server]["routes"]


def reverse_proxy(handlers):
    return next(h for h in handlers if h["handler"] == "reverse_proxy")


def test_normalize_applies_kamal_proxy_defaults():
    r = route()
    assert r == {
        "name": "app-web", "hosts": [], "path_prefixes": [], "strip_path_prefix": True, "app_port": 80,
        "tls": False, "tls_certificate": None, "ssl_redirect": True, "forward_headers": True, "response_timeout": 30,
        "buffering": {"requests": True, "responses": True, "memory": 1000000, "max_request_body": 0,
                      "max_response_body": 0},
        "healthcheck": {"path": "/up", "interval": 1, "timeout": 5},
        "log_request_headers": ["Cache-Control", "Last-Modified", "User-Agent"], "log_response_headers": [],
    }


def test_an_empty_header_list_logs_no_header_as_in_kamal():
    assert route(log_request_headers=[])["log_request_headers"] == []


def test_normalize_is_canonical_so_reordered_input_is_no_change():
    a = route(hosts=["B.example.com", "a.example.com"], path_prefixes=["/api/", "admin"])
    b = route(hosts=["a.example.com", "b.example.com"], path_prefixes=["/admin", "/api"], response_timeout=None)
    assert a == b and a["path_prefixes"] == ["/admin", "/api"]


def test_forward_headers_default_follows_tls():
    assert route(hosts=["a.test"], tls=True)["forward_headers"] is False
    assert route(hosts=["a.test"], tls=True, forward_headers=True)["forward_headers"] is True


@pytest.mark.parametrize("kw, message", [
    ({"tls": True}, "Must set a host to enable automatic SSL"),
    ({"hosts": ["a.test"], "tls_certificate_pem": "C"}, "Missing tls_private_key_pem"),
    ({"hosts": ["a.test"], "tls_private_key_pem": "K"}, "Missing tls_certificate_pem"),
    ({"app_port": 70000}, "app_port"),
    ({"buffering": {"memroy": 1}}, "buffering: unknown keys memroy"),
    ({"hots": ["a"]}, "unknown keys hots"),
    ({"name": "bad name"}, "not valid"),
])
def test_normalize_rejects_what_cannot_be_expressed_naming_the_route(kw, message):
    with pytest.raises(caddy.RouteError) as err:
        route(**kw)
    assert message in str(err.value)


def test_custom_certificate_is_stored_as_a_fingerprint_only():
    r = route(hosts=["a.test"], tls_certificate_pem="CERT", tls_private_key_pem="KEY")
    assert r["tls"] is True and "KEY" not in repr(r) and len(r["tls_certificate"]) == 64


def test_specific_routes_come_before_catch_all():
    routes = [route(name="catchall"), route(name="api", path_prefixes=["/api"]),
              route(name="deep", path_prefixes=["/api/v2"]), route(name="host", hosts=["a.test"]),
              route(name="hostapi", hosts=["a.test"], path_prefixes=["/api"])]
    assert [r["name"] for r in caddy.order_routes(routes)] == ["hostapi", "host", "deep", "api", "catchall"]
    config = caddy.build_config({}, [record(r, "127.64.0.%d" % i) for i, r in enumerate(routes, 1)])
    ids = [entry["@id"] for entry in server_routes(config)]
    assert ids == ["kamal:hostapi:http", "kamal:host:http", "kamal:deep:http", "kamal:api:http",
                   "kamal:catchall:http", "kamal:not-found"]


def test_conflicts_are_the_same_host_and_path():
    a = route(name="a", hosts=["a.test"])
    assert caddy.conflicts(route(name="b", hosts=["a.test", "b.test"]), [a]) == ["a"]
    assert caddy.conflicts(route(name="b", hosts=["a.test"], path_prefixes=["/x"]), [a]) == []
    assert caddy.conflicts(route(name="c"), [route(name="d")]) == ["d"]  # two catch-alls


def test_upstream_is_a_dns_name_resolved_by_the_local_dnsmasq():
    config = caddy.build_config({}, [record(route(app_port=3000))])
    entry = server_routes(config)[0]
    assert "match" not in entry and entry["terminal"] is True
    upstream = reverse_proxy(entry["handle"])["dynamic_upstreams"]
    # The name is the live target's, unless the route's split sends the request to its rollout target.
    assert upstream == {"source": "a", "name": "{http.vars.kamal_upstream}", "port": "3000", "refresh": "100ms",
                        "resolver": {"addresses": ["127.0.0.1:53"]}, "versions": {"ipv4": True}}
    chooser = next(h for h in entry["handle"] if h["handler"] == "vars")
    assert chooser["kamal_upstream"] == "app-web.live."
    assert chooser["kamal_split_file"] == "{file./kamal-proxy/split/app-web}"
    assert "upstreams" not in reverse_proxy(entry["handle"])


def test_path_prefixes_match_and_strip_the_prefix_that_matched():
    entry = server_routes(caddy.build_config({}, [record(route(path_prefixes=["/api", "/api/v2"]))]))[0]
    assert entry["match"] == [{"path": ["/api", "/api/*", "/api/v2", "/api/v2/*"]}]
    sub = entry["handle"][0]
    assert sub["handler"] == "subroute"
    assert [r["match"][0]["path"][0] for r in sub["routes"]] == ["/api/v2", "/api"]  # longest first
    assert sub["routes"][0]["handle"][0] == {"handler": "rewrite", "strip_path_prefix": "/api/v2"}
    kept = server_routes(caddy.build_config({}, [record(route(path_prefixes=["/api"], strip_path_prefix=False))]))[0]
    assert [handler["handler"] for handler in kept["handle"]][-1] == "reverse_proxy"
    assert "rewrite" not in str(kept["handle"])


def test_tls_route_redirects_http_and_is_served_on_443():
    config = caddy.build_config({}, [record(route(hosts=["a.test"], tls=True))])
    http = server_routes(config)[0]
    assert http["handle"] == [{"handler": "static_response", "status_code": 301,
                               "headers": {"Location": ["https://{http.request.host}{http.request.uri}"]}}]
    https = server_routes(config, "kamal_https")[0]
    assert https["match"] == [{"host": ["a.test"]}] and reverse_proxy(https["handle"])
    assert "trusted_proxies" not in reverse_proxy(https["handle"])  # TLS: X-Forwarded-* are not trusted by default
    assert config["apps"]["http"]["servers"]["kamal_https"]["automatic_https"] == {"disable_redirects": True}
    assert "tls" not in config["apps"]  # no ACME settings: Caddy's defaults


def test_tls_without_redirect_serves_http_too():
    config = caddy.build_config({}, [record(route(hosts=["a.test"], tls=True, ssl_redirect=False))])
    assert reverse_proxy(server_routes(config)[0]["handle"])


def test_no_tls_route_means_no_https_server():
    assert "kamal_https" not in caddy.build_config({}, [record(route(hosts=["a.test"]))])["apps"]["http"]["servers"]


def test_acme_settings_become_one_issuer_policy_for_acme_hosts_only():
    settings = {"acme": {"ca": "https://pebble/dir", "email": "x@y.z", "ca_root_file": "/kamal-proxy/acme/ca-1.pem"}}
    records = [record(route(name="a", hosts=["b.test", "a.test"], tls=True)),
               record(route(name="c", hosts=["c.test"], tls_certificate_pem="C", tls_private_key_pem="K"), "127.64.0.10")]
    tls = caddy.build_config(settings, records)["apps"]["tls"]
    assert tls["automation"]["policies"] == [{"subjects": ["a.test", "b.test"], "issuers": [{
        "module": "acme", "ca": "https://pebble/dir", "email": "x@y.z",
        "trusted_roots_pem_files": ["/kamal-proxy/acme/ca-1.pem"]}]}]
    loaded = tls["certificates"]["load_files"]
    assert loaded[0]["certificate"] == "/kamal-proxy/tls/c/cert.pem" and loaded[0]["key"] == "/kamal-proxy/tls/c/key.pem"


def test_a_new_custom_certificate_changes_the_config_so_caddy_reloads_it():
    def config(cert):
        r = route(hosts=["c.test"], tls_certificate_pem=cert, tls_private_key_pem="K")
        return caddy.build_config({}, [record(r)])
    assert config("C1") != config("C2")


def test_maintenance_listener_per_route_serves_the_page_file_with_503():
    config = caddy.build_config({}, [record(route(app_port=3000), "127.64.1.2")])
    server = config["apps"]["http"]["servers"]["kamal_maintenance_app-web"]
    assert server["listen"] == ["127.64.1.2:3000"] and server["automatic_https"] == {"disable": True}
    handler = server["routes"][0]["handle"][0]
    assert handler["status_code"] == 503 and handler["body"] == "{file./kamal-proxy/maintenance/app-web.html}"


def test_options_map_to_caddy():
    r = route(forward_headers=True, response_timeout=7, log_request_headers=["User-Agent"],
              log_response_headers=["Cache-Control"],
              buffering={"requests": True, "responses": False, "memory": 2048, "max_request_body": 4096})
    handlers = server_routes(caddy.build_config({}, [record(r)]))[0]["handle"]
    rp = reverse_proxy(handlers)
    assert rp["trusted_proxies"] == ["0.0.0.0/0", "::/0"]
    assert rp["transport"]["response_header_timeout"] == "7s"
    assert rp["request_buffers"] == 2048 and "response_buffers" not in rp and rp["flush_interval"] == -1
    assert {"handler": "request_body", "max_size": 4096} in handlers
    assert {"handler": "log_append", "key": "request_header.User-Agent",
            "value": "{http.request.header.User-Agent}"} in handlers
    assert {"handler": "log_append", "key": "response_header.Cache-Control",
            "value": "{http.response.header.Cache-Control}"} in handlers


def test_admin_api_is_a_unix_socket_and_unmatched_requests_get_404():
    config = caddy.build_config({"debug": True, "metrics_port": 9090}, [])
    assert config["admin"]["listen"] == "unix//kamal-proxy/run/admin.sock"
    assert config["admin"]["config"] == {"persist": False}
    assert server_routes(config)[-1]["handle"][0]["status_code"] == 404
    assert config["logging"]["logs"]["default"]["level"] == "DEBUG"
    assert config["apps"]["http"]["servers"]["kamal_metrics"]["listen"] == [":9090"]


def test_dns_file_answers_the_route_name():
    assert caddy.dns_hosts_file("app-web", "172.18.0.5") == "# kamal.deploy route app-web\n172.18.0.5 app-web.live\n"


def test_dns_names_are_valid_labels_even_for_odd_route_names():
    assert caddy.dns_name("app-web-staging") == "app-web-staging.live."
    odd = caddy.dns_name("My_App.web")
    assert odd.endswith(".live.") and odd.startswith("my-app-web-") and odd != caddy.dns_name("my-app-web")


def test_maintenance_addresses_are_stable_loopback_and_skip_taken_ones():
    first = caddy.maintenance_address("app-web")
    assert first == caddy.maintenance_address("app-web") and first.startswith("127.")
    assert int(first.split(".")[1]) >= 64
    assert caddy.maintenance_address("app-web", taken={first}) != first


def test_maintenance_page_escapes_the_message():
    assert "&lt;b&gt;" in caddy.maintenance_page("x", "<b>")
    assert caddy.DEFAULT_MAINTENANCE_MESSAGE in caddy.maintenance_page("x", None)


def test_entry_script_runs_dnsmasq_beside_caddy_from_the_saved_config():
    script = caddy.entry_script()
    assert "--hostsdir=/kamal-proxy/dns" in script and "--local=/live/" in script
    assert script.rstrip().endswith("exec caddy run --config /kamal-proxy/caddy.json")


def test_run_spec_follows_proxy_run():
    spec = proxy.run_spec("/home/deploy", "img:1", {"http_port": 8080, "https_port": 8443,
                                                    "bind_ips": ["127.0.0.1", "[::1]"], "log_max_size": "30m",
                                                    "options": {"memory": "512m", "cpus": "0.5", "label": "a=b"}})
    assert spec["ports"] == {"80/tcp": [("127.0.0.1", 8080), ("::1", 8080)],
                             "443/tcp": [("127.0.0.1", 8443), ("::1", 8443)]}
    assert spec["volumes"]["/home/deploy/.kamal/proxy"] == {"bind": "/kamal-proxy", "mode": "rw"}
    assert spec["log_config"] == {"type": "json-file", "config": {"max-size": "30m"}}
    assert spec["mem_limit"] == "512m" and spec["nano_cpus"] == 500000000
    assert spec["labels"]["a"] == "b" and spec["labels"][proxy.OWNER_LABEL] == "true"
    assert spec["network"] == "kamal" and spec["restart_policy"] == {"Name": "unless-stopped"}
    assert proxy.run_spec("/h", "img:1", {"publish": False})["ports"] == {}
    assert proxy.run_spec("/h", "img:1", {})["labels"][proxy.SPEC_LABEL] != \
        proxy.run_spec("/h", "img:2", {})["labels"][proxy.SPEC_LABEL]


@pytest.mark.parametrize("run, message", [
    ({"publish": False, "http_port": 8080}, "Cannot set http_port, https_port or bind_ips when publish is false"),
    ({"options": {"privileged": True}}, "privileged is not supported"),
    ({"htp_port": 1}, "unknown keys htp_port"),
])
def test_run_spec_errors(run, message):
    with pytest.raises(proxy.ProxyError) as err:
        proxy.run_spec("/h", "img", run)
    assert message in str(err.value)
