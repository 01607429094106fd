# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind kamal.deploy's proxy: routes in, Caddy JSON and dnsmasq files out.

No I/O here (``_proxy.py`` reads and writes the files and talks to Caddy), so every rule can be unit
tested. The design (see ``docs/dev/proxy-contract.md``):

- Each route's ``reverse_proxy`` upstream is ``dynamic_upstreams`` of type ``a`` for a DNS name that
  only this route uses (``<route>.live.``), answered by the dnsmasq running next to Caddy in the proxy
  container. A deploy switches traffic by changing that answer; Caddy's config never changes for it, so
  no reload can lose a request.
- Each route also gets a tiny Caddy server on a loopback address of its own, on the route's app port,
  answering 503 with the body of a file the module writes: maintenance mode points the route's name at
  that address. That too needs no reload.
- A canary rollout is the same trick twice: the route's rollout target has a DNS name of its own
  (``<route>.rollout.live.``), and which requests go there is read from a file at every request
  (``split/<route>``: a threshold for the proxy's random ``kamal-split`` cookie and the ``kamal-rollout``
  cookie values always sent to the rollout). Booting a rollout, changing its split and stopping it write
  files and DNS answers; Caddy's config stays the same.
- Caddy's config changes only when a route itself changes (hosts, paths, TLS, options).
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import re

CONTAINER_DIR = "/kamal-proxy"
ADMIN_SOCKET = CONTAINER_DIR + "/run/admin.sock"
ADMIN_ORIGIN = "localhost"
DNS_DIR = CONTAINER_DIR + "/dns"
SPLIT_DIR = CONTAINER_DIR + "/split"
AUTH_DIR = CONTAINER_DIR + "/auth"
DNS_SUFFIX = "live"
ROLLOUT_LABEL = "rollout"
# A route's rollout target: its own DNS name and target file, under this suffix of the route name ('@' is never in
# a route name, so no route can clash with another's rollout).
ROLLOUT_SUFFIX = "@rollout"
# kamal-proxy's cookie (its rollout --list values) and ours: a random value the proxy gives each client, compared
# with the split's threshold, so a client stays on its side while the split does not change.
ROLLOUT_COOKIE = "kamal-rollout"
SPLIT_COOKIE = "kamal-split"
SPLIT_COOKIE_MAX_AGE = 30 * 24 * 3600
DNS_RESOLVER = "127.0.0.1:53"
REFRESH_MS = 100
ACCESS_LOGGER = "kamal_access"

# The one set of route defaults: what an unset key of a route means, whichever module or deploy.yml it came from.
DEFAULT_APP_PORT = 80
DEFAULT_RESPONSE_TIMEOUT = 30
# Kamal buffers requests and responses unless deploy.yml says otherwise (kamal-proxy's own default is not to).
DEFAULT_BUFFER_REQUESTS = True
DEFAULT_BUFFER_RESPONSES = True
DEFAULT_BUFFER_MEMORY = 1000000
DEFAULT_HEALTHCHECK = {"path": "/up", "interval": 1, "timeout": 5}
# Kamal logs these request headers unless deploy.yml lists its own (an empty list logs none).
DEFAULT_LOG_REQUEST_HEADERS = ("Cache-Control", "Last-Modified", "User-Agent")
DEFAULT_MAINTENANCE_MESSAGE = "The service is temporarily unavailable for maintenance."

ROUTE_KEYS = (
    "name", "hosts", "path_prefixes", "strip_path_prefix", "app_port", "tls", "tls_certificate_pem",
    "tls_private_key_pem", "ssl_redirect", "forward_headers", "response_timeout", "buffering", "healthcheck",
    "log_request_headers", "log_response_headers", "basic_auth", "client_ip",
)
# Keys kamal_app may pass along that are not the proxy's business (the deploy gate uses them).
IGNORED_ROUTE_KEYS = ("deploy_timeout", "drain_timeout", "error_pages_path", "service", "role", "destination",
                      "host", "path_prefix")
BUFFERING_KEYS = ("requests", "responses", "memory", "max_request_body", "max_response_body")
HEALTHCHECK_KEYS = ("path", "interval", "timeout", "port")
BASIC_AUTH_KEYS = ("username", "password_hash")
CLIENT_IP_KEYS = ("header", "trusted_proxies")
# Caddy's http_basic hashes; the plan makes argon2id ones (``_route.password_hash``).
PASSWORD_HASH_RE = re.compile(r"^\$(argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|2[aby]\$\d\d\$[./A-Za-z0-9]{53})$")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_HEADER_VALUE_RE = re.compile(r"^[^\x00-\x1f\x7f]+$")
_COOKIE_VALUE_RE = re.compile(r"^[!#-+\--:<-\[\]-~]+$")  # RFC 6265 cookie-octets, minus ',' (the list separator)


class RouteError(ValueError):
    """A route that cannot be expressed; the message names the route and the key."""


# --- routes ---------------------------------------------------------------------------------------

def _bool(value, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
        return False
    raise RouteError("expected a boolean, got %r" % (value,))


def _int(value, default, what, minimum=0):
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RouteError("%s must be an integer, got %r" % (what, value))
    if number < minimum:
        raise RouteError("%s must be >= %d, got %d" % (what, minimum, number))
    return number


def _list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


def pem_fingerprint(*pems):
    digest = hashlib.sha256()
    for pem in pems:
        digest.update((pem or "").encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def normalize_route(route):
    """The route in one canonical form (defaults applied, lists sorted, secrets replaced by a hash).

    The stored form is what later runs compare against, so ``changed`` comes from one comparison.
    Raises RouteError naming the route and the key."""
    if not isinstance(route, dict):
        raise RouteError("a route must be a dict, got %r" % (route,))
    name = route.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RouteError("route name %r is not valid: use letters, digits, '-', '_' and '.'" % (name,))
    unknown = sorted(set(route) - set(ROUTE_KEYS) - set(IGNORED_ROUTE_KEYS))
    if unknown:
        raise RouteError("route %s: unknown keys %s (known: %s)" % (name, ", ".join(unknown), ", ".join(ROUTE_KEYS)))
    try:
        return _normalize(name, route)
    except RouteError as exc:
        if str(exc).startswith("route "):
            raise
        raise RouteError("route %s: %s" % (name, exc))


def _normalize(name, route):
    hosts = sorted(set(h.lower().rstrip(".") for h in _list(route.get("hosts")) + _list(route.get("host"))))
    for host in hosts:
        if "/" in host or " " in host or host.startswith("*") and not host.startswith("*."):
            raise RouteError("hosts: %r is not a host name" % host)
    prefixes = set()
    for prefix in _list(route.get("path_prefixes")) + _list(route.get("path_prefix")):
        if not prefix.startswith("/"):
            prefix = "/" + prefix
        prefix = prefix.rstrip("/")
        if prefix:  # "/" is every path: no prefix at all
            prefixes.add(prefix)
    cert, key = route.get("tls_certificate_pem"), route.get("tls_private_key_pem")
    if bool(cert) != bool(key):
        raise RouteError("Missing %s (required when %s is present)" % (
            ("tls_private_key_pem", "tls_certificate_pem") if cert else ("tls_certificate_pem", "tls_private_key_pem")))
    tls = _bool(route.get("tls"), False) or bool(cert)
    if tls and not hosts:
        raise RouteError("Must set a host to enable automatic SSL" if not cert else "TLS needs at least one host")
    buffering = dict(route.get("buffering") or {})
    unknown = sorted(set(buffering) - set(BUFFERING_KEYS))
    if unknown:
        raise RouteError("buffering: unknown keys %s" % ", ".join(unknown))
    healthcheck = dict(route.get("healthcheck") or {})
    unknown = sorted(set(healthcheck) - set(HEALTHCHECK_KEYS))
    if unknown:
        raise RouteError("healthcheck: unknown keys %s" % ", ".join(unknown))
    request_headers = route.get("log_request_headers")
    request_headers = list(DEFAULT_LOG_REQUEST_HEADERS) if request_headers is None else _list(request_headers)
    for header in request_headers + _list(route.get("log_response_headers")):
        if not _HEADER_RE.match(header):
            raise RouteError("%r is not a header name" % header)
    app_port = _port(route.get("app_port"), DEFAULT_APP_PORT, "app_port")
    normalized = {
        "name": name,
        "hosts": hosts,
        "path_prefixes": sorted(prefixes),
        "strip_path_prefix": _bool(route.get("strip_path_prefix"), True),
        "app_port": app_port,
        "tls": tls,
        "tls_certificate": pem_fingerprint(cert, key) if cert else None,
        "ssl_redirect": _bool(route.get("ssl_redirect"), True),
        "forward_headers": _bool(route.get("forward_headers"), not tls),
        "response_timeout": _int(route.get("response_timeout"), DEFAULT_RESPONSE_TIMEOUT, "response_timeout", 1),
        "buffering": {
            "requests": _bool(buffering.get("requests"), DEFAULT_BUFFER_REQUESTS),
            "responses": _bool(buffering.get("responses"), DEFAULT_BUFFER_RESPONSES),
            "memory": _int(buffering.get("memory"), DEFAULT_BUFFER_MEMORY, "buffering.memory", 1),
            "max_request_body": _int(buffering.get("max_request_body"), 0, "buffering.max_request_body"),
            "max_response_body": _int(buffering.get("max_response_body"), 0, "buffering.max_response_body"),
        },
        "healthcheck": {
            "path": str(healthcheck.get("path") or DEFAULT_HEALTHCHECK["path"]),
            "interval": _int(healthcheck.get("interval"), DEFAULT_HEALTHCHECK["interval"], "healthcheck.interval", 1),
            "timeout": _int(healthcheck.get("timeout"), DEFAULT_HEALTHCHECK["timeout"], "healthcheck.timeout", 1),
        },
        "log_request_headers": request_headers,
        "log_response_headers": _list(route.get("log_response_headers")),
    }
    # Settings Kamal has no key for are in the stored form only when set: routes without them are stored as before.
    health_port = _port(healthcheck.get("port"), None, "healthcheck.port")
    if health_port is not None:
        normalized["healthcheck"]["port"] = health_port
    for key, value in (("basic_auth", _basic_auth(route.get("basic_auth"))),
                       ("client_ip", client_ip_setting(route.get("client_ip")))):
        if value:
            normalized[key] = value
    return normalized


def _port(value, default, what):
    port = _int(value, default, what, 1)
    if port is not None and port > 65535:
        raise RouteError("%s must be a TCP port, got %d" % (what, port))
    return port


def _basic_auth(value):
    """The stored form: the user and the hash's fingerprint (the hash itself goes to a 0600 file, never a diff)."""
    if not value:
        return None
    unknown = sorted(set(value) - set(BASIC_AUTH_KEYS))
    if unknown:
        raise RouteError("basic_auth: unknown keys %s" % ", ".join(unknown))
    username, hashed = value.get("username"), value.get("password_hash")
    if not username or not hashed:
        raise RouteError("basic_auth needs a username and a password_hash")
    if ":" in str(username) or not _HEADER_VALUE_RE.match(str(username)):
        raise RouteError("basic_auth: %r is not a user name (no ':' or control characters)" % (username,))
    if not PASSWORD_HASH_RE.match(str(hashed)):
        raise RouteError("basic_auth: password_hash is not an argon2id or bcrypt hash (make one with "
                         "`caddy hash-password --algorithm argon2id`, or let the plan hash the secret)")
    return {"username": str(username), "fingerprint": password_fingerprint(hashed)}


def password_fingerprint(hashed):
    return hashlib.sha256(str(hashed).encode("utf-8")).hexdigest()[:16]


def client_ip_setting(value):
    """The stored form of a route's client_ip (None when unset); a RouteError names what is wrong. The config
    model checks deploy.yml's x-kamal-deploy proxy setting with it too, before anything changes."""
    if not value:
        return None
    unknown = sorted(set(value) - set(CLIENT_IP_KEYS))
    if unknown:
        raise RouteError("client_ip: unknown keys %s" % ", ".join(unknown))
    header = value.get("header")
    if not header or not _HEADER_RE.match(str(header)):
        raise RouteError("client_ip: header %r is not a header name" % (header,))
    ranges = []
    for item in _list(value.get("trusted_proxies")):
        try:
            ranges.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise RouteError("client_ip: trusted_proxies: %r is not an IP address or CIDR range" % item)
    if not ranges:
        raise RouteError("client_ip needs trusted_proxies: the addresses allowed to set %s (e.g. your load balancer's, "
                         "or Cloudflare's ranges)" % header)
    return {"header": str(header), "trusted_proxies": sorted(set(ranges))}


def dns_name(route_name):
    """The DNS name a route's upstream resolves (fully qualified, so no search domain is tried).

    ``<route>@rollout`` (ROLLOUT_SUFFIX) names the route's rollout target: ``<route label>.rollout.live.``."""
    base, rollout = route_name, route_name.endswith(ROLLOUT_SUFFIX)
    if rollout:
        base = route_name[:-len(ROLLOUT_SUFFIX)]
    label = base.lower()
    if not re.match(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", label):
        cleaned = re.sub(r"[^a-z0-9-]+", "-", label).strip("-")[:40] or "route"
        label = "%s-%s" % (cleaned, hashlib.sha256(base.encode("utf-8")).hexdigest()[:10])
    return "%s.%s%s." % (label, ROLLOUT_LABEL + "." if rollout else "", DNS_SUFFIX)


def rollout_name(route_name):
    """The pseudo-route name of a route's rollout target (its DNS file and target file use it)."""
    return route_name + ROLLOUT_SUFFIX


def split_threshold(percent):
    """The ``kamal-split`` cookie values below this string go to the rollout: the cookie is a random UUID, so the
    first 8 hex digits compared as text are a uniform number in [0, 2^32); '' sends nobody, 'g' everybody."""
    percent = int(percent or 0)
    if percent <= 0:
        return ""
    if percent >= 100:
        return "g"
    return "%08x" % (percent * (1 << 32) // 100)


def split_file(percent, allowlist):
    """``split/<route>``, read by Caddy at every request: ``<threshold> ,<value>,<value>,`` ('' : no rollout)."""
    values = [str(v) for v in allowlist or []]
    for value in values:
        if not _COOKIE_VALUE_RE.match(value):
            raise RouteError("rollout list: %r is not a cookie value (no spaces, commas, semicolons, quotes or "
                             "backslashes)" % value)
    if not percent and not values:
        return ""
    return "%s ,%s\n" % (split_threshold(percent), "".join(v + "," for v in values))


def split_path(route_name):
    return "%s/%s" % (SPLIT_DIR, route_name)


def auth_path(route_name, fingerprint):
    """The file the route's password hash is in (its fingerprint in the name: a new hash is a config change)."""
    return "%s/%s.%s" % (AUTH_DIR, route_name, fingerprint)


def maintenance_address(route_name, taken=()):
    """A loopback address of the route's own (127.64.0.0/10) for its 503 listener; stable per name."""
    number = int(hashlib.sha256(route_name.encode("utf-8")).hexdigest()[:8], 16)
    for step in range(1 << 16):
        value = (number + step * 7919) % (1 << 22)
        third, fourth = (value >> 8) & 0xFF, value & 0xFF
        if fourth in (0, 255):
            continue
        address = "127.%d.%d.%d" % (64 + (value >> 16), third, fourth)
        if address not in taken:
            return address
    raise RouteError("no free loopback address for route %s" % route_name)


def route_sort_key(route):
    """Specific before general: routes with hosts first, then with path prefixes (longest first)."""
    longest = max([len(p) for p in route["path_prefixes"]] or [0])
    return (0 if route["hosts"] else 1, 0 if route["path_prefixes"] else 1, -longest, route["name"])


def order_routes(routes):
    return sorted(routes, key=route_sort_key)


def conflicts(route, others):
    """Names of other routes that serve one of ``route``'s (host, path prefix) pairs."""
    def pairs(r):
        return set((h, p) for h in (r["hosts"] or [""]) for p in (r["path_prefixes"] or [""]))
    mine = pairs(route)
    return sorted(other["name"] for other in others if other["name"] != route["name"] and mine & pairs(other))


# --- Caddy JSON -----------------------------------------------------------------------------------

def route_id(name, part):
    return "kamal:%s:%s" % (name, part)


def tls_directory(name):
    return "%s/tls/%s" % (CONTAINER_DIR, name)


def maintenance_file(name):
    return "%s/maintenance/%s.html" % (CONTAINER_DIR, name)


def _placeholder(name):
    return "{%s}" % name


def _rollout_handlers(route):
    """Which target a request goes to: the live one, unless the split file sends it to the rollout target.

    ``vars`` reads the split file and the cookies once per request; a client without our cookie gets one (only
    while a percentage is set), and is placed by that new value at once."""
    split_var, file_var = "http.vars.kamal_split", "http.vars.kamal_split_file"
    rollout_var = "http.vars.kamal_rollout"
    new_client = "{%s} != '' && !{%s}.startsWith(' ') && {%s} == ''" % (file_var, file_var, split_var)
    to_rollout = ("cel.bind(f, {%s}.split(' '), size(f) == 2 && ({%s} < f[0] || ({%s} != '' && "
                  "f[1].contains(',' + {%s} + ','))))" % (file_var, split_var, rollout_var, rollout_var))
    cookie = "%s={http.request.uuid}; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax" % (SPLIT_COOKIE, SPLIT_COOKIE_MAX_AGE)
    return [
        {"handler": "vars", "kamal_upstream": dns_name(route["name"]),
         "kamal_split_file": _placeholder("file." + split_path(route["name"])),
         "kamal_split": _placeholder("http.request.cookie." + SPLIT_COOKIE),
         "kamal_rollout": _placeholder("http.request.cookie." + ROLLOUT_COOKIE)},
        {"handler": "subroute", "routes": [
            {"match": [{"expression": new_client}], "handle": [
                {"handler": "vars", "kamal_split": "{http.request.uuid}"},
                {"handler": "headers", "response": {"add": {"Set-Cookie": [cookie]}}}]},
            {"match": [{"expression": to_rollout}], "handle": [
                {"handler": "vars", "kamal_upstream": dns_name(rollout_name(route["name"]))}]},
        ]},
    ]


def _basic_auth_handler(route):
    auth = route["basic_auth"]
    return {"handler": "authentication", "providers": {"http_basic": {
        "accounts": [{"username": auth["username"],
                      # Read from the 0600 file when Caddy loads the config: the hash is never in caddy.json.
                      "password": _placeholder("file." + auth_path(route["name"], auth["fingerprint"]))}],
        "hash": {"algorithm": "argon2id"}, "hash_cache": {}, "realm": route["name"]}}}


def _client_ip_handlers(route):
    """The client's address: the header's value when the request comes from a trusted proxy and has it, else the
    peer's address; it becomes the X-Forwarded-For the app sees (and the access log's ``client_ip``)."""
    client_ip = route["client_ip"]
    return [
        {"handler": "vars", "kamal_client_ip": "{http.request.remote.host}"},
        {"handler": "subroute", "routes": [{
            "match": [{"remote_ip": {"ranges": list(client_ip["trusted_proxies"])},
                       "header": {client_ip["header"]: ["*"]}}],
            "handle": [{"handler": "vars",
                        "kamal_client_ip": _placeholder("http.request.header." + client_ip["header"])}]}]},
        {"handler": "log_append", "key": "client_ip", "value": "{http.vars.kamal_client_ip}"},
    ]


def _upstream_handlers(route, scheme):
    handlers = []
    if route["log_request_headers"] or route["log_response_headers"]:
        handlers.append({"handler": "log_append", "key": "route", "value": route["name"]})
        for header in route["log_request_headers"]:
            handlers.append({"handler": "log_append", "key": "request_header.%s" % header,
                             "value": "{http.request.header.%s}" % header})
        for header in route["log_response_headers"]:
            handlers.append({"handler": "log_append", "key": "response_header.%s" % header,
                             "value": "{http.response.header.%s}" % header})
    if route.get("basic_auth"):
        handlers.append(_basic_auth_handler(route))
    handlers += _rollout_handlers(route)
    if route.get("client_ip"):
        handlers += _client_ip_handlers(route)
    buffering = route["buffering"]
    if buffering["max_request_body"]:
        handlers.append({"handler": "request_body", "max_size": buffering["max_request_body"]})
    proxy = {
        "handler": "reverse_proxy",
        # The live or the rollout target's name (the vars above chose): Caddy caches each name's answer apart.
        "dynamic_upstreams": {
            "source": "a", "name": "{http.vars.kamal_upstream}", "port": str(route["app_port"]),
            "refresh": "%dms" % REFRESH_MS, "resolver": {"addresses": [DNS_RESOLVER]}, "versions": {"ipv4": True},
        },
        "transport": {"protocol": "http", "response_header_timeout": "%ds" % route["response_timeout"]},
    }
    if route.get("client_ip"):
        # X-Forwarded-For is the client's address alone; the trusted proxies' X-Forwarded-Proto/Host are kept.
        proxy["trusted_proxies"] = list(route["client_ip"]["trusted_proxies"])
        proxy["headers"] = {"request": {"set": {"X-Forwarded-For": ["{http.vars.kamal_client_ip}"]}}}
    elif route["forward_headers"]:
        # Trust X-Forwarded-* sent by whatever is in front (kamal-proxy's --forward-headers): Caddy then
        # appends to X-Forwarded-For and keeps the incoming Proto/Host instead of overwriting them.
        proxy["trusted_proxies"] = ["0.0.0.0/0", "::/0"]
    if buffering["requests"]:
        proxy["request_buffers"] = buffering["memory"]
    if buffering["responses"]:
        proxy["response_buffers"] = buffering["memory"]
    else:
        proxy["flush_interval"] = -1
    handlers.append(proxy)
    del scheme
    return handlers


def _route_handle(route, scheme):
    if route["path_prefixes"] and route["strip_path_prefix"]:
        # One sub-route per prefix, so the prefix that matched is the one stripped ("/api/x" -> "/x").
        return [{"handler": "subroute", "routes": [
            {"match": [{"path": [prefix, prefix + "/*"]}],
             "handle": [{"handler": "rewrite", "strip_path_prefix": prefix}] + _upstream_handlers(route, scheme)}
            for prefix in sorted(route["path_prefixes"], key=lambda p: (-len(p), p))
        ]}]
    return _upstream_handlers(route, scheme)


def _match(route):
    match = {}
    if route["hosts"]:
        match["host"] = list(route["hosts"])
    if route["path_prefixes"]:
        match["path"] = [p for prefix in route["path_prefixes"] for p in (prefix, prefix + "/*")]
    return [match] if match else None


def caddy_routes(route, scheme):
    """The Caddy route of ``route`` in the http or https server (None: not served there)."""
    if scheme == "https" and not route["tls"]:
        return None
    entry = {"@id": route_id(route["name"], scheme)}
    match = _match(route)
    if match:
        entry["match"] = match
    if scheme == "http" and route["tls"] and route["ssl_redirect"]:
        entry["handle"] = [{"handler": "static_response", "status_code": 301,
                            "headers": {"Location": ["https://{http.request.host}{http.request.uri}"]}}]
    else:
        entry["handle"] = _route_handle(route, scheme)
    entry["terminal"] = True
    return entry


def maintenance_server(route, address):
    return {
        "listen": ["%s:%d" % (address, route["app_port"])],
        "automatic_https": {"disable": True},
        "routes": [{"@id": route_id(route["name"], "maintenance"), "handle": [{
            "handler": "static_response", "status_code": 503,
            "headers": {"Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-store"],
                        "Retry-After": ["30"]},
            # Read at every request: maintenance and live only rewrite this file and a DNS answer.
            "body": "{file.%s}" % maintenance_file(route["name"]),
        }]}],
    }


def error_pages_directory(name):
    """Where the proxy keeps a route's own error pages, rendered (the app's ``error_pages_path``)."""
    return "%s/error_pages/%s" % (CONTAINER_DIR, name)


def error_routes(route, codes, scheme):
    """The server's error routes for ``route``'s requests: an error Caddy makes for them (502 when the app does not
    answer, 504 ...) answers with the app's page for that status, when it has one."""
    if scheme == "https" and not route["tls"]:
        return None
    pages = [{"match": [{"vars": {"{http.error.status_code}": [str(code)]}}],
              "handle": [{"handler": "static_response", "status_code": code,
                          "headers": {"Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-store"]},
                          "body": "{file.%s/%d.html}" % (error_pages_directory(route["name"]), code)}]}
             for code in sorted(codes)]
    entry = {"@id": route_id(route["name"], "errors-" + scheme), "handle": [{"handler": "subroute", "routes": pages}]}
    match = _match(route)
    if match:
        entry["match"] = match
    return entry


def build_config(settings, records):
    """The whole Caddy config. ``records`` = stored routes: {"route": normalized, "maintenance_address": ip} and,
    with the app's own error pages, their status codes ("error_pages")."""
    settings = settings or {}
    routes = order_routes([record["route"] for record in records])
    addresses = dict((record["route"]["name"], record["maintenance_address"]) for record in records)
    pages = dict((record["route"]["name"], record["error_pages"]) for record in records if record.get("error_pages"))
    # Nothing matched: 404, as kamal-proxy answers for a host no service claims (Caddy's default is an empty 200).
    not_found = {"@id": "kamal:not-found", "handle": [{"handler": "static_response", "status_code": 404,
                                                      "body": "404 page not found\n"}]}
    http_routes = [caddy_routes(r, "http") for r in routes] + [not_found]
    https_routes = [entry for entry in (caddy_routes(r, "https") for r in routes) if entry]
    if https_routes:
        https_routes.append(dict(not_found, **{"@id": "kamal:not-found:https"}))
    servers = {
        "kamal_http": {"listen": [":80"], "routes": http_routes, "logs": {"default_logger_name": ACCESS_LOGGER}},
    }
    if https_routes:
        servers["kamal_https"] = {"listen": [":443"], "routes": https_routes,
                                  "automatic_https": {"disable_redirects": True},
                                  # HTTP/3 only when its UDP port is published (run.http3): else no Alt-Svc for a
                                  # port nobody can reach.
                                  "protocols": ["h1", "h2", "h3"] if settings.get("http3") else ["h1", "h2"],
                                  "logs": {"default_logger_name": ACCESS_LOGGER}}
    for server, scheme in (("kamal_http", "http"), ("kamal_https", "https")):
        errors = [entry for entry in (error_routes(r, pages[r["name"]], scheme) for r in routes if r["name"] in pages)
                  if entry]
        if errors and server in servers:
            servers[server]["errors"] = {"routes": errors}
    for route in routes:
        servers["kamal_maintenance_%s" % route["name"]] = maintenance_server(route, addresses[route["name"]])
    if settings.get("metrics_port"):
        servers["kamal_metrics"] = {"listen": [":%d" % settings["metrics_port"]], "automatic_https": {"disable": True},
                                    "routes": [{"handle": [{"handler": "metrics"}]}]}
    http_app = {"http_port": 80, "https_port": 443, "servers": servers}
    if settings.get("metrics_port"):
        http_app["metrics"] = {}
    config = {
        "admin": {"listen": "unix/" + ADMIN_SOCKET, "origins": [ADMIN_ORIGIN], "config": {"persist": False}},
        "logging": {"logs": {
            "default": {"level": "DEBUG" if settings.get("debug") else "INFO",
                        "exclude": ["http.log.access.%s" % ACCESS_LOGGER, "admin.api"]},
            # Every admin call (drain polls it) would log a line at INFO; keep its warnings and errors.
            "kamal_admin": {"include": ["admin.api"], "level": "WARN"},
            ACCESS_LOGGER: {"include": ["http.log.access.%s" % ACCESS_LOGGER], "encoder": {
                "format": "filter", "wrap": {"format": "json"},
                # Only the headers a route asks for are logged (log_append), as kamal-proxy does.
                "fields": {"request>headers": {"filter": "delete"}, "resp_headers": {"filter": "delete"}}}},
        }},
        "apps": {"http": http_app},
    }
    tls = _tls_app(settings, routes)
    if tls:
        config["apps"]["tls"] = tls
    return config


def _tls_app(settings, routes):
    tls = {}
    custom = [r for r in routes if r["tls"] and r["tls_certificate"]]
    if custom:
        tls["certificates"] = {"load_files": [{
            "certificate": tls_directory(r["name"]) + "/cert.pem", "key": tls_directory(r["name"]) + "/key.pem",
            # The fingerprint makes a new certificate a config change, so Caddy reloads the files.
            "tags": ["kamal:%s" % r["name"], "sha256:%s" % r["tls_certificate"][:16]],
        } for r in custom]}
    acme_hosts = sorted(set(h for r in routes if r["tls"] and not r["tls_certificate"] for h in r["hosts"]))
    acme = settings.get("acme") or {}
    if acme_hosts and (acme.get("ca") or acme.get("email") or acme.get("ca_root_file")):
        issuer = {"module": "acme"}
        if acme.get("ca"):
            issuer["ca"] = acme["ca"]
        if acme.get("email"):
            issuer["email"] = acme["email"]
        if acme.get("ca_root_file"):
            issuer["trusted_roots_pem_files"] = [acme["ca_root_file"]]
        tls["automation"] = {"policies": [{"subjects": acme_hosts, "issuers": [issuer]}]}
    return tls


# --- files the proxy reads ------------------------------------------------------------------------

def dns_hosts_file(route_name, ip):
    """dnsmasq hosts file for one route (``--hostsdir`` re-reads it on change through inotify)."""
    return "# kamal.deploy route %s\n%s %s\n" % (route_name, ip, dns_name(route_name).rstrip("."))


def maintenance_page(route_name, message):
    text = html.escape(message or DEFAULT_MAINTENANCE_MESSAGE)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>503 Service Unavailable</title></head>\n"
            "<body><h1>503 Service Unavailable</h1>\n<p>%s</p>\n</body></html>\n" % text)


def config_json(config):
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


# --- the container --------------------------------------------------------------------------------

def entry_script(refresh_targets=True):
    """The proxy container's command: dnsmasq (kept alive) next to Caddy, Caddy as the main process.

    At start the script also re-resolves each route's target container by name through Docker's DNS, since
    a server reboot may hand the app containers new addresses (a background job, for a minute at most)."""
    dnsmasq = ("dnsmasq --keep-in-foreground --no-resolv --no-hosts --local=/%s/ --hostsdir=%s "
               "--local-ttl=0 --user=root --log-facility=- --pid-file=/run/kamal-dnsmasq.pid" % (DNS_SUFFIX, DNS_DIR))
    lines = [
        "rm -f %s" % ADMIN_SOCKET,
        "(hostname -i 2>/dev/null || true) > %s/run/addresses" % CONTAINER_DIR,
        "(while :; do %s; sleep 1; done) &" % dnsmasq,
    ]
    if refresh_targets:
        lines.append(_REFRESH_TARGETS % {"dir": CONTAINER_DIR})
    lines.append("exec caddy run --config %s/caddy.json" % CONTAINER_DIR)
    return "\n".join(lines) + "\n"


# targets/<route> holds "<container> <ip>"; if the container now has another address, rewrite the route's
# dns file (under the same flock the module takes, so a concurrent switch is never overwritten).
_REFRESH_TARGETS = r"""(d=%(dir)s; for try in 1 2 3 4 5 6 7 8 9 10 11 12; do pending=0
  for t in $d/targets/*.target; do [ -f "$t" ] || continue
    read -r cname cip < "$t" || continue; [ -n "$cname" ] || continue
    nip=$(getent hosts "$cname" 2>/dev/null | awk '{print $1; exit}')
    if [ -z "$nip" ]; then pending=1; continue; fi
    [ "$nip" = "$cip" ] && continue
    r=$(basename "$t" .target)
    ( flock 9; read -r c2 i2 < "$t"; [ "$c2 $i2" = "$cname $cip" ] || exit 0
      grep -q "^$cip " "$d/dns/$r" 2>/dev/null && sed "s/^$cip /$nip /" "$d/dns/$r" > "$d/tmp/$r" && mv "$d/tmp/$r" "$d/dns/$r"
      echo "$cname $nip" > "$d/tmp/$r.target" && mv "$d/tmp/$r.target" "$t"
      echo "kamal-proxy: route $r target $cname moved $cip -> $nip" >&2 ) 9>>$d/lock
  done; [ $pending = 0 ] && break; sleep 5; done) &"""
