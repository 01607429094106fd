# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's docker argument rendering (``--log-opt max-size="10m"``), for values ``kamal config`` prints.

Kamal quotes values with Ruby's ``String#dump`` on ASCII runs, escapes backticks, and escapes ``$``
except where it starts ``${...}`` (left for the remote shell to expand).
"""

from __future__ import annotations

import re

_ASCII_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
_DOLLAR_NOT_BRACED = re.compile(r"\$(?!\{[^}]*\})")
_DUMP = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\v": "\\v",
         "\b": "\\b", "\a": "\\a", "\x1b": "\\e"}


def ruby_to_s(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dump(text):
    out = []
    for index, char in enumerate(text):
        if char in _DUMP:
            out.append(_DUMP[char])
        elif char == "#" and text[index + 1:index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif ord(char) < 0x20 or ord(char) == 0x7f:
            out.append("\\x%02X" % ord(char))
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def escape_shell_value(value):
    parts = []
    for run in _ASCII_RUNS.findall(ruby_to_s(value)):
        if run.isascii():
            escaped = _dump(run).replace("`", "\\`")
            parts.append(_DOLLAR_NOT_BRACED.sub(lambda _m: "\\$", escaped))
        else:
            parts.append(run)
    return "".join(parts)


def _present(value):
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return bool(value.strip() if isinstance(value, str) else value)
    return True


def argumentize(argument, attributes):
    """``--flag key="value"`` pairs; a false value gives ``key=false`` and an empty one the bare key."""
    items = attributes.items() if isinstance(attributes, dict) else [(item, None) for item in attributes]
    args = []
    for key, value in items:
        if _present(value):
            args += [argument, "%s=%s" % (key, escape_shell_value(value))]
        elif value is False:
            args += [argument, "%s=false" % key]
        else:
            args += [argument, str(key)]
    return args


def optionize(options):
    """``--key "value"``; a list repeats the flag and ``true`` gives a bare ``--key``."""
    args = []
    for key, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            args.append("--%s" % key)
            if item is not True:
                args.append(escape_shell_value(item))
    return args
