# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy backend of kamal.deploy: Caddy 2.11 + dnsmasq in one ``kamal-proxy`` container per server.

Two halves:

- the contract with kamal_app (``docs/dev/proxy-contract.md``): ensure_route, live_target,
  switch_live_target, drain, maintenance, live, remove_route. Stdlib only: the files under
  ``<home>/.kamal/proxy`` and Caddy's admin API on a unix socket in that directory.
- the container itself (boot, reboot, remove, details, logs), through ``_docker``.

Files under ``<home>/.kamal/proxy`` (mounted at ``/kamal-proxy`` in the container):

==========================  =====================================================================
``caddy.json``              the whole Caddy config; Caddy boots from it, so routes survive restarts
``settings.json``           proxy-wide settings (debug, metrics port, ACME CA)
``routes/<route>.json``     the normalized route and its maintenance loopback address
``targets/<route>.target``  ``<container> <ip>``: where the route goes when live
``dns/<route>``             dnsmasq hosts file (``--hostsdir``, re-read through inotify)
``maintenance/<route>.html`` the 503 page of maintenance mode
``error_pages/<route>/``      the app's own error pages: ``NNN.html`` rendered, ``templates/NNN.html`` as given
``tls/<route>/*.pem``       custom certificates (0600)
``auth/<route>.<sha>``      the basic auth password hash (0600; Caddy reads it when it loads the config)
``split/<route>``           the route's rollout split, read by Caddy at every request ('' : no rollout)
``rollouts/<route>.json``   the rollout: its container, version, percentage and cookie list
``targets/<route>@rollout.target``, ``dns/<route>@rollout``  the rollout target, as a route's live one
``run/admin.sock``          Caddy's admin API (never TCP)
``lock``                    flock'ed by every change (also by the container's start-up script)
==========================  =====================================================================
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import socket
import struct
import tarfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None

try:
    import http.client as http_client
except ImportError:  # pragma: no cover
    http_client = None

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _error_pages
from ansible_collections.kamal.deploy.plugins.module_utils import _files
from ansible_collections.kamal.deploy.plugins.module_utils import _logs
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError
from ansible_collections.kamal.deploy.plugins.module_utils import _naming

CONTAINER_NAME = _naming.PROXY_CONTAINER_NAME
NETWORK = _naming.DEFAULT_NETWORK
DATA_VOLUME = "kamal-proxy-data"
OWNER_LABEL = "kamal.deploy.proxy"
SPEC_LABEL = "kamal.deploy.proxy.spec"
RECIPE_LABEL = "kamal.deploy.proxy.recipe"
DEFAULT_BUILD_ARGS = {"BASE": "caddy:2.11-alpine"}
DNS_WAIT = 3.0
SUBDIRS = ("routes", "targets", "dns", "maintenance", "tls", "acme", "run", "tmp", "apps-config", "split", "auth",
           "rollouts")
# Where Kamal's kamal-proxy keeps its routes (kamal-proxy v0.9's Config.StatePath(), in the kamal-proxy-config volume)
# and where its containers see ~/.kamal/proxy/apps-config (custom certificates).
KAMAL_PROXY_STATE = "/home/kamal-proxy/.config/kamal-proxy/kamal-proxy.state"
KAMAL_APPS_CONFIG = "/home/kamal-proxy/.apps-config"


class ProxyError(KamalError):
    """A proxy failure; the message names the route/host and the fix."""


# --- paths and small file helpers -----------------------------------------------------------------

def proxy_dir(home):
    return os.path.join(home, _naming.proxy_directory())


def _path(home, *parts):
    return os.path.join(proxy_dir(home), *parts)


def _read(path, default=None):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError):
        return default


def _read_json(path, default=None):
    text = _read(path)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        raise ProxyError("%s is not valid JSON; remove it or run the proxy reboot" % path)


def _write(home, path, content, mode=0o644):
    """Atomic write, the temp file in <proxy>/tmp: same filesystem, and not a directory dnsmasq watches."""
    _files.write_atomic(path, content, mode, tmp_dir=_path(home, "tmp"))


def _remove(path):
    try:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        return True
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _locked(home, check_mode=False):
    """Serialize changes to the proxy of this server (several services share it)."""
    directory = proxy_dir(home)
    if check_mode and not os.path.isdir(directory):
        yield
        return
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "lock"), "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- Caddy's admin API on its unix socket ---------------------------------------------------------

class _UnixHTTPConnection(http_client.HTTPConnection):
    def __init__(self, path, timeout):
        http_client.HTTPConnection.__init__(self, _caddy.ADMIN_ORIGIN, timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


def admin_socket(home):
    return _path(home, "run", "admin.sock")


def admin(home, method, path, body=None, timeout=60.0):
    """One admin API call; returns the decoded JSON (or None). ProxyError when unreachable or refused."""
    sock = admin_socket(home)
    if not os.path.exists(sock):
        raise ProxyError("kamal-proxy is not running on this host (no admin socket at %s): boot it first "
                         "(kamal.deploy.proxy_boot, or kamal.deploy.kamal_proxy command=boot)" % sock)
    conn = _UnixHTTPConnection(sock, timeout)
    try:
        headers = {"Host": _caddy.ADMIN_ORIGIN}
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (OSError, socket.timeout, http_client.HTTPException) as exc:
        raise ProxyError("kamal-proxy's admin API at %s did not answer %s %s: %s (is the proxy running? "
                         "`docker logs kamal-proxy`)" % (sock, method, path, exc))
    finally:
        conn.close()
    if response.status >= 400:
        detail = data.decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError):
            detail = json.loads(detail).get("error", detail)
        raise ProxyError("Caddy refused %s %s (HTTP %d): %s" % (method, path, response.status, detail))
    if not data.strip():
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        return data.decode("utf-8", "replace")


def running_config(home):
    """Caddy's live config, or None when the proxy does not answer."""
    try:
        return admin(home, "GET", "/config/", timeout=10)
    except ProxyError:
        return None


def load_config(home, config):
    admin(home, "POST", "/load", body=config)


def wait_for_admin(home, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        if running_config(home) is not None:
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.1)


# --- stored routes, targets, DNS ------------------------------------------------------------------

def _records(home):
    records = {}
    directory = _path(home, "routes")
    if not os.path.isdir(directory):
        return records
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".json"):
            record = _read_json(os.path.join(directory, entry))
            if record and "route" in record:
                records[record["route"]["name"]] = record
    return records


def _settings(home):
    return _read_json(_path(home, "settings.json"), {}) or {}


def _record(home, name):
    record = _read_json(_path(home, "routes", name + ".json"))
    if not record:
        raise ProxyError("route %s does not exist on this host's proxy: create it first (ensure_route / "
                         "kamal_proxy state=route)" % name)
    return record


def _target(home, name):
    """(container, ip) of the route's live target, or (None, None)."""
    text = (_read(_path(home, "targets", name + ".target")) or "").split()
    if len(text) != 2:
        return None, None
    return (None if text[0] == "-" else text[0]), text[1]


def _dns_answer(home, name):
    """The address the route's hosts file answers now (None: no file)."""
    for line in (_read(_path(home, "dns", name)) or "").splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            return parts[0]
    return None


def _set_dns(home, name, ip):
    path = _path(home, "dns", name)
    if ip is None:
        _remove(path)
    else:
        _write(home, path, _caddy.dns_hosts_file(name, ip))


def _dns_query(server, name, timeout):
    """A-records of ``name`` from ``server`` (UDP), or None when it does not answer."""
    ident = random.randint(0, 0xFFFF)
    question = b"".join(struct.pack("B", len(label)) + label.encode("ascii") for label in name.rstrip(".").split("."))
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + b"\0" + struct.pack(">HH", 1, 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(packet, (server, 53))
        data = sock.recv(2048)
    except (OSError, socket.timeout):
        return None
    finally:
        sock.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != ident:
        return None
    answers = struct.unpack(">H", data[6:8])[0]
    offset = 12 + len(question) + 1 + 4
    found = []
    for dummy in range(answers):
        if offset >= len(data):
            break
        if data[offset] & 0xC0 == 0xC0:
            offset += 2
        else:
            while offset < len(data) and data[offset]:
                offset += data[offset] + 1
            offset += 1
        rtype, _rclass, _ttl, length = struct.unpack(">HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += length
    return found


def _wait_dns(home, name, ip):
    """Wait until dnsmasq answers ``ip`` for the route, then one Caddy refresh, so new requests use it.

    dnsmasq is asked on the proxy container's own address (written by its start-up script); when that is
    not reachable from here (rootless Docker, ...), a fixed wait stands in. Returns what was observed."""
    started = time.time()
    servers = (_read(_path(home, "run", "addresses")) or "").split()
    servers = [s for s in servers if s.count(".") == 3]
    observed = None
    if servers:
        while time.time() - started < DNS_WAIT:
            answers = None
            for server in servers:
                answers = _dns_query(server, _caddy.dns_name(name), 0.2)
                if answers is not None:
                    break
            if answers is None:  # dnsmasq unreachable from the host: fall back to waiting
                break
            if answers == ([ip] if ip else []):
                observed = "dns"
                break
            time.sleep(0.02)
        else:
            raise ProxyError("route %s: the proxy's DNS still does not answer %s after %.0f s (is dnsmasq running "
                             "in kamal-proxy? `docker logs kamal-proxy`)" % (name, ip, DNS_WAIT))
    if observed is None:
        time.sleep(0.3)
        observed = "timed"
    # Caddy caches each lookup for REFRESH_MS: after that every new request resolves the new answer.
    time.sleep(_caddy.REFRESH_MS / 1000.0 + 0.05)
    return {"confirmed_by": observed, "seconds": round(time.time() - started, 3)}


def _taken_addresses(records, name):
    return set(r["maintenance_address"] for n, r in records.items() if n != name)


# --- the contract with kamal_app ------------------------------------------------------------------

def _error_pages_files(home, name, pages):
    """{path: content} of a route's error pages (``pages``: name -> template): rendered without a message (what
    Caddy answers errors with) and as given (what maintenance renders its message into)."""
    directory = _path(home, "error_pages", name)
    files = {}
    for page, template in sorted(pages.items()):
        files[os.path.join(directory, page)] = _error_pages.render(template, None, page)
        files[os.path.join(directory, "templates", page)] = template
    return files


def _sync_error_pages(home, name, pages, check_mode):
    """The route's error pages directory holds exactly ``pages``; True when something was (to be) written."""
    wanted = _error_pages_files(home, name, pages)
    directory = _path(home, "error_pages", name)
    present = []
    for root, _dirs, files in os.walk(directory):
        present += [os.path.join(root, f) for f in files]
    stale = [path for path in present if path not in wanted]
    differing = [path for path, content in wanted.items() if _read(path) != content]
    if not check_mode:
        for path in differing:
            _write(home, path, wanted[path])
        for path in stale:
            _remove(path)
        if not pages:
            _remove(directory)
    return bool(stale or differing)


def ensure_route(home, route, check_mode=False, error_pages=None):
    """Make the Caddy route for ``route`` match; a config load only when the route itself changed.

    ``error_pages``: the app's own pages (name -> template, ``{}``: none) for the errors the proxy makes for this
    route; None leaves them as they are. Returns {"changed": bool, "diff": {"before": route|None, "after": route}}
    (routes in normalized form; certificates appear as a fingerprint)."""
    route = _with_stored_password_hash(home, route)
    try:
        desired_route = _caddy.normalize_route(route)
        if error_pages:
            _error_pages.check(error_pages)
    except (_caddy.RouteError, _error_pages.ErrorPageError) as exc:
        raise ProxyError(str(exc))
    name = desired_route["name"]
    with _locked(home, check_mode):
        records = _records(home)
        before = records.get(name)
        clash = _caddy.conflicts(desired_route, [r["route"] for n, r in records.items() if n != name])
        if clash:
            raise ProxyError("route %s: its hosts/path prefixes %s are already served by route %s on this host; "
                             "remove that route first or pick other hosts" % (
                                 name, desired_route["hosts"] or "(catch-all)", ", ".join(clash)))
        pages_changed = error_pages is not None and _sync_error_pages(home, name, error_pages, check_mode)
        address = before["maintenance_address"] if before else _caddy.maintenance_address(
            name, _taken_addresses(records, name))
        record = {"route": desired_route, "maintenance_address": address}
        codes = ([_error_pages.status_code(page) for page in _error_pages.page_names(error_pages)]
                 if error_pages is not None else (before or {}).get("error_pages"))
        if codes:
            record["error_pages"] = codes
        records[name] = record
        config = _caddy.build_config(_settings(home), list(records.values()))
        running = running_config(home)
        if running is None and not check_mode:
            admin(home, "GET", "/config/")  # raises the "not running" error with its fix
        on_disk = _read_json(_path(home, "caddy.json"))
        changed = before != record or on_disk != config or (running is not None and running != config)
        if changed and not check_mode:
            _write_route_files(home, route, desired_route)
            load_config(home, config)
            _write(home, _path(home, "caddy.json"), _caddy.config_json(config))
            _write(home, _path(home, "routes", name + ".json"), json.dumps(record, indent=1, sort_keys=True) + "\n")
    return {"changed": changed or pages_changed,
            "diff": {"before": before["route"] if before else None, "after": desired_route}}


def _with_stored_password_hash(home, route):
    """A basic auth without its hash (a command that read no secret) keeps the hash this proxy has for the user."""
    auth = route.get("basic_auth")
    if not auth or auth.get("password_hash"):
        return route
    stored = (_read_json(_path(home, "routes", "%s.json" % route.get("name"))) or {}).get("route") or {}
    known = stored.get("basic_auth") or {}
    hashed = _read(_path(home, "auth", "%s.%s" % (route.get("name"), known.get("fingerprint"))))
    if known.get("username") != auth.get("username") or not hashed:
        raise ProxyError("route %s: basic_auth for %s has no password hash on this host yet: deploy first (the deploy "
                         "reads the password's secret)" % (route.get("name"), auth.get("username")))
    return dict(route, basic_auth=dict(auth, password_hash=hashed.strip()))


def _write_route_files(home, route, stored):
    """The files a route's Caddy config reads: certificates, the password hash, its maintenance page, its split."""
    name = stored["name"]
    if route.get("tls_certificate_pem"):
        tls_dir = _path(home, "tls", name)
        _write(home, os.path.join(tls_dir, "cert.pem"), route["tls_certificate_pem"], 0o600)
        _write(home, os.path.join(tls_dir, "key.pem"), route["tls_private_key_pem"], 0o600)
    auth = stored.get("basic_auth")
    keep = _path(home, "auth", "%s.%s" % (name, auth["fingerprint"])) if auth else None
    if auth:
        _write(home, keep, route["basic_auth"]["password_hash"] + "\n", 0o600)
    for old in _auth_files(home, name):
        if old != keep:
            _remove(old)
    if not os.path.exists(_path(home, "maintenance", name + ".html")):
        _write(home, _path(home, "maintenance", name + ".html"), _caddy.maintenance_page(name, None))
    _ensure_split_file(home, name)


def _auth_files(home, name):
    directory = _path(home, "auth")
    if not os.path.isdir(directory):
        return []
    return [os.path.join(directory, entry) for entry in sorted(os.listdir(directory))
            if entry.rsplit(".", 1)[0] == name]


def _ensure_split_file(home, name):
    """Caddy reads split/<route> at every request of the route: it must exist (empty: no rollout)."""
    path = _path(home, "split", name)
    if not os.path.exists(path):
        state = _rollout_state(home, name)
        _write(home, path, _caddy.split_file(state["percent"], state["list"]) if state else "")


def live_target(home, route_name):
    """The container IP the route sends traffic to when live (None: no target yet).

    In maintenance mode this is still the app's address (the one ``live`` restores)."""
    return _target(home, route_name)[1]


def switch_live_target(home, route_name, ip, check_mode=False, container=None):
    """Point the route's DNS name at ``ip`` (atomic write; no Caddy reload) and wait until Caddy resolves it.

    ``container`` (name or id, optional) lets the proxy follow the container if a server reboot gives it a new
    address. In maintenance mode only the remembered target changes; ``live`` then goes there.
    Returns {"changed", "before", "after", "maintenance", "wait"}."""
    with _locked(home, check_mode):
        record = _record(home, route_name)
        old_container, old_ip = _target(home, route_name)
        in_maintenance = _dns_answer(home, route_name) == record["maintenance_address"]
        dns_ok = in_maintenance or _dns_answer(home, route_name) == ip
        if ip == old_ip and not container:
            container = old_container
        changed = old_ip != ip or (container or None) != old_container or not dns_ok
        result = {"changed": changed, "before": old_ip, "after": ip, "maintenance": in_maintenance}
        if changed and not check_mode:
            _write(home, _path(home, "targets", route_name + ".target"), "%s %s\n" % (container or "-", ip))
            if not in_maintenance:
                _set_dns(home, route_name, ip)
                result["wait"] = _wait_dns(home, route_name, ip)
    return result


def upstream_requests(home, address):
    """Requests Caddy has in flight to ``address`` ("ip:port"), from GET /reverse_proxy/upstreams.

    Caddy 2.11 lists dynamic upstreams there (and may list one address twice: its static pool entry and its
    in-flight counter), so we take the largest count seen for the address."""
    upstreams = admin(home, "GET", "/reverse_proxy/upstreams", timeout=10) or []
    counts = [int(u.get("num_requests") or 0) for u in upstreams if u.get("address") == address]
    return max(counts or [0])


def drain(home, address, timeout):
    """Wait until Caddy has no request in flight to ``address`` ("ip:port") or ``timeout`` seconds passed.

    Returns {"drained": bool, "waited": seconds, "in_flight": n (at the end), "in_flight_at_start": n}."""
    started = time.time()
    first = None
    while True:
        count = upstream_requests(home, address)
        if first is None:
            first = count
        waited = time.time() - started
        if count == 0 or waited >= timeout:
            return {"drained": count == 0, "waited": round(waited, 3), "in_flight": count, "in_flight_at_start": first}
        time.sleep(min(0.05, max(0.0, timeout - waited)))


def maintenance(home, route_name, message, check_mode=False):
    """Answer 503 with ``message`` for the route (DNS switch to its loopback 503 listener; no reload)."""
    with _locked(home, check_mode):
        record = _record(home, route_name)
        page_path = _path(home, "maintenance", route_name + ".html")
        custom = _read(_path(home, "error_pages", route_name, "templates", "503.html"))
        # The app's own 503 page, with the message where it says {{ .Message }}, else ours.
        page = (_error_pages.render(custom, message, "503.html") if custom is not None
                else _caddy.maintenance_page(route_name, message))
        before = _dns_answer(home, route_name) == record["maintenance_address"]
        changed = not before or _read(page_path) != page
        result = {"changed": changed, "before": {"maintenance": before},
                  "after": {"maintenance": True, "message": message}}
        if changed and not check_mode:
            _write(home, page_path, page)
            if not before:
                for name in _answering(home, route_name):  # the rollout's share gets the page too
                    _set_dns(home, name, record["maintenance_address"])
                result["wait"] = _wait_dns(home, route_name, record["maintenance_address"])
    return result


def _answering(home, route_name):
    """The route's DNS names that send traffic somewhere: its live one, and its rollout's while there is one."""
    rollout = _caddy.rollout_name(route_name)
    return [route_name] + ([rollout] if _target(home, rollout)[1] else [])


def live(home, route_name, check_mode=False):
    """Leave maintenance mode: the route's name answers its live target again."""
    with _locked(home, check_mode):
        record = _record(home, route_name)
        target = _target(home, route_name)[1]
        answer = _dns_answer(home, route_name)
        before = answer == record["maintenance_address"]
        changed = answer != target
        result = {"changed": changed, "before": {"maintenance": before}, "after": {"maintenance": False},
                  "target": target}
        if changed and not check_mode:
            _set_dns(home, route_name, target)
            rollout = _caddy.rollout_name(route_name)
            if _target(home, rollout)[1]:
                _set_dns(home, rollout, _target(home, rollout)[1])
            if target:
                result["wait"] = _wait_dns(home, route_name, target)
    return result


def remove_route(home, route_name, check_mode=False):
    """Remove the route (its Caddy routes, DNS name, target, pages and certificates); other routes stay."""
    with _locked(home, check_mode):
        records = _records(home)
        before = records.pop(route_name, None)
        rollout = _caddy.rollout_name(route_name)
        leftovers = [p for p in (_path(home, "dns", route_name), _path(home, "targets", route_name + ".target"),
                                 _path(home, "maintenance", route_name + ".html"), _path(home, "tls", route_name),
                                 _path(home, "split", route_name), _path(home, "rollouts", route_name + ".json"),
                                 _path(home, "dns", rollout), _path(home, "targets", rollout + ".target"),
                                 _path(home, "error_pages", route_name))
                     if os.path.exists(p)] + _auth_files(home, route_name)
        changed = before is not None or bool(leftovers)
        if changed and not check_mode:
            if before is not None:
                config = _caddy.build_config(_settings(home), list(records.values()))
                if running_config(home) is not None:
                    load_config(home, config)
                _write(home, _path(home, "caddy.json"), _caddy.config_json(config))
                _remove(_path(home, "routes", route_name + ".json"))
            for path in leftovers:
                _remove(path)
    return {"changed": changed, "diff": {"before": before["route"] if before else None, "after": None}}


def routes(home):
    """Every route on this host with its live state (for details)."""
    result = []
    for name, record in sorted(_records(home).items()):
        container, target = _target(home, name)
        route = dict(record["route"])
        route.update({"target": target, "target_container": container,
                      "maintenance": _dns_answer(home, name) == record["maintenance_address"],
                      "rollout": rollout(home, name)})
        result.append(route)
    return result


# --- canary rollouts ------------------------------------------------------------------------------

def _rollout_state(home, route_name):
    return _read_json(_path(home, "rollouts", route_name + ".json"))


def rollout(home, route_name):
    """The route's rollout: {"container", "ip", "version", "percent", "list"}, or None."""
    state = _rollout_state(home, route_name)
    if not state:
        return None
    container, ip = _target(home, _caddy.rollout_name(route_name))
    return dict(state, container=container or state.get("container"), ip=ip)


def describe_split(state):
    """``10% (and kamal-rollout=beta,qa)`` or ``0% (no traffic)`` for output and audit lines."""
    if not state:
        return "no rollout"
    text = "%d%%" % state["percent"]
    if state["list"]:
        text += " and %s=%s" % (_caddy.ROLLOUT_COOKIE, ",".join(state["list"]))
    elif not state["percent"]:
        text += " (no traffic)"
    return text


def _write_rollout(home, route_name, state):
    _write(home, _path(home, "rollouts", route_name + ".json"), json.dumps(state, indent=1, sort_keys=True) + "\n")
    # Caddy reads it at the next request: no reload, no DNS cache.
    _write(home, _path(home, "split", route_name), _caddy.split_file(state["percent"], state["list"]))


def rollout_deploy(home, route_name, ip, container, version, check_mode=False):
    """Make ``ip`` (container ``container``, of ``version``) the route's rollout target. A new rollout gets no
    traffic until its split is set; a rollout deployed again keeps its split (the new container was healthy
    before this switch). Returns {"changed", "before": rollout|None, "after": rollout}."""
    with _locked(home, check_mode):
        _record(home, route_name)
        name = _caddy.rollout_name(route_name)
        before = rollout(home, route_name)
        if _target(home, route_name)[1] == ip:
            raise ProxyError("route %s: %s (%s) is the live target; a rollout needs another version" % (
                route_name, container or ip, version))
        state = {"version": version, "container": container, "percent": before["percent"] if before else 0,
                 "list": before["list"] if before else []}
        after = dict(state, ip=ip)
        in_maintenance = _dns_answer(home, route_name) == _record(home, route_name)["maintenance_address"]
        changed = (before or {}).get("ip") != ip or (before or {}).get("container") != container or (
            before or {}).get("version") != version or (not in_maintenance and _dns_answer(home, name) != ip)
        result = {"changed": changed, "before": before, "after": after}
        if changed and not check_mode:
            _write(home, _path(home, "targets", name + ".target"), "%s %s\n" % (container or "-", ip))
            if not in_maintenance:
                _set_dns(home, name, ip)
                result["wait"] = _wait_dns(home, name, ip)
            _write_rollout(home, route_name, state)
    return result


def set_split(home, route_name, percent, allowlist, check_mode=False):
    """Send ``percent`` % of the clients and every ``kamal-rollout`` cookie in ``allowlist`` to the rollout target.
    Only the split file changes (Caddy reads it at every request): the next request follows it.
    Returns {"changed", "before": {"percent", "list"}, "after": {...}}."""
    percent = int(percent or 0)
    if not 0 <= percent <= 100:
        raise ProxyError("route %s: the rollout percentage must be between 0 and 100, got %d" % (route_name, percent))
    values = [str(v).strip() for v in allowlist or [] if str(v).strip()]
    try:
        _caddy.split_file(percent, values)
    except _caddy.RouteError as exc:
        raise ProxyError("route %s: %s" % (route_name, exc))
    with _locked(home, check_mode):
        state = _rollout_state(home, route_name)
        if not state:
            raise ProxyError("route %s has no rollout on this host: deploy one first (kamal-ansible rollout deploy, "
                             "playbook kamal.deploy.rollout_deploy)" % route_name)
        before = {"percent": state["percent"], "list": state["list"]}
        after = {"percent": percent, "list": values}
        changed = before != after or _read(_path(home, "split", route_name)) != _caddy.split_file(percent, values)
        if changed and not check_mode:
            _write_rollout(home, route_name, dict(state, **after))
    return {"changed": changed, "before": before, "after": after}


def end_rollout(home, route_name, app_port=None, drain_timeout=0, check_mode=False):
    """No more traffic to the rollout target (the split file first, so the next request goes live), then wait for
    its requests in flight (``drain_timeout``) and forget it. Stopping its container is the caller's business.
    Returns {"changed", "before": rollout|None, "drain": ...}."""
    with _locked(home, check_mode):
        before = rollout(home, route_name)
        name = _caddy.rollout_name(route_name)
        leftovers = [p for p in (_path(home, "rollouts", route_name + ".json"), _path(home, "dns", name),
                                 _path(home, "targets", name + ".target")) if os.path.exists(p)]
        result = {"changed": bool(before or leftovers), "before": before}
        if not result["changed"] or check_mode:
            return result
        _write(home, _path(home, "split", route_name), "")
    if before and before.get("ip") and drain_timeout and app_port:
        result["drain"] = drain(home, "%s:%d" % (before["ip"], app_port), drain_timeout)
    with _locked(home):
        for path in leftovers:
            _remove(path)
    return result


# --- taking over a server Kamal's kamal-proxy served ---------------------------------------------------

def _seconds(nanoseconds):
    """kamal-proxy stores durations as Go's time.Duration (nanoseconds)."""
    if not nanoseconds:
        return None
    return max(1, int(round(int(nanoseconds) / 1e9)))


def kamal_proxy_routes(state):
    """The routes of a kamal-proxy state file (kamal-proxy v0.8-v0.9's ``kamal-proxy.state``: a JSON list of
    services), as [{"route": <route option>, "target": "<container>:<port>"|None, "paused": bool,
    "message": str, "certificate_paths": (cert, key)|None, "notes": [...]}], in the file's order."""
    try:
        services = json.loads(state) if isinstance(state, (str, bytes)) else state
    except ValueError:
        raise ProxyError("kamal-proxy's state file is not JSON; take over without its routes by removing it first")
    found = []
    for service in services or []:
        options = service.get("options") or {}
        target_options = service.get("target_options") or {}
        health = target_options.get("health_check_config") or {}
        targets = service.get("active_targets") or ([service["active_target"]] if service.get("active_target") else [])
        hosts = options.get("hosts") or service.get("hosts") or []
        prefixes = options.get("path_prefixes") or service.get("path_prefixes") or []
        notes = []
        target, port = None, None
        if targets:
            target, _sep, port_text = targets[0].rpartition(":")
            port = int(port_text) if port_text.isdigit() else None
            if len(targets) > 1:
                notes.append("kamal-proxy balanced %d targets; the route goes to the first, %s" % (len(targets), targets[0]))
        if service.get("rollout_targets"):
            notes.append("its rollout (%s) is not moved: all traffic goes to the live target" %
                         ", ".join(service["rollout_targets"]))
        route = {
            "name": service["name"], "hosts": [h for h in hosts if h], "path_prefixes": [p for p in prefixes if p and p != "/"],
            "strip_path_prefix": options.get("strip_prefix", True), "app_port": port,
            "tls": bool(options.get("tls_enabled")), "ssl_redirect": options.get("tls_redirect"),
            "forward_headers": target_options.get("forward_headers"),
            "response_timeout": _seconds(target_options.get("response_timeout")),
            "buffering": {"requests": target_options.get("buffer_requests"),
                          "responses": target_options.get("buffer_responses"),
                          "memory": target_options.get("max_memory_buffer_size") or None,
                          "max_request_body": target_options.get("max_request_body_size") or None,
                          "max_response_body": target_options.get("max_response_body_size") or None},
            "healthcheck": {"path": health.get("path") or None, "interval": _seconds(health.get("interval")),
                            "timeout": _seconds(health.get("timeout")), "port": health.get("port") or None},
            "log_request_headers": target_options.get("log_request_headers") or [],
            "log_response_headers": target_options.get("log_response_headers") or [],
        }
        certificate = None
        if options.get("tls_certificate_path") and options.get("tls_private_key_path"):
            certificate = (options["tls_certificate_path"], options["tls_private_key_path"])
        pause = service.get("pause_controller") or {}
        found.append({"route": route, "target": "%s:%s" % (target, port) if target else None, "container": target,
                      "paused": pause.get("state") in (1, 2), "message": pause.get("stop_message") or None,
                      "certificate_paths": certificate, "notes": notes})
    return found


def import_routes(home, entries, check_mode=False):
    """Store ``entries`` (kamal_proxy_routes(), each with "ip" of its target and "certificate" (cert, key) PEMs when
    it had a custom one) as our routes, targets and DNS answers: files only, for the proxy to boot from. A route
    already ours keeps ours. Returns the routes moved: [{"name", "hosts", "path_prefixes", "target", "ip"}]."""
    moved = []
    with _locked(home, check_mode):
        records = _records(home)
        for entry in entries:
            route = dict(entry["route"])
            if entry.get("certificate"):
                route["tls_certificate_pem"], route["tls_private_key_pem"] = entry["certificate"]
            try:
                stored = _caddy.normalize_route(route)
            except _caddy.RouteError as exc:
                raise ProxyError("kamal-proxy's service %s cannot be moved: %s" % (route.get("name"), exc))
            name = stored["name"]
            if name in records:
                continue
            clash = _caddy.conflicts(stored, [r["route"] for r in records.values()])
            if clash:
                raise ProxyError("kamal-proxy's service %s serves hosts/paths that route %s already serves here: "
                                 "remove one of them first" % (name, ", ".join(clash)))
            record = {"route": stored, "maintenance_address": _caddy.maintenance_address(
                name, _taken_addresses(records, name))}
            records[name] = record
            moved.append({"name": name, "hosts": stored["hosts"], "path_prefixes": stored["path_prefixes"],
                          "target": entry.get("target"), "ip": entry.get("ip"), "paused": entry.get("paused"),
                          "notes": entry.get("notes") or []})
            if check_mode:
                continue
            _write_route_files(home, route, stored)
            _write(home, _path(home, "routes", name + ".json"), json.dumps(record, indent=1, sort_keys=True) + "\n")
            if entry.get("paused"):
                _write(home, _path(home, "maintenance", name + ".html"), _caddy.maintenance_page(name, entry.get("message")))
            if entry.get("ip"):
                _write(home, _path(home, "targets", name + ".target"), "%s %s\n" % (entry.get("container") or "-", entry["ip"]))
                _set_dns(home, name, record["maintenance_address"] if entry.get("paused") else entry["ip"])
    return moved


# --- the container --------------------------------------------------------------------------------

_OPTION_MAP = {
    # Kamal's proxy.run.options are `docker run --key "value"` pairs; these are the ones we translate to the SDK.
    "memory": "mem_limit", "memory-reservation": "mem_reservation", "memory-swap": "memswap_limit",
    "cpus": "nano_cpus", "cpu-shares": "cpu_shares", "label": "labels", "sysctl": "sysctls",
    "add-host": "extra_hosts", "dns": "dns", "ulimit": "ulimits", "log-opt": "log_opt", "log-driver": "log_driver",
    "env": "environment", "e": "environment", "user": "user", "hostname": "hostname", "pids-limit": "pids_limit",
    "restart": "restart", "shm-size": "shm_size", "cap-add": "cap_add", "cap-drop": "cap_drop",
}


def _pairs(value, sep="="):
    items = value if isinstance(value, (list, tuple)) else [value]
    result = {}
    for item in items:
        key, dummy, val = str(item).partition(sep)
        result[key.strip()] = val.strip()
    return result


def run_spec(home, image, run=None):
    """The docker SDK ``containers.run`` arguments of the proxy for ``proxy.run`` (Kamal's keys)."""
    run = dict(run or {})
    unknown = sorted(set(run) - {"http_port", "https_port", "bind_ips", "publish", "log_max_size", "metrics_port",
                                 "debug", "options", "registry", "repository", "version", "image", "http3"})
    if unknown:
        raise ProxyError("proxy.run: unknown keys %s" % ", ".join(unknown))
    publish = run.get("publish", True) is not False
    if not publish and any(run.get(k) for k in ("http_port", "https_port", "bind_ips")):
        raise ProxyError("Cannot set http_port, https_port or bind_ips when publish is false")
    ports = {}
    if publish:
        http_port, https_port = int(run.get("http_port") or 80), int(run.get("https_port") or 443)
        ips = [str(ip).strip("[]") for ip in (run.get("bind_ips") or [])]
        ports["80/tcp"] = [(ip, http_port) for ip in ips] if ips else http_port
        ports["443/tcp"] = [(ip, https_port) for ip in ips] if ips else https_port
        if run.get("http3"):
            # HTTP/3 is QUIC: the same port, over UDP.
            ports["443/udp"] = [(ip, https_port) for ip in ips] if ips else https_port
    spec = {
        "image": image, "name": CONTAINER_NAME, "command": ["/bin/sh", "-c", _caddy.entry_script()],
        "detach": True, "restart_policy": {"Name": "unless-stopped"}, "network": NETWORK, "ports": ports,
        "volumes": {proxy_dir(home): {"bind": _caddy.CONTAINER_DIR, "mode": "rw"},
                    DATA_VOLUME: {"bind": "/data", "mode": "rw"}},
        "log_config": {"type": "json-file", "config": {"max-size": str(run.get("log_max_size") or "10m")}},
        "labels": {OWNER_LABEL: "true"},
    }
    for raw_key, value in sorted((run.get("options") or {}).items()):
        key = str(raw_key).lstrip("-").replace("_", "-")
        target = _OPTION_MAP.get(key)
        if target is None:
            raise ProxyError("proxy.run.options: %s is not supported by kamal.deploy's proxy (supported: %s)"
                             % (raw_key, ", ".join(sorted(_OPTION_MAP))))
        if target == "nano_cpus":
            spec[target] = int(float(value) * 1e9)
        elif target in ("cpu_shares", "pids_limit"):
            spec[target] = int(value)
        elif target == "labels":
            spec["labels"].update(_pairs(value))
        elif target == "sysctls":
            spec[target] = _pairs(value)
        elif target == "extra_hosts":
            spec[target] = _pairs(value, ":")
        elif target == "environment":
            spec.setdefault(target, {}).update(_pairs(value))
        elif target == "log_opt":
            spec["log_config"]["config"].update(_pairs(value))
        elif target == "log_driver":
            spec["log_config"]["type"] = str(value)
        elif target == "restart":
            spec["restart_policy"] = {"Name": str(value)}
        elif target == "ulimits":
            spec[target] = [dict(name=k, soft=int(v.split(":")[0]), hard=int(v.split(":")[-1]))
                            for k, v in _pairs(value).items()]
        elif target in ("dns", "cap_add", "cap_drop"):
            spec[target] = value if isinstance(value, list) else [value]
        else:
            spec[target] = str(value)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    spec["labels"][SPEC_LABEL] = digest
    return spec


def desired_settings(home, run=None, acme=None):
    """settings.json content and the extra files it needs ({path: (content, mode)})."""
    run = run or {}
    acme = dict(acme or {})
    files = {}
    settings = {"debug": bool(run.get("debug")), "metrics_port": int(run["metrics_port"]) if run.get("metrics_port") else None,
                "acme": {}}
    if run.get("http3"):
        settings["http3"] = True
    if acme.get("ca"):
        settings["acme"]["ca"] = acme["ca"]
    if acme.get("email"):
        settings["acme"]["email"] = acme["email"]
    if acme.get("ca_root_pem"):
        pem = acme["ca_root_pem"]
        name = "ca-%s.pem" % hashlib.sha256(pem.encode("utf-8")).hexdigest()[:12]
        files[_path(home, "acme", name)] = (pem, 0o644)
        settings["acme"]["ca_root_file"] = "%s/acme/%s" % (_caddy.CONTAINER_DIR, name)
    return settings, files


def _is_ours(container):
    return ((container.attrs.get("Config") or {}).get("Labels") or {}).get(OWNER_LABEL) == "true"


def foreign_message(container, takeover_hint=True):
    info = _docker.container_summary(container)
    guess = " (it looks like Kamal's own kamal-proxy)" if "kamal-proxy" in (info["image"] or "") else ""
    text = "a container named %s that kamal.deploy did not create is on this host: image %s, %s, created %s%s. " % (
        CONTAINER_NAME, info["image"], info["state"], info["created"], guess)
    text += "kamal.deploy never replaces it silently."
    if takeover_hint:
        text += (" To take it over, rerun with takeover=true (playbooks: -e proxy_takeover=true): the routes Kamal's "
                 "kamal-proxy keeps in its state file move to this proxy first (--check lists them), then it is "
                 "stopped and renamed kamal-proxy_replaced_<hex>. Or stop and remove it yourself: docker rm -f %s"
                 % CONTAINER_NAME)
    return text


class ProxyContainer(_docker.Operations):
    """boot / reboot / remove / details / logs of the kamal-proxy container on this server."""

    def __init__(self, client, home, check_mode=False):
        super().__init__(check_mode)
        self.client = client
        self.home = home
        self.warnings = []
        self.takeover = None
        self._foreign = None  # a foreign kamal-proxy taken over, renamed, still serving until ours starts

    # images ---------------------------------------------------------------------------------------
    def ensure_image(self, image, dockerfile=None, build_args=None):
        """The proxy image's id (built on the server from Dockerfile text, or pulled); None in check mode."""
        found = _docker.find_image(self.client, image)
        if dockerfile:
            args = dict(DEFAULT_BUILD_ARGS)
            args.update(build_args or {})
            recipe = hashlib.sha256(json.dumps([dockerfile, sorted(args.items())]).encode("utf-8")).hexdigest()[:16]
            if found is not None and _docker.image_labels(found).get(RECIPE_LABEL) == recipe:
                return found.id
            self._do("build image %s (%s)" % (image, ", ".join("%s=%s" % kv for kv in sorted(args.items()))))
            if self.check_mode:
                return found.id if found is not None else None
            return _docker.build_image(self.client, image, dockerfile, args, {RECIPE_LABEL: recipe}).id
        if found is not None:
            return found.id
        self._do("pull image %s" % image)
        if self.check_mode:
            return None
        return _docker.pull_image(self.client, image).id

    # files ----------------------------------------------------------------------------------------
    def ensure_files(self, settings, extra_files):
        """Directories, settings.json, the ACME root and caddy.json. Returns the desired Caddy config."""
        directory = proxy_dir(self.home)
        missing = [d for d in SUBDIRS if not os.path.isdir(os.path.join(directory, d))]
        if missing:
            self._do("mkdir %s/{%s}" % (directory, ",".join(missing)))
            if not self.check_mode:
                for sub in missing:
                    os.makedirs(os.path.join(directory, sub), exist_ok=True)
        for path, (content, mode) in sorted(extra_files.items()):
            if _read(path) != content:
                self._do("write %s" % path)
                if not self.check_mode:
                    _write(self.home, path, content, mode)
        if _read_json(_path(self.home, "settings.json")) != settings:
            self._do("write %s" % _path(self.home, "settings.json"))
            if not self.check_mode:
                _write(self.home, _path(self.home, "settings.json"), json.dumps(settings, indent=1, sort_keys=True) + "\n")
        records = _records(self.home)
        if not self.check_mode:
            for name in records:  # routes stored before rollouts existed have no split file yet
                _ensure_split_file(self.home, name)
        config = _caddy.build_config(settings, list(records.values()))
        if _read_json(_path(self.home, "caddy.json")) != config:
            self._do("write %s" % _path(self.home, "caddy.json"))
            if not self.check_mode:
                _write(self.home, _path(self.home, "caddy.json"), _caddy.config_json(config))
        return config

    # container ------------------------------------------------------------------------------------
    def current(self):
        return _docker.find_container(self.client, CONTAINER_NAME)

    def _foreign_or_fail(self, container, takeover):
        """A kamal-proxy we did not create: the one to take over (after our image and files are ready), or an error."""
        if not takeover:
            raise ProxyError(foreign_message(container))
        return container

    def _archived_file(self, container, path):
        """A file's bytes from inside ``container`` (running or not; `docker cp`), or None when it has none."""
        try:
            chunks, _stat = container.get_archive(path)
        except Exception as exc:  # pylint: disable=broad-except
            if _docker.docker_errors is not None and isinstance(exc, _docker.docker_errors.NotFound):
                return None
            raise ProxyError(_docker.error_message(exc, "reading %s from the foreign kamal-proxy" % path))
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            return archive.extractfile(member).read() if member is not None else None

    def kamal_routes(self, container):
        """The routes Kamal's kamal-proxy serves (its state file), each with its target's address on our network."""
        state = self._archived_file(container, KAMAL_PROXY_STATE)
        if not state:
            return []
        entries = kamal_proxy_routes(state.decode("utf-8"))
        for entry in entries:
            target = entry["container"] and (_docker.find_container(self.client, entry["container"]) or
                                             _docker.get_container(self.client, entry["container"]))
            entry["ip"] = _docker.container_ip(target, NETWORK) if target else None
            if target:
                entry["container"] = target.name  # the target file follows it by name after a server reboot
            elif entry["container"]:
                entry["notes"].append("its target %s is not running: the route answers 502 until a deploy" % entry["target"])
            if entry["certificate_paths"]:
                pems = [self._archived_file(container, path) for path in entry["certificate_paths"]]
                if None in pems:
                    raise ProxyError("kamal-proxy's service %s has a custom certificate (%s) that cannot be read: "
                                     "deploy it with Kamal once more, or remove the service from kamal-proxy" % (
                                         entry["route"]["name"], ", ".join(entry["certificate_paths"])))
                entry["certificate"] = tuple(pem.decode("utf-8") for pem in pems)
        return entries

    def take_over(self, container):
        """Move every route of Kamal's kamal-proxy to ours (files only: our proxy boots with them) and rename it
        kamal-proxy_replaced_<hex> (it keeps serving). ``_run`` then creates ours, stops it and starts ours: the gap
        is a container stop and start."""
        moved = import_routes(self.home, self.kamal_routes(container), self.check_mode)
        for entry in moved:
            self._do("move route %s (%s) from Kamal's kamal-proxy to %s%s" % (
                entry["name"], ", ".join(entry["hosts"] + entry["path_prefixes"]) or "every host",
                entry["target"] or "no target", " (in maintenance)" if entry["paused"] else ""))
            for note in entry["notes"]:
                self.warnings.append("route %s: %s" % (entry["name"], note))
        new_name = "%s_replaced_%s" % (CONTAINER_NAME, _naming.random_hex(8))
        self._do("stop foreign container %s (%s) and rename it %s" % (
            CONTAINER_NAME, _docker.container_summary(container)["image"], new_name))
        self.takeover = {"routes": moved, "replaced_by": CONTAINER_NAME, "renamed": new_name}
        if not self.check_mode:
            _docker.call("renaming the foreign kamal-proxy", container.rename, new_name)
            self._foreign = container

    def _run(self, spec):
        self._do("run container %s (%s)" % (CONTAINER_NAME, spec["image"]))
        if self.check_mode:
            return
        if self._foreign is None:
            _docker.call("starting %s" % CONTAINER_NAME, self.client.containers.run, **spec)
            self._wait_ready()
            return
        # A takeover: ours is created while the foreign proxy still holds the ports, then one stops and one starts.
        foreign, created = self._foreign, None
        try:
            created = _docker.call("creating %s" % CONTAINER_NAME, self.client.containers.create,
                                   **{key: value for key, value in spec.items() if key != "detach"})
            stopped_at = time.time()
            _docker.call("stopping the foreign kamal-proxy", foreign.stop, timeout=10)
            _docker.call("starting %s" % CONTAINER_NAME, created.start)
        except Exception:
            # Nothing lost: Kamal's proxy goes back to its name and its ports, ours is removed.
            with contextlib.suppress(Exception):
                if created is not None:
                    created.remove(force=True)
                foreign.rename(CONTAINER_NAME)
                foreign.start()
            raise
        self._foreign = None
        self._wait_ready()
        # From the foreign proxy's stop to ours answering its admin API: no proxy on ports 80/443 meanwhile.
        self.takeover["gap_seconds"] = round(time.time() - stopped_at, 3)

    def _wait_ready(self):
        if wait_for_admin(self.home, 30):
            return
        container = self.current()
        tail = ""
        if container is not None:
            tail = _docker.call("reading kamal-proxy logs", container.logs, tail=30).decode("utf-8", "replace")
        raise ProxyError("kamal-proxy started but its admin API (%s) did not answer within 30 s. Last log lines:\n%s"
                         % (admin_socket(self.home), tail))

    def _reload_if_needed(self, config):
        if self.check_mode:
            running = running_config(self.home)
            if running is not None and running != config:
                self._do("load Caddy config")
            return
        running = running_config(self.home)
        if running != config:
            self._do("load Caddy config")
            load_config(self.home, config)

    def repair_targets(self):
        """Follow target containers whose address changed (e.g. after a server reboot)."""
        for name in sorted(_records(self.home)):
            container_ref, ip = _target(self.home, name)
            if not container_ref:
                continue
            container = _docker.find_container(self.client, container_ref) or _docker.get_container(self.client, container_ref)
            new_ip = _docker.container_ip(container, NETWORK) if container is not None else ""
            if new_ip and new_ip != ip:
                self._do("route %s: target %s moved %s -> %s" % (name, container_ref, ip, new_ip))
                if not self.check_mode:
                    switch_live_target(self.home, name, new_ip, container=container_ref)

    def _prepare(self, run, acme, takeover):
        """What boot and reboot start with: the wanted settings, the state before, our container (a foreign
        kamal-proxy is an error unless taken over) and the kamal network."""
        settings, extra_files = desired_settings(self.home, run, acme)
        before = self.describe()
        container = self.current()
        foreign = None
        if container is not None and not _is_ours(container):
            foreign, container = self._foreign_or_fail(container, takeover), None
        if _docker.ensure_network(self.client, NETWORK, self.check_mode):
            self._do("create network %s" % NETWORK)
        return settings, extra_files, before, container, foreign

    def boot(self, image, dockerfile=None, build_args=None, run=None, acme=None, takeover=False):
        settings, extra_files, before, container, foreign = self._prepare(run, acme, takeover)
        image_id = self.ensure_image(image, dockerfile, build_args)
        if foreign is not None:
            self.take_over(foreign)
        config = self.ensure_files(settings, extra_files)
        spec = run_spec(self.home, image, run)
        if container is None:
            self._run(spec)
        else:
            labels = (container.attrs.get("Config") or {}).get("Labels") or {}
            if labels.get(SPEC_LABEL) != spec["labels"][SPEC_LABEL] or (image_id and container.image.id != image_id):
                self.warnings.append("kamal-proxy runs with another image or run configuration than asked; "
                                     "run kamal.deploy.proxy_reboot (kamal_proxy command=reboot) to apply it")
            if _docker.container_state(container) != "running":
                self._do("start container %s" % CONTAINER_NAME)
                if not self.check_mode:
                    _docker.call("starting %s" % CONTAINER_NAME, container.start)
                    self._wait_ready()
            else:
                self._reload_if_needed(config)
        if not self.check_mode or container is not None:
            self.repair_targets()
        return self._result(before)

    def reboot(self, image, dockerfile=None, build_args=None, run=None, acme=None, takeover=False):
        settings, extra_files, before, container, foreign = self._prepare(run, acme, takeover)
        self.ensure_image(image, dockerfile, build_args)
        if foreign is not None:
            self.take_over(foreign)
        self.ensure_files(settings, extra_files)
        if container is not None:
            self._do("stop and remove container %s" % CONTAINER_NAME)
            if not self.check_mode:
                _docker.call("stopping %s" % CONTAINER_NAME, container.stop, timeout=30)
                _docker.call("removing %s" % CONTAINER_NAME, container.remove, force=True, v=True)
        self._run(run_spec(self.home, image, run))
        if not self.check_mode:
            self.repair_targets()
        return self._result(before)

    def start(self):
        """Kamal's ``proxy start``: the existing container running again (its routes with it)."""
        before = self.describe()
        container = self._existing()
        if _docker.container_state(container) != "running":
            self._do("start container %s" % CONTAINER_NAME)
            if not self.check_mode:
                _docker.call("starting %s" % CONTAINER_NAME, container.start)
                self._wait_ready()
                self.repair_targets()
        return self._result(before)

    def stop(self):
        """Kamal's ``proxy stop``: every app it routes stops answering on this host until ``start``."""
        before = self.describe()
        container = self._existing()
        if _docker.container_state(container) in ("running", "restarting", "paused"):
            self._do("stop container %s" % CONTAINER_NAME)
            if not self.check_mode:
                _docker.call("stopping %s" % CONTAINER_NAME, container.stop, timeout=30)
        return self._result(before)

    def _existing(self):
        container = self.current()
        if container is None:
            raise ProxyError("there is no %s container on this host: boot it first (kamal.deploy.proxy_boot)" % CONTAINER_NAME)
        if not _is_ours(container):
            raise ProxyError(foreign_message(container, takeover_hint=False))
        return container

    def remove(self, force=False, keep_in_use=False):
        before = self.describe()
        apps = os.path.join(self.home, _naming.apps_directory())
        installed = sorted(os.listdir(apps)) if os.path.isdir(apps) else []
        if installed and not force and keep_in_use:
            self.warnings.append("Not removing the proxy, as other apps are installed (%s in %s)" % (", ".join(installed), apps))
            return self._result(before)
        if installed and not force:
            raise ProxyError("Not removing the proxy, as other apps are installed (%s in %s), ignore this check with "
                             "force=true (kamal proxy remove --force)" % (", ".join(installed), apps))
        container = self.current()
        if container is not None:
            if not _is_ours(container):
                raise ProxyError(foreign_message(container, takeover_hint=False) +
                                 " Remove it yourself if you mean to: docker rm -f %s" % CONTAINER_NAME)
            self._do("stop and remove container %s" % CONTAINER_NAME)
            if not self.check_mode:
                _docker.call("stopping %s" % CONTAINER_NAME, container.stop, timeout=30)
                _docker.call("removing %s" % CONTAINER_NAME, container.remove, force=True, v=True)
        if os.path.isdir(proxy_dir(self.home)):
            self._do("rm -r %s (the %s volume with certificates is kept)" % (proxy_dir(self.home), DATA_VOLUME))
            if not self.check_mode:
                shutil.rmtree(proxy_dir(self.home))
        return self._result(before)

    def describe(self):
        container = self.current()
        info = None
        if container is not None:
            info = _docker.container_summary(container)
            info["ours"] = _is_ours(container)
            info["ports"] = ((container.attrs.get("NetworkSettings") or {}).get("Ports")) or {}
            info["ip"] = _docker.container_ip(container, NETWORK)
        return {"container": info, "routes": routes(self.home)}

    def logs(self, lines=None, since=None, grep=None, timestamps=True):
        container = self.current()
        if container is None:
            raise ProxyError("there is no %s container on this host" % CONTAINER_NAME)
        return _logs.read_logs(container, CONTAINER_NAME, lines=lines, since=since, grep=grep, timestamps=timestamps)

    def _result(self, before):
        after = before if self.check_mode or not self.changed else self.describe()
        result = {"changed": self.changed, "actions": self.actions, "warnings": self.warnings,
                  "diff": {"before": _diffable(before), "after": _diffable(after, self.actions if self.check_mode else None)},
                  "proxy": after}
        if self.takeover is not None:
            result["takeover"] = self.takeover
        return result


def audit_messages(command, result):
    """Kamal's audit lines for a proxy command that changed something (kamal/cli/proxy.rb; boot writes none)."""
    if not result.get("changed"):
        return []
    if command == "reboot":
        return ["Rebooted proxy"]
    if command in ("start", "stop"):
        return ["Started proxy" if command == "start" else "Stopped proxy"]
    if command == "remove" and any(a.startswith("stop and remove container") for a in result.get("actions") or []):
        return ["Removed proxy container"]
    return []


def _diffable(state, planned=None):
    container = state.get("container") or {}
    result = {"container": {k: container.get(k) for k in ("name", "image", "state")} if container else None,
              "routes": [r["name"] for r in state.get("routes") or []]}
    if planned:
        result["planned"] = list(planned)
    return result
