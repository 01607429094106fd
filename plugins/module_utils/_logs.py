# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's ``logs`` (app, accessory and proxy alike): one container's last lines, ``since``, ``grep``.

Kamal runs ``docker logs --timestamps [--since S] [--tail N] 2>&1 | grep 'G'`` and shows 100 lines when
neither ``lines``, ``since`` nor ``grep`` is given, for ``app logs``, ``accessory logs`` and ``proxy logs``.
Here the same happens through the SDK: :func:`parse_since` turns Kamal's ``since`` into the Unix seconds
the SDK's ``logs(since=...)`` takes, and ``grep`` is a regular expression searched in each line (grep's
rule: a line matches when the pattern is found anywhere in it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import time

from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError

DEFAULT_LINES = 100

SINCE_FORMS = ("a duration (30s, 30m, 1h30m, 2d), an ISO 8601 time (2026-12-04T10:00:00Z, "
               "2026-12-04T10:00:00+02:00, 2026-12-04) or a Unix timestamp (1796378400)")

_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h|d)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|\u00b5s|ms|s|m|h|d))+")
_UNIX = re.compile(r"\d+(?:\.\d+)?")
# Docker's forms: RFC 3339 with or without seconds, fraction and zone, and a bare date. No zone = the
# server's local time, as `docker logs --since` reads it there.
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
                  r"(?:([Zz])|([+-])(\d\d):?(\d\d))?")


def option_spec():
    """The argument spec of the ``logs`` options, for every module that reads logs (documented once, in
    ``doc_fragments/container.py``: ``kamal.deploy.container.logs``)."""
    return dict(
        lines=dict(type="int"),
        since=dict(type="str"),
        grep=dict(type="str"),
        timestamps=dict(type="bool", default=True),
    )


def parse_since(value, now=time.time):
    """Kamal's ``--since`` as Unix seconds (an int, which every docker SDK release takes).

    ``now()`` anchors the durations (injected by the tests)."""
    text = str(value).strip()
    if _DURATION.fullmatch(text):
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
        return _positive(now() - seconds)
    if _UNIX.fullmatch(text):
        return _positive(float(text))
    match = _ISO.fullmatch(text)
    if match:
        return _positive(_iso_seconds(match, value))
    raise KamalError("since=%r is not a time Kamal takes: use %s" % (value, SINCE_FORMS))


def _iso_seconds(match, value):
    year, month, day, hour, minute, second, fraction, utc, sign, zone_hours, zone_minutes = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        if utc or sign:
            offset = datetime.timedelta(hours=int(zone_hours or 0), minutes=int(zone_minutes or 0))
            moment = moment.replace(tzinfo=datetime.timezone(-offset if sign == "-" else offset))
    except ValueError as exc:
        raise KamalError("since=%r is not a valid time (%s): use %s" % (value, exc, SINCE_FORMS))
    return moment.timestamp() + float("0." + (fraction or "0"))


def _positive(seconds):
    # The SDK refuses 0 (and Docker reads it as "from the start" anyway).
    return max(1, int(seconds))


def grep_pattern(grep):
    """``grep`` compiled, or a clear error for a pattern that is not a regular expression."""
    try:
        return re.compile(grep)
    except re.error as exc:
        raise KamalError("grep=%r is not a regular expression: %s" % (grep, exc))


def read_logs(container, name, lines=None, since=None, grep=None, timestamps=True, now=time.time):
    """The log lines of ``container`` (stdout and stderr, as ``2>&1``), named ``name`` in errors.

    Kamal's defaults: the last 100 lines unless ``lines``, ``since`` or ``grep`` is given."""
    pattern = grep_pattern(grep) if grep else None
    since = None if since == "" else since
    if lines is None and since is None and not grep:
        lines = DEFAULT_LINES
    kwargs = {"stdout": True, "stderr": True, "timestamps": timestamps}
    if lines is not None:
        kwargs["tail"] = int(lines)
    if since is not None:
        kwargs["since"] = parse_since(since, now)
    data = _docker.call("reading the logs of %s" % name, container.logs, **kwargs)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return [line for line in text.splitlines() if pattern is None or pattern.search(line)]
