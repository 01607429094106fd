# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's audit log on a server: ``.kamal/<service>[-<destination>]-audit.log`` in the SSH user's home.

One line per action, in Kamal's format::

    [<UTC ISO8601>] [<performer>] [<destination>]? [<role>]? <message>

Kamal builds the line with ``echo <shell-escaped line> >> file``. We never go through a shell: the line
is escaped here so that nothing in it can end the line or smuggle a terminal escape into ``tail``
(newlines, carriage returns and every other control character become ``\\n``, ``\\r``, ``\\xNN``,
``\\uNNNN``; a ``]`` inside a bracketed field becomes ``\\]`` so a performer cannot forge the next
field), secret values are masked before escaping, and the file is appended with one ``write`` on an
``O_APPEND`` descriptor, so concurrent writers on the same host never interleave within a line.

Pure stdlib (Python 3.9+): modules on the servers import it.
"""

from __future__ import annotations

import os
import time

from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming

MASK = "********"
DEFAULT_PERFORMER = "kamal.deploy"
DEFAULT_TAIL_LINES = 50

# Bidi overrides and isolates: printable in the Unicode sense, but they reorder what a terminal shows.
_BIDI_CONTROLS = frozenset(chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)))
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def utc_now_iso8601(now=None):
    """``2026-11-22T07:11:10Z``: Ruby's ``Time.now.utc.iso8601``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


def _escape_char(char):
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return "\\x%02x" % code
    if char in ("\u2028", "\u2029", "\ufeff") or char in _BIDI_CONTROLS or 0xD800 <= code < 0xE000:
        return "\\u%04x" % code
    return char


def escape(text, bracketed=False):
    """Make ``text`` safe inside one audit line (and, with ``bracketed``, inside one ``[...]`` field)."""
    escaped = "".join(_escape_char(c) for c in str(text))
    if bracketed:
        escaped = escaped.replace("[", "\\[").replace("]", "\\]")
    return escaped


def mask(text, secrets=()):
    """Replace every occurrence of every non-empty secret value with ``********`` (longest first, so a
    secret that contains another is masked whole)."""
    text = str(text)
    for secret in sorted({str(s) for s in secrets or () if s is not None and str(s) != ""}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def format_line(message, performer, destination=None, role=None, recorded_at=None, secrets=()):
    """One audit line, without its trailing newline.

    ``recorded_at`` is a ``time.time()`` value (default: now) or an already formatted string. Empty
    ``destination``/``role`` are left out, as Kamal leaves out unset tags.
    """
    stamp = recorded_at if isinstance(recorded_at, str) else utc_now_iso8601(recorded_at)
    fields = [stamp, performer] + [value for value in (destination, role) if value not in (None, "")]
    tags = " ".join("[%s]" % escape(mask(value, secrets), bracketed=True) for value in fields)
    return "%s %s" % (tags, escape(mask(message, secrets)))


def log_path(home, service, destination=None):
    """Absolute path of the audit log under ``home``."""
    return os.path.join(home, naming.audit_log_path(service, destination))


def append_line(path, line):
    """``mkdir -p`` the log's directory and append ``line`` plus a newline in a single O_APPEND write."""
    data = (line.rstrip("\n") + "\n").encode("utf-8", "backslashreplace")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        written = os.write(fd, data)
    finally:
        os.close(fd)
    if written != len(data):
        raise OSError("short write to %s (%d of %d bytes)" % (path, written, len(data)))
    return data.decode("utf-8")


def record(home, service, message, performer, destination=None, role=None, secrets=(), recorded_at=None,
           check_mode=False):
    """Append one line to the service's audit log under ``home``; returns the line (also in check mode,
    where nothing is written)."""
    line = format_line(message, performer, destination=destination, role=role, recorded_at=recorded_at,
                       secrets=secrets)
    if not check_mode:
        append_line(log_path(home, service, destination), line)
    return line


def option_spec():
    """The ``performer`` and ``audit`` options of the modules that write audit lines (documented once:
    ``kamal.deploy.container.audit``)."""
    return dict(performer=dict(type="str"), audit=dict(type="bool", default=True))


def record_all(home, service, messages, performer=None, destination=None, role=None, secrets=(), check_mode=False):
    """:func:`record` for each message, in order; returns the lines."""
    return [record(home, service, message, performer or DEFAULT_PERFORMER, destination=destination, role=role,
                   secrets=secrets, check_mode=check_mode) for message in messages]


def tail(path, lines=DEFAULT_TAIL_LINES, block_size=8192):
    """The last ``lines`` lines of ``path`` (Kamal's ``tail -n 50``), read from the end; ``[]`` when the
    file does not exist."""
    if lines <= 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= lines:
            step = min(block_size, pos)
            pos -= step
            os.lseek(fd, pos, os.SEEK_SET)
            data = os.read(fd, step) + data
    finally:
        os.close(fd)
    text = data.decode("utf-8", "replace")
    return text.splitlines()[-lines:]
