"""Kamal's deploy.yml ``proxy:`` section -> the route (_route.KAMAL_KEYS and from_kamal), for every proxy shape the
project's corpus has (tests/fixtures/configs, demo/, ../shared/seed-deploy-example.yml, the lab's and the
integration tests' configs), and what the config model and the plan make of it."""
import os
import re
import shutil

import pytest
import yaml

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy, _route
from ansible_collections.kamal.deploy.plugins.plugin_utils import plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.config import load_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._model import Proxy

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CORPUS = os.path.join(REPO, "tests", "fixtures", "configs")
DEMO = os.path.join(REPO, "demo", "config", "deploy.yml")
SEED = os.path.join(os.path.dirname(REPO), "shared", "seed-deploy-example.yml")

# What Kamal passes kamal-proxy for an empty section (Kamal::Configuration::Proxy#deploy_options): the app port,
# buffering and the logged request headers are Kamal's; everything else is left to the proxy (None).
NOTHING_SET = {
    "hosts": [], "path_prefixes": [], "strip_path_prefix": None, "app_port": 80, "tls": False,
    "tls_certificate_pem": None, "tls_private_key_pem": None, "ssl_redirect": None, "forward_headers": None,
    "response_timeout": None, "buffering": {"requests": True, "responses": True}, "healthcheck": {},
    "log_request_headers": ["Cache-Control", "Last-Modified", "User-Agent"], "log_response_headers": None,
    "basic_auth": None, "client_ip": None,
}

# (where the shape is, deploy.yml's effective proxy section, the route keys it sets, the certificate's secrets)
SHAPES = [
    ("01_minimal and most of the corpus (no proxy section)", {}, {}, {}),
    ("05_two_roles_one_host api, tests/lab/project.py, bench/vs_kamal.py",
     {"host": "api.example.com", "app_port": 3000}, {"hosts": ["api.example.com"], "app_port": 3000}, {}),
    ("08_proxy_ssl", {
        "ssl": True, "host": "app.example.com", "app_port": 3000, "forward_headers": True, "response_timeout": 10,
        "healthcheck": {"interval": 3, "path": "/health", "timeout": 3},
        "buffering": {"requests": True, "responses": False, "memory": 2000000, "max_request_body": 40000000,
                      "max_response_body": 0},
        "logging": {"request_headers": ["Cache-Control", "X-Forwarded-Proto"], "response_headers": ["X-Request-ID"]},
    }, {
        "hosts": ["app.example.com"], "app_port": 3000, "tls": True, "forward_headers": True, "response_timeout": 10,
        "healthcheck": {"interval": 3, "path": "/health", "timeout": 3},
        "buffering": {"requests": True, "responses": False, "memory": 2000000, "max_request_body": 40000000,
                      "max_response_body": 0},
        "log_request_headers": ["Cache-Control", "X-Forwarded-Proto"], "log_response_headers": ["X-Request-ID"],
    }, {}),
    ("09_proxy_hosts_custom_certs", {
        "hosts": ["a.example.com", "b.example.com"], "path_prefixes": ["/api", "/oauth"], "strip_path_prefix": False,
        "ssl_redirect": False, "ssl": {"certificate_pem": "CERT_PEM", "private_key_pem": "KEY_PEM"},
    }, {
        "hosts": ["a.example.com", "b.example.com"], "path_prefixes": ["/api", "/oauth"], "strip_path_prefix": False,
        "ssl_redirect": False, "tls": True,
    }, {"certificate_pem": "CERT_PEM", "private_key_pem": "KEY_PEM"}),
    ("10_proxy_roles web and web_tokyo", {"path_prefix": "/api,/admin", "response_timeout": 10},
     {"path_prefixes": ["/api", "/admin"], "response_timeout": 10}, {}),
    ("10_proxy_roles web2", {"path_prefix": "/api,/admin", "response_timeout": 15},
     {"path_prefixes": ["/api", "/admin"], "response_timeout": 15}, {}),
    ("11_proxy_run (run is the proxy container's, not the route's)", {"run": {
        "bind_ips": ["0.0.0.0", "::1"], "debug": True, "http_port": 8080, "https_port": 8443, "log_max_size": "30m",
        "metrics_port": 9090, "options": {"label": ["custom.label=kamal-proxy"], "memory": "512m"},
        "registry": "registry:4443", "repository": "myrepo/kamal-proxy", "version": "v0.9.3"}}, {}, {}),
    ("26_accessory_paths_hash mysql", {"host": "db.example.com", "app_port": 8080},
     {"hosts": ["db.example.com"], "app_port": 8080}, {}),
    ("30_proxy_accessory_only_run web", {"host": "app.example.com"}, {"hosts": ["app.example.com"]}, {}),
    ("30_proxy_accessory_only_run traefik", {"host": "traefik.example.com", "run": {"publish": False}},
     {"hosts": ["traefik.example.com"]}, {}),
    ("demo/config/deploy.yml", {"ssl": True, "host": "demo.lab.test", "app_port": 8080, "forward_headers": True,
                                "healthcheck": {"path": "/up"}},
     {"hosts": ["demo.lab.test"], "app_port": 8080, "tls": True, "forward_headers": True, "healthcheck": {"path": "/up"}}, {}),
    ("seed-deploy-example.yml", {"ssl": True, "host": "shop.example.test", "app_port": 8080, "forward_headers": True},
     {"hosts": ["shop.example.test"], "app_port": 8080, "tls": True, "forward_headers": True}, {}),
    ("tests/integration/test_tls.py", {"host": "tls.lab.test", "app_port": 80, "ssl": True},
     {"hosts": ["tls.lab.test"], "tls": True}, {}),
    ("tests/integration/test_accessory_tls.py",
     {"host": "admin.lab.test", "app_port": 80, "ssl": {"certificate_pem": "ADMIN_CERT", "private_key_pem": "ADMIN_KEY"}},
     {"hosts": ["admin.lab.test"], "tls": True}, {"certificate_pem": "ADMIN_CERT", "private_key_pem": "ADMIN_KEY"}),
    ("tests/unit/plugin_utils/test_plan.py web", {
        "hosts": ["a.test", "b.test"], "path_prefix": "/api", "strip_path_prefix": False, "ssl_redirect": False,
        "response_timeout": 9, "ssl": {"certificate_pem": "WEB_CERT", "private_key_pem": "WEB_KEY"},
        "healthcheck": {"path": "/health", "interval": 2},
        "logging": {"request_headers": ["X-Req"], "response_headers": ["X-Resp"]},
    }, {
        "hosts": ["a.test", "b.test"], "path_prefixes": ["/api"], "strip_path_prefix": False, "ssl_redirect": False,
        "response_timeout": 9, "tls": True, "healthcheck": {"path": "/health", "interval": 2},
        "log_request_headers": ["X-Req"], "log_response_headers": ["X-Resp"],
    }, {"certificate_pem": "WEB_CERT", "private_key_pem": "WEB_KEY"}),
    # Shapes no config of the corpus has, each a rule of Kamal's.
    ("ssl: false", {"host": "a.test", "ssl": False}, {"hosts": ["a.test"]}, {}),
    ("an empty list of request headers logs none", {"logging": {"request_headers": []}}, {"log_request_headers": []}, {}),
    ("buffering given in part keeps Kamal's request and response buffering",
     {"buffering": {"memory": 5, "responses": False}}, {"buffering": {"memory": 5, "requests": True, "responses": False}}, {}),
    ("the list form wins over the one-string form", {"path_prefix": "/a,/b", "path_prefixes": ["/c"]},
     {"path_prefixes": ["/c"]}, {}),
    ("numbers in a host list are host names", {"hosts": [1, "b.test"]}, {"hosts": ["1", "b.test"]}, {}),
]
IDS = [shape[0] for shape in SHAPES]


@pytest.mark.parametrize("where, section, route_settings, ssl_secrets", SHAPES, ids=IDS)
def test_a_proxy_section_is_the_route_kamal_hands_the_proxy(where, section, route_settings, ssl_secrets):
    route, secrets = _route.from_kamal(section)
    assert route == dict(NOTHING_SET, **route_settings)
    assert secrets == ssl_secrets


@pytest.mark.parametrize("where, section, route_settings, ssl_secrets", SHAPES, ids=IDS)
def test_the_model_keeps_the_route_and_the_certificates_secret_names(where, section, route_settings, ssl_secrets):
    proxy = Proxy.from_config(section)
    assert proxy.route == dict(NOTHING_SET, **route_settings)
    assert proxy.ssl_secrets == ssl_secrets
    assert proxy.raw == section
    assert proxy.tls_hosts == (proxy.route["hosts"] if proxy.route["tls"] else [])


@pytest.mark.parametrize("where, section, route_settings, ssl_secrets", SHAPES, ids=IDS)
def test_the_plan_passes_the_set_route_keys_and_the_certificate_itself(where, section, route_settings, ssl_secrets):
    secrets = {name: "PEM of %s" % name for name in ssl_secrets.values()}
    option = plan.route(Proxy.from_config(section).to_dict(), secrets, "servers/web")
    expected = {key: value for key, value in dict(NOTHING_SET, **route_settings).items() if value is not None}
    expected.update({_route.KAMAL_SSL_KEYS[key]: "PEM of %s" % name for key, name in ssl_secrets.items()})
    assert option == expected
    assert "ssl" not in option and set(option) <= set(_route.ROUTE_KEYS)


def test_a_command_without_secrets_routes_without_the_certificate():
    proxy = Proxy.from_config({"host": "a.test", "ssl": {"certificate_pem": "C", "private_key_pem": "K"}}).to_dict()
    assert plan.route(proxy, {}, "accessories/admin", unresolved_ok=True) == dict(
        {key: value for key, value in NOTHING_SET.items() if value is not None}, hosts=["a.test"], tls=True)
    with pytest.raises(plan.PlanError, match="accessories/admin/proxy/ssl/certificate_pem: the secret C has no value"):
        plan.route(proxy, {}, "accessories/admin")


def test_kamal_fills_what_the_proxy_backend_fills_so_there_is_one_set_of_defaults():
    route, _secrets = _route.from_kamal({})
    stored = _caddy.normalize_route(dict(route, name="app-web"))
    bare = _caddy.normalize_route({"name": "app-web"})
    assert stored == bare


def test_the_proxy_backend_knows_the_keys_of_the_spec():
    assert _caddy.ROUTE_KEYS == ("name",) + _route.ROUTE_KEYS


def test_every_route_key_has_a_kamal_key_or_one_of_ours_and_every_kamal_key_a_type():
    set_by_kamal = set(_route.KAMAL_SSL_KEYS.values())
    for route_key in _route.KAMAL_KEYS.values():
        set_by_kamal |= set(route_key.values()) if isinstance(route_key, dict) else {route_key}
    # x-kamal-deploy's proxy keys are the route's own names (healthcheck's port goes into Kamal's healthcheck).
    assert set_by_kamal | set(_route.OWN_KEYS) == set(_route.ROUTE_KEYS)
    for key, nested in _route.OWN_KEYS.items():
        spec = _route.ROUTE_OPTIONS[key]["options"]
        assert set(nested) - {"password"} <= set(spec), key
    assert set(_route.kamal_types()) == set(_route.KAMAL_KEYS)
    assert set(_route.KAMAL_COMMA_LISTS) | set(_route.KAMAL_COMMA_LISTS.values()) <= set(_route.KAMAL_KEYS)


# --- the table has every shape the corpus has ---------------------------------------------------------------

def _stem(name):
    return name[:-len(".yml.erb")] if name.endswith(".yml.erb") else name[:-len(".yml")]


def _corpus_configs(tmp_path):
    """(name, loaded config) for each corpus file and each destination its x-oracle key lists, demo and seed."""
    for name in sorted(os.listdir(CORPUS)):
        if not name.endswith((".yml", ".yml.erb")) or "." in _stem(name):
            continue
        with open(os.path.join(CORPUS, name), encoding="utf-8") as handle:
            meta = yaml.safe_load(re.sub(r"<%.*?%>", "", handle.read(), flags=re.S)).get("x-oracle") or {}
        project = tmp_path / _stem(name)
        (project / "config").mkdir(parents=True)
        for file in os.listdir(CORPUS):
            if file == name:
                shutil.copy(os.path.join(CORPUS, file), project / "config" / "deploy.yml")
            elif file.startswith(_stem(name) + ".") and file.count(".") == 2:
                shutil.copy(os.path.join(CORPUS, file), project / "config" / ("deploy.%s.yml" % file.split(".")[1]))
        for destination in ([] if meta.get("no_plain") else [None]) + list(meta.get("destinations") or []):
            yield name, load_config(str(project / "config" / "deploy.yml"), destination=destination, version="v1",
                                    environ=meta.get("env") or {}, project_dir=str(project))
    for path in (DEMO, SEED):
        if os.path.exists(path):  # ../shared is there in the project's worktrees, not in a clean clone
            yield path, load_config(path, version="v1", environ={}, project_dir=os.path.dirname(os.path.dirname(path)))


def test_the_table_has_every_proxy_shape_of_the_corpus(tmp_path):
    sections = [section for _where, section, _route_settings, _secrets in SHAPES]
    missing = []
    for name, config in _corpus_configs(tmp_path):
        for owner in list(config.roles) + list(config.accessories):
            if owner.proxy and owner.proxy.raw not in sections:
                missing.append((name, owner.name, owner.proxy.raw))
    assert not missing, missing
