# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of a proxy route: its argument spec, the route it becomes, and the translation of
Kamal's deploy.yml ``proxy:`` section into it.

kamal_app (option ``proxy``), kamal_accessory (option ``proxy``) and kamal_proxy (option ``route``) take
the same suboptions, documented once per option name in ``doc_fragments/route.py``. The config model (its
validator and Proxy) reads deploy.yml's ``proxy:`` through KAMAL_KEYS and from_kamal(), and the plan turns
the result into the modules' option, so neither names a route key.

The spec carries no defaults: an unset suboption stays ``None`` and ``_caddy.normalize_route`` fills in
Kamal's default, so the defaults live in one place (``_caddy``) and every module gets the same ones.
"""

from __future__ import annotations

import base64
import copy
import hashlib

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy

# Suboptions of a route, as kamal_app has always named them (the roles pass these keys).
ROUTE_OPTIONS = dict(
    hosts=dict(type="list", elements="str"),
    path_prefixes=dict(type="list", elements="str"),
    strip_path_prefix=dict(type="bool"),
    app_port=dict(type="int"),
    tls=dict(type="bool"),
    # A certificate is not secret, but a key pasted into the wrong option would be logged: hide both.
    tls_certificate_pem=dict(type="str", no_log=True),
    tls_private_key_pem=dict(type="str", no_log=True),
    ssl_redirect=dict(type="bool"),
    forward_headers=dict(type="bool"),
    response_timeout=dict(type="int"),
    buffering=dict(type="dict", options=dict(
        requests=dict(type="bool"),
        responses=dict(type="bool"),
        memory=dict(type="int"),
        max_request_body=dict(type="int"),
        max_response_body=dict(type="int"),
    )),
    healthcheck=dict(type="dict", options=dict(
        path=dict(type="str"),
        interval=dict(type="int"),
        timeout=dict(type="int"),
        port=dict(type="int"),
    )),
    log_request_headers=dict(type="list", elements="str"),
    log_response_headers=dict(type="list", elements="str"),
    basic_auth=dict(type="dict", options=dict(
        username=dict(type="str"),
        password_hash=dict(type="str", no_log=True),
    )),
    client_ip=dict(type="dict", options=dict(
        header=dict(type="str"),
        trusted_proxies=dict(type="list", elements="str"),
    )),
)
ROUTE_KEYS = tuple(ROUTE_OPTIONS)
# What never leaves the server as it is: the keys (and nested keys) the modules do not log.
SECRET_KEYS = tuple(key for key, option in ROUTE_OPTIONS.items() if option.get("no_log"))
SECRET_SUBKEYS = tuple((key, sub) for key, option in ROUTE_OPTIONS.items()
                       for sub, nested in (option.get("options") or {}).items() if nested.get("no_log"))

# kamal_proxy names the route itself; the other modules derive the name from the service.
NAME_OPTION = dict(name=dict(type="str", required=True))

# Kamal's deploy.yml ``proxy:`` keys -> the route key each one sets (a hash of them for a nested Kamal section).
# The config model validates the section by this table (each key has the type of its route key) and translates
# it with from_kamal(); the proxy container's own ``run:`` settings are not the route's.
KAMAL_KEYS = dict(
    host="hosts",                 # one string, comma-separated
    hosts="hosts",
    app_port="app_port",
    ssl="tls",                    # true/false, or KAMAL_SSL_KEYS: a custom certificate
    ssl_redirect="ssl_redirect",
    forward_headers="forward_headers",
    response_timeout="response_timeout",
    path_prefix="path_prefixes",  # one string, comma-separated
    path_prefixes="path_prefixes",
    strip_path_prefix="strip_path_prefix",
    healthcheck="healthcheck",
    buffering="buffering",
    logging=dict(request_headers="log_request_headers", response_headers="log_response_headers"),
)
# Kamal's one-string forms of a list, split on commas, and the list form that wins over each when both are set.
KAMAL_COMMA_LISTS = dict(host="hosts", path_prefix="path_prefixes")
# ``ssl: {certificate_pem: SECRET, private_key_pem: SECRET}``: the secret that holds each route key's PEM.
KAMAL_SSL_KEYS = dict(certificate_pem="tls_certificate_pem", private_key_pem="tls_private_key_pem")

# OURS: the route settings Kamal has no key for, under ``x-kamal-deploy: proxy:`` in deploy.yml (so Kamal still
# accepts the file), for every proxied role. They have the route's own names and shape, but for the basic auth
# password, which names a secret (as Kamal's ssl keys do): the plan hashes its value (``password_hash``).
OWN_KEYS = dict(
    healthcheck=dict(port="int"),
    basic_auth=dict(username="str", password="secret"),
    client_ip=dict(header="str", trusted_proxies="list"),
)
# The proxy container's own settings under ``x-kamal-deploy: proxy: run:`` (kamal_proxy's run option).
OWN_RUN_KEYS = dict(http3="bool")


def _option(options):
    return dict(type="dict", options=copy.deepcopy(options))


def app_option_spec():
    """kamal_app's ``proxy``."""
    return _option(ROUTE_OPTIONS)


def accessory_option_spec():
    """kamal_accessory's ``proxy``: the same route (the plan makes it from the accessory's deploy.yml section)."""
    return _option(ROUTE_OPTIONS)


def named_option_spec():
    """kamal_proxy's ``route``: the route and its name."""
    return _option(dict(NAME_OPTION, **ROUTE_OPTIONS))


def route(name, option):
    """The route ``_proxy.ensure_route`` takes (``_caddy.normalize_route`` checks it and fills the defaults).

    ``option`` is a module's validated route option; unset values stay None."""
    option = option or {}
    result = {"name": name}
    for key in ROUTE_KEYS:
        result[key] = copy.deepcopy(option.get(key))  # the module's params stay untouched
    return result


def kamal_types():
    """Each Kamal key's type, in the spec's words: ``str``, ``int``, ``bool``, ``list`` (of strings), a hash of
    nested keys, or ``ssl`` (a bool, or KAMAL_SSL_KEYS naming secrets)."""

    def of(option):
        if option.get("options"):
            return {key: of(nested) for key, nested in option["options"].items()}
        return option["type"]

    types = {}
    for kamal_key, route_key in KAMAL_KEYS.items():
        if isinstance(route_key, dict):
            types[kamal_key] = {nested: of(ROUTE_OPTIONS[key]) for nested, key in route_key.items()}
        elif kamal_key in KAMAL_COMMA_LISTS:
            types[kamal_key] = "str"
        elif kamal_key == "ssl":
            types[kamal_key] = "ssl"
        else:
            types[kamal_key] = of(ROUTE_OPTIONS[route_key])
    return types


def from_kamal(proxy, to_s=str):
    """A validated deploy.yml ``proxy:`` section (root and role merged, or an accessory's) as Kamal hands it to
    kamal-proxy (``Kamal::Configuration::Proxy#deploy_options``): ``(route, ssl_secrets)``.

    The route has every route key, None where Kamal leaves the setting to the proxy; what Kamal itself always
    sets (the app port, request and response buffering, the logged request headers) has ``_caddy``'s defaults,
    the same the proxy backend fills in. The certificate keys stay unset: ``ssl_secrets`` maps Kamal's
    ``ssl`` keys (``certificate_pem``...) to the secret names, read when the plan is made. ``to_s`` turns
    a comma-separated one-string form into text (the config model passes Ruby's ``to_s``)."""
    result = dict.fromkeys(ROUTE_KEYS)
    for kamal_key, route_key in KAMAL_KEYS.items():
        value = copy.deepcopy(proxy.get(kamal_key))
        if value is None:
            continue
        if isinstance(route_key, dict):
            result.update({key: value.get(nested) for nested, key in route_key.items()})
        elif kamal_key in KAMAL_COMMA_LISTS:
            if proxy.get(KAMAL_COMMA_LISTS[kamal_key]) is None:
                result[route_key] = to_s(value).split(",")
        elif kamal_key == "ssl":
            result[route_key] = value is not False
        elif isinstance(value, list):
            result[route_key] = [str(item) for item in value]
        else:
            result[route_key] = value
    ssl = proxy.get("ssl")
    ssl_secrets = {key: ssl[key] for key in KAMAL_SSL_KEYS if ssl.get(key)} if isinstance(ssl, dict) else {}
    # What Kamal sets on every deploy when deploy.yml leaves it out (the backend's values), and the empty lists
    # and hash Kamal starts from.
    result["tls"] = bool(result["tls"])
    for key in ("hosts", "path_prefixes"):
        result[key] = result[key] or []
    result["healthcheck"] = result["healthcheck"] or {}
    if result["app_port"] is None:
        result["app_port"] = _caddy.DEFAULT_APP_PORT
    buffering = result["buffering"] = result["buffering"] or {}
    buffering.setdefault("requests", _caddy.DEFAULT_BUFFER_REQUESTS)
    buffering.setdefault("responses", _caddy.DEFAULT_BUFFER_RESPONSES)
    if result["log_request_headers"] is None:
        result["log_request_headers"] = list(_caddy.DEFAULT_LOG_REQUEST_HEADERS)
    return result, ssl_secrets


def own_types():
    """``x-kamal-deploy: proxy:``'s keys and their types (``secret``: the name of a secret), ``run`` included."""
    return dict(copy.deepcopy(OWN_KEYS), run=dict(OWN_RUN_KEYS))


def from_own(own):
    """A validated ``x-kamal-deploy: proxy:`` section -> (route settings to merge into each proxied role's route,
    {(key, subkey): secret name} for the values the plan reads from the secrets)."""
    settings, secrets = {}, {}
    for key, nested in OWN_KEYS.items():
        given = (own or {}).get(key)
        if not given:
            continue
        for sub, kind in nested.items():
            if given.get(sub) is None:
                continue
            if kind == "secret":
                secrets[(key, sub)] = str(given[sub])
            else:
                value = given[sub]
                settings.setdefault(key, {})[sub] = [str(v) for v in value] if kind == "list" else value
    return settings, secrets


def merge_own(route, settings):
    """The route with ``from_own``'s settings merged in (a nested key at a time: Kamal's healthcheck keeps its path)."""
    merged = copy.deepcopy(route)
    for key, nested in settings.items():
        merged[key] = dict(merged.get(key) or {}, **nested)
    return merged


def resolve_own_secrets(route, secrets, value_of, salt):
    """The route with each ``(key, subkey)`` secret of ``from_own`` resolved by ``value_of(name, where)``: the basic
    auth password becomes ``password_hash`` (argon2id, salted with ``salt`` and the user: the same password gives
    the same hash on every run, so an unchanged route stays unchanged)."""
    resolved = copy.deepcopy(route)
    for (key, sub), name in secrets.items():
        value = value_of(name, "x-kamal-deploy/proxy/%s/%s" % (key, sub))
        if (key, sub) == ("basic_auth", "password"):
            auth = resolved.setdefault("basic_auth", {})
            auth["password_hash"] = password_hash(value, "%s/%s" % (salt, auth.get("username")))
    return resolved


# Caddy's default argon2id cost (caddy hash-password --algorithm argon2id).
ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_LANES, ARGON2_LENGTH = 47104, 1, 1, 32


def password_hash(password, salt_text):
    """An argon2id hash in the PHC form Caddy's http_basic reads, made on the controller (the password itself never
    reaches a server). Needs the Python ``cryptography`` package 44 or later, which ansible-core installs."""
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ValueError("basic_auth: hashing the password needs the Python package cryptography 44 or later on the "
                         "controller (pip install 'cryptography>=44')") from None
    salt = hashlib.sha256(("kamal.deploy basic_auth\0" + salt_text).encode("utf-8")).digest()[:16]
    key = Argon2id(salt=salt, length=ARGON2_LENGTH, iterations=ARGON2_TIME, lanes=ARGON2_LANES,
                   memory_cost=ARGON2_MEMORY_KIB).derive(str(password).encode("utf-8"))

    def b64(data):
        return base64.b64encode(data).decode("ascii").rstrip("=")

    return "$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s" % (ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_LANES, b64(salt), b64(key))


def tls_hosts(route):
    """The host names a route serves over HTTPS (none without TLS): Kamal's SSL checks are about these."""
    return list(route["hosts"] or []) if route["tls"] else []


def public(route):
    """The route with its secrets as digests (``sha256:<16 hex>``): for labels and diffs, which anyone may read."""
    def digest(value):
        return "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:16]

    shown = dict(route)
    for key in SECRET_KEYS:
        if shown.get(key):
            shown[key] = digest(shown[key])
    for key, sub in SECRET_SUBKEYS:
        if isinstance(shown.get(key), dict) and shown[key].get(sub):
            shown[key] = dict(shown[key], **{sub: digest(shown[key][sub])})
    return shown
