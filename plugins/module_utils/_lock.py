# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's deploy lock on a server, readable and writable by both Kamal and kamal.deploy.

The lock is the directory ``.kamal/lock-<service>[-<destination>]`` in the SSH user's home: ``mkdir`` is
atomic, so whoever creates it holds the lock. Inside it:

* ``details``: what Kamal writes and ``kamal lock status`` prints: Ruby ``Base64.encode64`` (60-char
  lines) of ``Locked by: <name> at <UTC ISO8601>\\nVersion: <version>\\nMessage: <message>``.
* ``kamal-deploy.json``: what only we write (Kamal never looks at it, and its ``lock release``,
  ``rm details && rm -r dir``, removes it with the directory): run id, controller host and pid, manual
  flag, TTL and expiry.

A held lock is *stale* when
  * it is an automatic lock (ours, or Kamal's ``Automatic deploy lock``) older than its TTL (ours carry
    their own TTL; Kamal's get the caller's ``ttl``), or
  * it is ours, taken from the same controller host as the caller, and the caller says the owner's pid is
    not alive there (``live_pids``: the module runs on the server and cannot see the controller's processes).
Manual locks never expire and are never stale. An expired lock is broken by the next acquire; a lock whose
owner is gone (or any other lock) is broken only with ``force``.

Writes are ordered so a reader never sees a half-made lock for long: the files are written next to the
lock first and renamed into it after the ``mkdir`` (extra file first, ``details`` last). Releasing and
breaking rename the directory away (atomic) before deleting it. Breaking happens under a second
``mkdir`` mutex and re-checks that the lock is still the one judged breakable, so two callers breaking
the same expired lock cannot break each other's fresh one.

Pure stdlib (Python 3.9+): the kamal_lock module imports it on the servers.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import errno
import json
import os
import re
import shlex
import shutil
import socket
import time

from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming

DETAILS_FILE = "details"
EXTRA_FILE = "kamal-deploy.json"
EXTRA_FORMAT = 1
TOOL = "kamal.deploy"
AUTOMATIC_MESSAGE = "Automatic deploy lock"
DEFAULT_TTL = 3600
# A lock directory seen without its details is being written by its owner: wait this long for them.
DETAILS_GRACE = 2.0
# A break mutex older than this was left by a crashed breaker.
BREAK_MUTEX_STALE_AFTER = 60

_DETAILS_RE = re.compile(r"\ALocked by: (?P<locked_by>.*) at (?P<at>\S+)\nVersion: (?P<version>.*)\nMessage: (?P<message>.*)\Z", re.S)


class LockError(Exception):
    """The lock could not be acquired or released; ``info`` carries the holder for the module's result."""

    def __init__(self, msg, **info):
        super().__init__(msg)
        self.info = info


def iso8601(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_iso8601(text):
    """Epoch seconds of Ruby's ``Time#iso8601`` (``Z`` or ``+hh:mm``), or None."""
    match = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)$", text or "")
    if not match:
        return None
    parts = [int(p) for p in match.groups()[:6]]
    epoch = calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, 0))
    zone = match.group(7)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


def details_text(locked_by, version, message, at):
    """The three lines Kamal encodes (``at`` is epoch seconds)."""
    return "Locked by: %s at %s\nVersion: %s\nMessage: %s" % (locked_by, iso8601(at), version, message)


def encode_details(text):
    """Ruby ``Base64.encode64`` (a newline after every 60 characters and at the end), plus the newline
    Kamal's ``echo "<base64>" > details`` adds."""
    flat = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return "".join(flat[i:i + 60] + "\n" for i in range(0, len(flat), 60)) + "\n"


def decode_details(data):
    """``base64 -d`` of a details file; None when it is not base64."""
    try:
        compact = b"".join(data.split())
        return base64.b64decode(compact, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def parse_details(text):
    """``{locked_by, locked_at, version, message}`` from decoded details (missing parts are None)."""
    match = _DETAILS_RE.match((text or "").strip("\n"))
    if not match:
        return {"locked_by": None, "locked_at": None, "version": None, "message": None}
    return {"locked_by": match.group("locked_by"), "locked_at": match.group("at"),
            "version": match.group("version"), "message": match.group("message")}


def human_duration(seconds):
    """``3d 4h``, ``2h 5m``, ``4m 10s``, ``12s``."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%dd %dh" % (days, hours)
    if hours:
        return "%dh %dm" % (hours, minutes)
    if minutes:
        return "%dm %ds" % (minutes, secs)
    return "%ds" % secs


def release_commands(service, destination=None):
    """How a user releases the lock, with our playbook and with Kamal."""
    inventory = "config/deploy.%s.yml" % destination if destination else "config/deploy.yml"
    return ["ansible-playbook -i %s kamal.deploy.lock_release" % inventory,
            "kamal lock release" + (" -d %s" % destination if destination else "")]


def lock_record(locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer, now, server):
    """What a lock holds: Kamal's ``details`` text and our extra file's dict."""
    ttl = None if manual or not ttl else int(ttl)
    extra = {
        "tool": TOOL, "format": EXTRA_FORMAT, "run_id": run_id, "controller_host": controller_host, "pid": pid,
        "locked_by": locked_by, "performer": performer, "version": version, "message": message,
        "manual": bool(manual), "ttl": ttl, "acquired_at": iso8601(now), "acquired_at_epoch": now,
        "expires_at": iso8601(now + ttl) if ttl else None, "server": server,
    }
    return {"details": details_text(locked_by, version, message, now), "extra": extra}


def record_holder(path, record):
    """The holder view of a lock record we write (or would write) at ``path``."""
    extra = record["extra"]
    return {"path": path, "details": record["details"], "locked_by": extra["locked_by"],
            "locked_at": extra["acquired_at"], "version": extra["version"], "message": extra["message"], "age": 0,
            "tool": TOOL, "run_id": extra["run_id"], "controller_host": extra["controller_host"], "pid": extra["pid"],
            "manual": extra["manual"], "ttl": extra["ttl"], "expires_at": extra["expires_at"], "owner_alive": None,
            "stale": False, "stale_reason": None}


# -- the one-round-trip path ---------------------------------------------------------------------------
# A deploy takes a free lock and releases its own: the common case needs no Python on the server. These build a
# POSIX shell command for it (run in the module's home: the given one, else the user's own) that does what
# DeployLock does and prints one QUICK_MARK line of what it found; anything else (a held lock to wait for, break
# or describe, a lock not ours) is left to the module, which decides with the whole rule set.
QUICK_MARK = "kamal-lock:"


def _cd_home(home=None):
    """Into ``home``, else the user's home as the module finds it (the passwd entry; $HOME where getent is missing)."""
    if home:
        return "cd %s || exit 1; " % shlex.quote(home)
    return 'h=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6); cd "${h:-$HOME}" || exit 1; '


def quick_acquire_command(service, destination, record, home=None):
    """Take the lock if it is free, as :meth:`DeployLock._try_create` does (both files written next to it, the
    ``mkdir``, then renamed in, ``details`` last); ``server`` is the server's ``uname -n``. Prints
    ``kamal-lock:acquired <home>``, or ``kamal-lock:held`` having changed nothing."""
    lock = naming.lock_dir(service, destination)
    tmp = "%s/.%s" % (naming.RUN_DIRECTORY, os.path.basename(lock))
    # Keys and values are JSON-quoted, so the one unquoted '"server": null' is the key's own.
    before, after = json.dumps(dict(record["extra"], server=None), sort_keys=True).split('"server": null', 1)
    before, after = before + '"server": "', '"' + after
    return (
        "{cd}mkdir -p {run} && e={tmp}.extra.$$ && d={tmp}.details.$$ && "
        "printf '%s%s%s\\n' {before} \"$(uname -n)\" {after} > \"$e\" && printf '%s' {details} > \"$d\" && "
        "if mkdir {lock} 2>/dev/null; then mv \"$e\" {lock}/{extra_file} && mv \"$d\" {lock}/{details_file} && "
        "echo \"{mark}acquired $PWD\"; else rm -f \"$e\" \"$d\"; echo {mark}held; fi"
    ).format(cd=_cd_home(home), run=naming.RUN_DIRECTORY, tmp=shlex.quote(tmp), lock=shlex.quote(lock), before=shlex.quote(before),
             after=shlex.quote(after), details=shlex.quote(encode_details(record["details"])),
             extra_file=EXTRA_FILE, details_file=DETAILS_FILE, mark=QUICK_MARK)


def quick_release_command(service, destination, run_id, home=None):
    """Release the lock if it was taken with ``run_id`` (renamed away, then deleted, as :meth:`DeployLock.release`
    does), printing ``kamal-lock:released <home>`` and the lock's extra file and details; ``kamal-lock:absent
    <home>`` when there is none; ``kamal-lock:other <home>`` (left alone) when it is not ours."""
    lock = naming.lock_dir(service, destination)
    tmp = "%s/.%s" % (naming.RUN_DIRECTORY, os.path.basename(lock))
    return (
        "{cd}if [ ! -d {lock} ]; then echo \"{mark}absent $PWD\"; "
        "elif grep -qF {owner} {lock}/{extra_file} 2>/dev/null; then g={tmp}.released.$$; "
        "mv {lock} \"$g\" && echo \"{mark}released $PWD\" && head -n 1 \"$g\"/{extra_file} && "
        "cat \"$g\"/{details_file} 2>/dev/null; rm -rf \"$g\"; else echo \"{mark}other $PWD\"; fi"
    ).format(cd=_cd_home(home), lock=shlex.quote(lock), tmp=shlex.quote(tmp), owner=shlex.quote('"run_id": %s' % json.dumps(run_id)),
             extra_file=EXTRA_FILE, details_file=DETAILS_FILE, mark=QUICK_MARK)


def quick_outcome(stdout):
    """``(word, rest)`` of the first QUICK_MARK line (``("acquired", "/root")``) and the lines after
    it, or ``((None, None), [])`` when the command printed none (it failed: the module decides)."""
    lines = (stdout or "").splitlines()
    for index, line in enumerate(lines):
        if line.startswith(QUICK_MARK):
            word, rest = (line[len(QUICK_MARK):].split(" ", 1) + [""])[:2]
            return (word, rest), lines[index + 1:]
    return (None, None), []


class DeployLock:
    """The deploy lock of one service (and destination) under one home directory.

    ``clock`` and ``sleep`` are injected for tests; ``hostname`` names the server in messages.
    """

    def __init__(self, home, service, destination=None, clock=time.time, sleep=time.sleep, hostname=None):
        self.home = home
        self.service = service
        self.destination = destination or None
        self.run_dir = os.path.join(home, naming.RUN_DIRECTORY)
        self.path = os.path.join(home, naming.lock_dir(service, self.destination))
        self.clock = clock
        self.sleep = sleep
        self.hostname = hostname or socket.gethostname()

    # -- reading -------------------------------------------------------------------------------------

    def _read(self):
        """One look at the lock: None when free, else the raw parts (details may still be missing)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        raw = {"identity": (st.st_ino, st.st_ctime_ns), "mtime": st.st_mtime, "details": None, "extra": None}
        try:
            with open(os.path.join(self.path, DETAILS_FILE), "rb") as f:
                raw["details"] = f.read()
        except (FileNotFoundError, NotADirectoryError):
            pass
        try:
            with open(os.path.join(self.path, EXTRA_FILE), "rb") as f:
                extra = json.loads(f.read().decode("utf-8"))
            raw["extra"] = extra if isinstance(extra, dict) else None
        except (FileNotFoundError, NotADirectoryError, ValueError):
            pass
        return raw

    def _read_settled(self):
        """Like :meth:`_read`, but gives an owner that has just made the directory a moment to write
        its files, so a loser of a race reports the winner's details."""
        deadline = self.clock() + DETAILS_GRACE
        raw = self._read()
        while raw is not None and not raw["details"] and raw["extra"] is None and self.clock() < deadline:
            self.sleep(0.1)
            raw = self._read()
        return raw

    def holder(self, raw, ttl=DEFAULT_TTL, controller_host=None, live_pids=None):
        """Who holds the lock, since when, and whether it is stale (see the module docstring)."""
        now = self.clock()
        text = decode_details(raw["details"]) if raw["details"] is not None else None
        parsed = parse_details(text)
        extra = raw["extra"] or {}
        ours = extra.get("tool") == TOOL
        locked_at = parsed["locked_at"] or extra.get("acquired_at")
        since = extra.get("acquired_at_epoch") if ours else None
        if not isinstance(since, (int, float)):
            since = parse_iso8601(locked_at)
        if since is None:
            since = raw["mtime"]
            locked_at = locked_at or iso8601(since)
        message = parsed["message"] if parsed["message"] is not None else extra.get("message")
        info = {
            "path": self.path,
            "details": text,
            "locked_by": parsed["locked_by"] if parsed["locked_by"] is not None else extra.get("locked_by"),
            "locked_at": locked_at,
            "version": parsed["version"] if parsed["version"] is not None else extra.get("version"),
            "message": message,
            "age": int(max(0, now - since)),
            "tool": TOOL if ours else "kamal",
            "run_id": extra.get("run_id") if ours else None,
            "controller_host": extra.get("controller_host") if ours else None,
            "pid": extra.get("pid") if ours else None,
            "manual": bool(extra.get("manual")) if ours else (message is not None and message != AUTOMATIC_MESSAGE),
            "ttl": None,
            "expires_at": None,
            "owner_alive": None,
            "stale": False,
            "stale_reason": None,
        }
        if ours and not info["manual"]:
            info["ttl"] = extra.get("ttl") if isinstance(extra.get("ttl"), int) else None
        elif not ours and message == AUTOMATIC_MESSAGE:
            info["ttl"] = ttl or None
        if text is None and not ours:
            # A directory without readable details: neither Kamal nor we can say who made it.
            info["manual"] = False
            info["ttl"] = ttl or None
        if info["ttl"]:
            info["expires_at"] = iso8601(since + info["ttl"])
        if ours and not info["manual"] and controller_host and live_pids is not None and isinstance(info["pid"], int):
            if info["controller_host"] == controller_host:
                info["owner_alive"] = info["pid"] in {int(p) for p in live_pids}
        if info["manual"]:
            return info
        if info["ttl"] and now >= since + info["ttl"]:
            info["stale"], info["stale_reason"] = True, "expired: older than its TTL of %s" % human_duration(info["ttl"])
        elif info["owner_alive"] is False:
            info["stale"] = True
            info["stale_reason"] = "its owner, pid %s on %s, is gone" % (info["pid"], info["controller_host"])
        return info

    def status(self, ttl=DEFAULT_TTL, controller_host=None, live_pids=None):
        """``{"locked": bool, "holder": {...} or None}``."""
        raw = self._read_settled()
        if raw is None:
            return {"locked": False, "holder": None}
        return {"locked": True, "holder": self.holder(raw, ttl, controller_host, live_pids)}

    # -- messages ------------------------------------------------------------------------------------

    def describe(self, info):
        """One sentence about the holder: who, since when, version, message, owner and expiry."""
        parts = ["Locked by %s at %s (%s ago)" % (
            info["locked_by"] if info["locked_by"] is not None else "an unknown holder",
            info["locked_at"], human_duration(info["age"]))]
        parts.append("version: %s" % (info["version"] if info["version"] is not None else "unknown"))
        parts.append("message: %s" % (info["message"] if info["message"] is not None else "none"))
        if info["tool"] == TOOL:
            parts.append("taken by kamal.deploy from %s, pid %s, run %s" % (info["controller_host"], info["pid"], info["run_id"]))
        if info["manual"]:
            parts.append("manual lock (never expires)")
        elif info["expires_at"]:
            parts.append("expires at %s" % info["expires_at"])
        text = "; ".join(parts) + "."
        if info["stale"]:
            text += " The lock is stale (%s)." % info["stale_reason"]
        return text

    def held_message(self, info):
        commands = release_commands(self.service, self.destination)
        return "Deploy lock already in place on %s (%s). %s Release it with `%s` or `%s`, or break it with force " \
            "(`-e force_unlock=true`) if its owner is gone." % (self.hostname, self.path, self.describe(info), commands[0], commands[1])

    # -- writing -------------------------------------------------------------------------------------

    def _tmp_name(self, what):
        return os.path.join(self.run_dir, ".%s.%s.%d.%s" % (os.path.basename(self.path), what, os.getpid(), os.urandom(4).hex()))

    def _write_tmp(self, what, data):
        path = self._tmp_name(what)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    def _remove_dir(self, path, why):
        """Rename a lock directory away (atomic: the lock is free from this instant), then delete it."""
        gone = self._tmp_name(why)
        os.rename(path, gone)
        shutil.rmtree(gone, ignore_errors=True)
        return gone

    def _try_create(self, record):
        """The atomic step. True when we made the directory (and then wrote both files)."""
        os.makedirs(self.run_dir, exist_ok=True)
        extra_tmp = self._write_tmp("extra", json.dumps(record["extra"], sort_keys=True).encode("utf-8") + b"\n")
        details_tmp = self._write_tmp("details", encode_details(record["details"]).encode("utf-8"))
        try:
            try:
                os.mkdir(self.path)
            except FileExistsError:
                return False
            os.rename(extra_tmp, os.path.join(self.path, EXTRA_FILE))
            os.rename(details_tmp, os.path.join(self.path, DETAILS_FILE))
            return True
        finally:
            for tmp in (extra_tmp, details_tmp):
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def _break(self, raw):
        """Remove the lock seen as ``raw``, if it is still that lock. True when it was removed."""
        mutex = self.path + ".breaking"
        mutex = os.path.join(os.path.dirname(mutex), "." + os.path.basename(mutex))
        try:
            os.mkdir(mutex)
        except FileExistsError:
            try:
                if self.clock() - os.stat(mutex).st_mtime < BREAK_MUTEX_STALE_AFTER:
                    return False
                os.rmdir(mutex)
                os.mkdir(mutex)
            except OSError:
                return False
        try:
            current = self._read()
            if current is None or current["identity"] != raw["identity"] or current["details"] != raw["details"] \
                    or current["extra"] != raw["extra"]:
                return False
            self._remove_dir(self.path, "broken")
            return True
        except FileNotFoundError:
            return False
        finally:
            try:
                os.rmdir(mutex)
            except OSError:
                pass

    def new_record(self, locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer=None):
        return lock_record(locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer,
                           now=self.clock(), server=self.hostname)

    def acquire(self, locked_by="Unknown", version="", message=AUTOMATIC_MESSAGE, run_id=None, controller_host=None,
                pid=None, manual=False, ttl=DEFAULT_TTL, force=False, wait=0, wait_interval=2.0, live_pids=None,
                performer=None, check_mode=False):
        """Take the lock (or, in check mode, find out whether we would).

        Returns ``changed``, ``acquired``, ``reentrant``, ``broken`` (the holder removed, if any),
        ``waited`` (seconds) and ``holder`` (our record). Raises :class:`LockError` when held.
        """
        started = self.clock()
        deadline = started + max(0, wait or 0)
        broken = None
        while True:
            raw = self._read_settled()
            if raw is not None:
                info = self.holder(raw, ttl, controller_host, live_pids)
                if run_id and info["run_id"] == run_id:
                    return {"changed": False, "acquired": True, "reentrant": True, "broken": None,
                            "waited": int(self.clock() - started), "holder": info}
                expired = info["stale"] and info["stale_reason"].startswith("expired")
                if force or expired:
                    if check_mode:
                        return self._planned(locked_by, version, message, run_id, controller_host, pid, manual, ttl,
                                             performer, started, broken=info)
                    # force breaks the lock seen now, once: a lock someone takes meanwhile is a new holder
                    force = False
                    if self._break(raw):
                        broken = info
                    else:
                        self.sleep(0.1)  # another caller is breaking it, or it changed: look again
                    continue
                if wait and info["manual"]:
                    raise LockError("Deploy lock held manually on %s (%s), not waiting. %s Release it with `%s` or `%s`." % (
                        (self.hostname, self.path, self.describe(info)) + tuple(release_commands(self.service, self.destination))),
                        holder=info)
                if self.clock() >= deadline:
                    msg = self.held_message(info)
                    if wait:
                        msg = "Timed out after %ds waiting for the deploy lock. %s" % (wait, msg)
                    raise LockError(msg, holder=info)
                self.sleep(max(0.1, min(wait_interval, deadline - self.clock())))
                continue
            if check_mode:
                return self._planned(locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer,
                                     started, broken=broken)
            record = self.new_record(locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer)
            if self._try_create(record):
                return {"changed": True, "acquired": True, "reentrant": False, "broken": broken,
                        "waited": int(self.clock() - started), "holder": self._record_holder(record)}
            # lost a race for the directory: loop, read the winner and decide again

    def _record_holder(self, record):
        return record_holder(self.path, record)

    def _planned(self, locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer, started, broken):
        record = self.new_record(locked_by, version, message, run_id, controller_host, pid, manual, ttl, performer)
        return {"changed": True, "acquired": True, "reentrant": False, "broken": broken,
                "waited": int(self.clock() - started), "holder": self._record_holder(record)}

    def release(self, run_id=None, ttl=DEFAULT_TTL, check_mode=False):
        """Remove the lock. With ``run_id``, only a lock taken with that run id is removed (another
        holder's is left alone and reported); without, whatever lock is there, like ``kamal lock release``.

        Returns ``changed``, ``released`` and ``holder`` (the lock found, or None) and, when another
        holder's lock is left in place, ``not_released_reason``.
        """
        raw = self._read_settled()
        if raw is None:
            return {"changed": False, "released": False, "holder": None, "not_released_reason": None}
        info = self.holder(raw, ttl)
        if run_id and info["run_id"] != run_id:
            return {"changed": False, "released": False, "holder": info,
                    "not_released_reason": "the lock is not ours (run %s), left in place. %s" % (run_id, self.describe(info))}
        if not check_mode:
            try:
                self._remove_dir(self.path, "released")
            except FileNotFoundError:
                return {"changed": False, "released": False, "holder": info, "not_released_reason": None}
            except OSError as e:
                if e.errno in (errno.EACCES, errno.EPERM):
                    raise LockError("Cannot release the deploy lock %s: %s" % (self.path, e), holder=info) from None
                raise
        return {"changed": True, "released": True, "holder": info, "not_released_reason": None}
