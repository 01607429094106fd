"""One definition of a proxy route (_route.py): the spec every module validates with, the route it becomes,
the same defaults everywhere, secrets never logged, and docs that match the spec."""
import importlib

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kamal.deploy.plugins.doc_fragments.route import ModuleDocFragment
from ansible_collections.kamal.deploy.plugins.module_utils import _accessory, _app, _caddy, _route
from ansible_collections.kamal.deploy.plugins.plugin_utils import plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._model import Proxy

SPECS = {
    "kamal_app": ("proxy", _route.app_option_spec()),
    "kamal_accessory": ("proxy", _route.accessory_option_spec()),
    "kamal_proxy": ("route", _route.named_option_spec()),
}
NAME = "app-web"


def validate(spec, value):
    return ArgumentSpecValidator({"route": spec}).validate({"route": value})


def normalized(spec, value):
    """What the proxy backend stores for ``value`` passed through a module's option ``spec``."""
    result = validate(spec, value)
    assert not result.error_messages, result.error_messages
    return _caddy.normalize_route(_route.route(NAME, result.validated_parameters["route"]))


DEFAULTS = {
    "name": NAME, "hosts": [], "path_prefixes": [], "strip_path_prefix": True, "app_port": 80, "tls": False,
    "tls_certificate": None, "ssl_redirect": True, "forward_headers": True, "response_timeout": 30,
    "buffering": {"requests": True, "responses": True, "memory": 1000000, "max_request_body": 0,
                  "max_response_body": 0},
    "healthcheck": {"path": "/up", "interval": 1, "timeout": 5},
    "log_request_headers": ["Cache-Control", "Last-Modified", "User-Agent"], "log_response_headers": [],
}

# Valid routes as the roles pass them, and what the proxy backend made of them before the spec was shared
# (kamal_app's argspec, then RoleSpec.route, then _caddy.normalize_route).
VALID = [
    ({}, {}),
    ({"hosts": ["App.Example.com."], "app_port": "3000"}, {"hosts": ["app.example.com"], "app_port": 3000}),
    ({"path_prefixes": ["api", "/v2/"], "strip_path_prefix": "no"},
     {"path_prefixes": ["/api", "/v2"], "strip_path_prefix": False}),
    ({"hosts": ["a.example.com"], "tls": True, "ssl_redirect": False},
     {"hosts": ["a.example.com"], "tls": True, "ssl_redirect": False, "forward_headers": False}),
    ({"hosts": ["a.example.com"], "tls_certificate_pem": "CERT", "tls_private_key_pem": "KEY"},
     {"hosts": ["a.example.com"], "tls": True, "forward_headers": False,
      "tls_certificate": _caddy.pem_fingerprint("CERT", "KEY")}),
    ({"forward_headers": False, "response_timeout": 15}, {"forward_headers": False, "response_timeout": 15}),
    ({"buffering": {"requests": False, "memory": 2048, "max_request_body": 10}},
     {"buffering": {"requests": False, "responses": True, "memory": 2048, "max_request_body": 10,
                    "max_response_body": 0}}),
    ({"healthcheck": {"path": "/health", "interval": 2}},
     {"healthcheck": {"path": "/health", "interval": 2, "timeout": 5}}),
    ({"log_request_headers": ["User-Agent"], "log_response_headers": "X-Runtime,Cache-Control"},
     {"log_request_headers": ["User-Agent"], "log_response_headers": ["X-Runtime", "Cache-Control"]}),
]


@pytest.mark.parametrize("module", sorted(SPECS))
@pytest.mark.parametrize("value, expected", VALID)
def test_valid_routes_are_stored_as_before_by_every_module(module, value, expected):
    spec = SPECS[module][1]
    if module == "kamal_proxy":
        value = dict(value, name=NAME)
    assert normalized(spec, value) == dict(DEFAULTS, **expected)


@pytest.mark.parametrize("value, error", [
    ({"app_port": "eighty"}, "app_port"),
    ({"tls": "maybe"}, "tls"),
    ({"hosts": {"a": 1}}, "hosts"),
    ({"buffering": {"requests": "sometimes"}}, "requests"),
    ({"buffering": {"spill": True}}, "spill"),
    ({"healthcheck": {"interval": "soon"}}, "interval"),
    ({"hostz": ["a.example.com"]}, "hostz"),
])
@pytest.mark.parametrize("module", sorted(SPECS))
def test_a_bad_route_is_rejected_by_the_argspec_naming_the_key(module, value, error):
    spec = SPECS[module][1]
    if module == "kamal_proxy":
        value = dict(value, name=NAME)
    messages = validate(spec, value).error_messages
    assert messages and error in " ".join(messages)


def test_kamal_proxy_needs_the_route_name():
    assert "name" in " ".join(validate(_route.named_option_spec(), {"hosts": ["a.example.com"]}).error_messages)


def _defaults(options):
    found = {}
    for key, option in options.items():
        if "default" in option:
            found[key] = option["default"]
        found.update(_defaults(option.get("options") or {}))
    return found


@pytest.mark.parametrize("module", sorted(SPECS))
def test_the_argspec_carries_no_defaults_so_the_proxy_backend_fills_the_same_ones_for_every_module(module):
    spec = SPECS[module][1]
    assert _defaults(spec["options"]) == {}
    value = {"name": NAME} if module == "kamal_proxy" else {}
    assert normalized(spec, value) == DEFAULTS


def module_argument_spec(name, monkeypatch):
    """The argument_spec a module's main() really builds (AnsibleModule is stopped right there)."""
    module = importlib.import_module("ansible_collections.kamal.deploy.plugins.modules." + name)

    class Captured(Exception):
        pass

    def capture(argument_spec, **kwargs):
        raise Captured(argument_spec)

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(Captured) as caught:
        module.main()
    return caught.value.args[0]


@pytest.mark.parametrize("module", sorted(SPECS))
def test_certificate_and_key_are_no_log_in_every_module(module, monkeypatch):
    option, expected = SPECS[module]
    spec = module_argument_spec(module, monkeypatch)[option]
    assert spec == expected
    assert spec["options"]["tls_certificate_pem"]["no_log"] is True
    assert spec["options"]["tls_private_key_pem"]["no_log"] is True
    value = {"tls_certificate_pem": "CERT-PEM", "tls_private_key_pem": "KEY-PEM", "hosts": ["a.example.com"]}
    if module == "kamal_proxy":
        value["name"] = NAME
    result = ArgumentSpecValidator({option: spec}).validate({option: value})
    assert {"CERT-PEM", "KEY-PEM"} <= result._no_log_values  # pylint: disable=protected-access


def test_the_accessory_takes_the_route_the_plan_makes_from_its_proxy_section(tmp_path):
    settings = Proxy.from_config({"host": "db.example.test", "app_port": 8080, "ssl": True,
                                  "healthcheck": {"path": "/ready"}, "response_timeout": 12,
                                  "run": {"publish": False}}).to_dict()
    result = validate(_route.accessory_option_spec(), plan.route(settings, {}, "accessories/db"))
    assert not result.error_messages, result.error_messages
    params = {"service": "shop", "name": "web", "image": "nginx:1", "home": str(tmp_path),
              "proxy": result.validated_parameters["route"]}
    route = _accessory.AccessorySpec(params, environ={}).route()
    assert set(route) == {"name"} | set(_route.ROUTE_KEYS)
    stored = _caddy.normalize_route(route)
    assert stored == dict(DEFAULTS, name="shop-web", hosts=["db.example.test"], app_port=8080, tls=True,
                          forward_headers=False, response_timeout=12,
                          healthcheck={"path": "/ready", "interval": 1, "timeout": 5},
                          log_request_headers=["Cache-Control", "Last-Modified", "User-Agent"])


@pytest.mark.parametrize("key", ["ssl", "ssl_certificate_pem", "ssl_private_key_pem", "custom_ssl_certificate", "run", "raw"])
def test_the_accessory_takes_the_plain_route_and_no_config_model_key(key):
    assert _route.accessory_option_spec() == _route.app_option_spec()
    messages = validate(_route.accessory_option_spec(), {key: None}).error_messages
    assert messages and key in " ".join(messages)


def test_app_and_accessory_build_their_route_with_the_one_helper():
    proxy = {"hosts": ["a.example.com"], "app_port": 3000, "tls": None}
    app = _app.RoleSpec({"service": "app", "role": "web", "proxy": proxy}, environ={}).route()
    accessory = _accessory.AccessorySpec({"service": "app", "name": "web", "image": "x:1", "proxy": proxy},
                                         environ={}).route()
    assert app == accessory == _route.route("app-web", proxy)


# --- the doc fragment documents the spec --------------------------------------------------------------

def _shape(options, nested):
    """What validate-modules compares between docs and argspec; ``nested`` names the suboptions
    (``suboptions`` in docs, ``options`` in a spec)."""
    shape = {}
    for key, option in options.items():
        entry = {"type": option.get("type", "str")}
        for part in ("elements", "required", "default"):
            if part in option:
                entry[part] = option[part]
        if option.get(nested):
            entry["options"] = _shape(option[nested], nested)
        shape[key] = entry
    return shape


@pytest.mark.parametrize("section, module", [("DOCUMENTATION", "kamal_app"), ("ACCESSORY", "kamal_accessory"),
                                             ("NAMED", "kamal_proxy")])
def test_each_fragment_section_documents_its_modules_spec(section, module):
    option, spec = SPECS[module]
    documented = yaml.safe_load(getattr(ModuleDocFragment, section))["options"]
    assert list(documented) == [option]
    assert _shape(documented[option]["suboptions"], "suboptions") == _shape(spec["options"], "options")


def test_the_route_suboptions_read_the_same_in_every_section():
    names = ("DOCUMENTATION", "ACCESSORY", "NAMED")
    sections = [yaml.safe_load(getattr(ModuleDocFragment, name))["options"] for name in names]
    suboptions = [list(options.values())[0]["suboptions"] for options in sections]
    route_docs = [dict((k, v) for k, v in subs.items() if k in _route.ROUTE_KEYS) for subs in suboptions]
    assert route_docs[0] == route_docs[1] == route_docs[2]
    assert list(route_docs[0]) == list(_route.ROUTE_KEYS)


@pytest.mark.parametrize("path, default", [
    (["app_port"], _caddy.DEFAULT_APP_PORT),
    (["response_timeout"], _caddy.DEFAULT_RESPONSE_TIMEOUT),
    (["buffering", "memory"], _caddy.DEFAULT_BUFFER_MEMORY),
    (["healthcheck", "path"], "C(%s)" % _caddy.DEFAULT_HEALTHCHECK["path"]),
    (["healthcheck", "interval"], _caddy.DEFAULT_HEALTHCHECK["interval"]),
    (["healthcheck", "timeout"], _caddy.DEFAULT_HEALTHCHECK["timeout"]),
    (["log_request_headers"], "C(%s), C(%s) and C(%s)" % _caddy.DEFAULT_LOG_REQUEST_HEADERS),
])
def test_the_documented_unset_values_are_the_proxy_backends_defaults(path, default):
    option = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["proxy"]
    for key in path:
        option = option["suboptions"][key]
    description = option["description"]
    assert "Unset means %s" % default in (" ".join(description) if isinstance(description, list) else description)


def test_the_public_route_shows_secrets_only_as_digests_of_the_no_log_keys():
    assert _route.SECRET_KEYS == ("tls_certificate_pem", "tls_private_key_pem")
    route = _route.route(NAME, {"hosts": ["a.example.com"], "tls_certificate_pem": "CERT", "tls_private_key_pem": "KEY"})
    shown = _route.public(route)
    assert "CERT" not in repr(shown) and "KEY" not in repr(shown)
    assert shown["tls_certificate_pem"].startswith("sha256:") and shown["hosts"] == ["a.example.com"]
    assert _route.public(_route.route(NAME, {"tls_private_key_pem": "OTHER"})) != _route.public(
        _route.route(NAME, {"tls_private_key_pem": "KEY"}))
    assert route["tls_private_key_pem"] == "KEY"  # the route itself is untouched: the proxy needs the PEMs
