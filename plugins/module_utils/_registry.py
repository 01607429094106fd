# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registries as seen from a server: ``docker login`` before a pull, and the SSH remote forward that
carries a local registry (``registry.server: localhost:PORT``) from the deployer to the server.

Kamal 2.8+ dies with ``Failed to establish port forward`` after 30 s when the server's sshd refuses the
forward. Here the server itself says whether the forward listens (a listening socket on PORT owned by the
sshd process our own command runs under) and, when it does not, reads sshd's settings to name the cause.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import shlex

from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming

LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"
SSHD_CONFIG = "/etc/ssh/sshd_config"
FORWARDING_KEYS = ("allowtcpforwarding", "disableforwarding", "permitlisten")


# -- login ------------------------------------------------------------------------------------------------

def credentials(registry):
    """The ``registry`` option when it calls for a login: a username, and not a local registry."""
    registry = dict(registry or {})
    if not registry.get("username") or naming.is_local_registry(registry.get("server")):
        return None
    return registry


def option_spec():
    """The argument spec of the ``registry`` option of kamal_app and kamal_accessory (documented once, in
    ``doc_fragments/container.py``: ``kamal.deploy.container.registry``)."""
    return dict(type="dict", options=dict(
        server=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
    ))


def login_action(registry):
    server = registry.get("server") or ""
    return "docker login %s-u %s -p [redacted]" % (server + " " if server else "", registry["username"])


def login(client, registry, host=None):
    """``docker login`` on this server's engine (the SDK keeps the credentials for this client's pulls).

    The error names the registry, the user and the server, and says which of the two usual causes it is.
    """
    server = registry.get("server") or ""
    kwargs = {"username": str(registry["username"]), "password": str(registry.get("password") or ""), "reauth": True}
    if server:
        kwargs["registry"] = server
    try:
        client.login(**kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        raise _docker.DockerError(login_failure(server, registry["username"], host, _docker.error_message(exc)))


def login_failure(server, username, host, text):
    where = server or "Docker Hub"
    lowered = text.lower()
    if any(word in lowered for word in ("unauthorized", "401", "incorrect username or password", "authentication required", "denied")):
        hint = "the registry refused the credentials: check registry.username and registry.password (or the secret they name)"
    elif any(word in lowered for word in ("connection refused", "no such host", "timeout", "i/o timeout", "no route",
                                          "dial tcp", "certificate", "x509", "server gave http response")):
        hint = "the registry is unreachable from this server (its address, its port, a firewall, or TLS trust)"
    else:
        hint = "see the registry's answer above"
    return "docker login to %s as %s failed on %s: %s. Cause: %s." % (where, username, host or "this server", text.rstrip("."), hint)


# -- the SSH remote forward of a local registry -------------------------------------------------------------

def _read(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def listeners(port, proc="/proc"):
    """Listening TCP sockets on ``port`` (any address): [(address, inode)]."""
    found = []
    for name in ("tcp", "tcp6"):
        text = _read(os.path.join(proc, "net", name)) or ""
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A":
                continue
            address, _sep, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == int(port):
                found.append((address, fields[9]))
    return found


def parent_pid(pid, proc="/proc"):
    stat = _read(os.path.join(proc, str(pid), "stat")) or ""
    # The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
    tail = stat.rpartition(")")[2].split()
    return int(tail[1]) if len(tail) > 1 else 0


def ancestors(pid=None, proc="/proc"):
    """This process and its parents up to init: the sshd session our command runs under is one of them."""
    pid = pid or os.getpid()
    chain = []
    while pid and pid not in chain:
        chain.append(pid)
        pid = parent_pid(pid, proc)
    return chain


def process_name(pid, proc="/proc"):
    return (_read(os.path.join(proc, str(pid), "comm")) or "?").strip()


def socket_owner(inodes, pids, proc="/proc"):
    """The first of ``pids`` holding one of the socket ``inodes``, or None (fds of others are unreadable
    unless root)."""
    wanted = set("socket:[%s]" % inode for inode in inodes)
    for pid in pids:
        fd_dir = os.path.join(proc, str(pid), "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) in wanted:
                    return pid
            except OSError:
                continue
    return None


def all_pids(proc="/proc"):
    try:
        return sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    except OSError:
        return []


def forward_state(port, proc="/proc"):
    """``{"listening": ours?, "taken_by": "name (pid N)" or None}`` for the forward on ``port``."""
    sockets = listeners(port, proc)
    if not sockets:
        return {"listening": False, "taken_by": None}
    inodes = [inode for _address, inode in sockets]
    if socket_owner(inodes, ancestors(proc=proc), proc) is not None:
        return {"listening": True, "taken_by": None}
    owner = socket_owner(inodes, all_pids(proc), proc)
    return {"listening": False, "taken_by": "%s (pid %d)" % (process_name(owner, proc), owner) if owner else "another process"}


def parse_sshd_t(text):
    """``sshd -T`` output -> {key: value} for the forwarding keys (permitlisten may repeat)."""
    settings = {}
    for line in (text or "").splitlines():
        key, _sep, value = line.strip().partition(" ")
        key = key.lower()
        if key in FORWARDING_KEYS:
            settings[key] = (settings[key] + " " + value) if key in settings else value
    return settings


def _config_lines(path, seen=None):
    """sshd_config lines with ``Include`` expanded (relative paths are under /etc/ssh)."""
    seen = seen if seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    lines = []
    for line in (_read(path) or "").splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].lower() == "include":
            for pattern in shlex.split(words[1]):
                pattern = pattern if pattern.startswith("/") else os.path.join("/etc/ssh", pattern)
                for included in sorted(glob.glob(pattern)):
                    lines += _config_lines(included, seen)
        else:
            lines.append((path, line))
    return lines


def parse_sshd_config(path=SSHD_CONFIG):
    """What we can tell without root: the global forwarding settings (first value wins, as in sshd) and the
    Match blocks that change them. {"global": {...}, "match": [(match line, {...})], "readable": bool}."""
    lines = _config_lines(path)
    result = {"global": {}, "match": [], "readable": bool(lines)}
    current = None
    for _path, line in lines:
        words = line.split("#", 1)[0].strip().split(None, 1)
        if len(words) < 2:
            continue
        key, value = words[0].lower(), words[1].strip().strip('"')
        if key == "match":
            current = ("Match " + value, {})
            if value.lower() != "all":
                result["match"].append(current)
            else:
                current = None
            continue
        if key in FORWARDING_KEYS:
            target = current[1] if current else result["global"]
            target.setdefault(key, value.lower())
    return result


def sshd_settings(run_command, connection=None):
    """The forwarding settings sshd applies, globally and for this very connection (Match blocks
    included), from ``sshd -T`` (root), else from reading sshd_config. ``run_command(args) -> (rc, out, err)``;
    ``connection``: SSH_CONNECTION (client address, client port, server address, server port)."""
    sshd = next((p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd") if os.path.exists(p)), "sshd")
    rc, out, _err = run_command([sshd, "-T"])
    if rc == 0 and out.strip():
        facts = {"source": "sshd -T", "global": parse_sshd_t(out), "effective": None, "match": []}
        parts = (connection or "").split()
        if len(parts) == 4:
            user = os.environ.get("USER") or os.environ.get("LOGNAME") or "root"
            spec = "user=%s,host=%s,addr=%s,laddr=%s,lport=%s" % (user, parts[0], parts[0], parts[2], parts[3])
            rc, out, _err = run_command([sshd, "-T", "-C", spec])
            if rc == 0:
                facts["effective"] = parse_sshd_t(out)
        facts["match"] = parse_sshd_config()["match"]
        return facts
    parsed = parse_sshd_config()
    return {"source": SSHD_CONFIG if parsed["readable"] else None, "global": parsed["global"], "effective": None,
            "match": parsed["match"]}


def forwarding_refused(settings):
    """Why these settings refuse a remote forward, or None."""
    if (settings.get("disableforwarding") or "no") == "yes":
        return "DisableForwarding yes"
    allow = settings.get("allowtcpforwarding") or "yes"
    if allow in ("no", "local"):
        return "AllowTcpForwarding %s" % allow
    return None


def listen_refused(settings, port):
    """Why PermitListen refuses a listener on ``port``, or None."""
    value = settings.get("permitlisten")
    if not value or value == "any":
        return None
    for entry in value.split():
        if entry == "none":
            continue
        entry_port = entry.rsplit(":", 1)[-1]
        if entry_port in ("*", str(port)):
            return None
    return "PermitListen %s" % value


def diagnose(port, state, facts, jump_host=None):
    """The checks in order, each (name, finding, is_the_cause). ``facts`` from :func:`sshd_settings`."""
    glob_settings = facts.get("global") or {}
    effective = facts.get("effective")
    source = facts.get("source")
    checks = []

    refused = forwarding_refused(glob_settings)
    if source is None:
        finding = "unknown: sshd_config is not readable and `sshd -T` needs root"
    else:
        finding = "`%s` (%s)" % (refused, source) if refused else "AllowTcpForwarding %s" % (glob_settings.get("allowtcpforwarding") or "yes")
    checks.append(("sshd AllowTcpForwarding", finding, bool(refused)))

    match_cause = None
    blocks = [(line, forwarding_refused(values)) for line, values in facts.get("match") or [] if forwarding_refused(values)]
    if not refused:
        if effective is not None:
            effective_refused = forwarding_refused(effective)
            if effective_refused:
                match_cause = "`%s` for this connection%s" % (effective_refused, (" (from `%s`)" % blocks[0][0]) if blocks else "")
        elif blocks:
            match_cause = "`%s` sets `%s` (it may apply to this connection)" % blocks[0]
    checks.append(("a Match block", match_cause or "none refuses forwarding for this connection", bool(match_cause)))

    listen = listen_refused(effective or glob_settings, port)
    checks.append(("PermitListen", "`%s` does not allow port %s" % (listen, port) if listen
                   else "allows port %s" % port, bool(listen)))

    checks.append(("the jump host", ("%s: its sshd must allow TCP forwarding too" % jump_host) if jump_host else "none configured",
                   False))

    taken = state.get("taken_by")
    checks.append(("port %s on the server" % port, ("already taken by %s" % taken) if taken else "free", bool(taken)))
    return checks


def forward_failure_message(host, registry, port, checks, jump_host=None, restart_hint=None):
    """The preflight's message: the host, each likely cause in order with what the server told us, the fixes."""
    lines = ["%s cannot pull from the local registry %s: the SSH remote forward (-R %d:127.0.0.1:%d) is not listening "
             "on the server, so `docker pull %s/...` there would fail." % (host, registry, port, port, registry)]
    causes = [name for name, _finding, cause in checks if cause]
    lines.append("Cause: %s." % ("; ".join("%s: %s" % (n, f) for n, f, c in checks if c) if causes else
                                 "not found in sshd's settings; sshd's log on the server says why it refused the forward"))
    lines.append("Likely causes, in order (what %s says):" % host)
    for index, (name, finding, cause) in enumerate(checks, 1):
        lines.append("  %d. %s: %s%s" % (index, name, finding, "  <- this" if cause else ""))
    fixes = []
    if "port %s on the server" % port in causes:
        fixes.append("free port %d on the server, or pick another local registry port (registry.server: localhost:OTHER)" % port)
    if "PermitListen" in causes:
        fixes.append("allow the port in sshd_config: `PermitListen %d` (or `PermitListen any`)" % port)
    if not fixes or set(causes) - {"PermitListen", "port %s on the server" % port}:
        restart = restart_hint or "`systemctl restart ssh` (Debian/Ubuntu) or `systemctl restart sshd`"
        fixes.append("allow remote forwarding in %s (and in any Match block that applies): `AllowTcpForwarding remote` "
                     "(or `yes`), then restart sshd: %s" % (SSHD_CONFIG, restart))
    if jump_host:
        fixes.append("on the jump host %s, the same sshd setting" % jump_host)
    fixes.append("or deliver images without a registry or any forwarding: `x-kamal-deploy: {image_delivery: ssh}` in "
                 "config/deploy.yml (kamal.deploy's own setting)")
    lines.append("Fix: " + "; ".join(fixes) + ".")
    return "\n".join(lines)


def pull_failure_hint(server, text):
    """A pull from a local registry that failed: say which end of the tunnel to look at."""
    if not naming.is_local_registry(server):
        return ""
    if re.search(r"connection refused|EOF|connection reset|dial tcp", text, re.I):
        return (" The local registry %s is reached through the SSH forward to the deployer: check that the container "
                "%s runs on the deployer (`docker start %s`)." % (server, LOCAL_REGISTRY_CONTAINER, LOCAL_REGISTRY_CONTAINER))
    return ""
