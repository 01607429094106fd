# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small string helpers that behave like the Ruby methods Kamal relies on.

Kamal builds vendor CLI commands with Ruby's `String#shellescape`, reads `kamal secrets` commands with
`String#shellsplit` and splits names with `String#split`. Where the exact result matters (JSON that
round-trips through `fetch` and `extract`, filters passed to `passbolt`), these helpers give the same
strings Kamal would.
"""
from __future__ import annotations

import re

# Ruby's String#strip: ASCII whitespace and NUL.
_RUBY_WHITESPACE = " \t\n\v\f\r\0"

# Characters Ruby's shellescape leaves alone; everything else gets a backslash.
_SHELL_UNSAFE = re.compile(r"[^A-Za-z0-9_\-.,:+/@\n]")

# One shell word (or part of one) the way Ruby's shellsplit tokenises: a bare run, a single-quoted run,
# a double-quoted run, a backslash escape, or a stray quote (an error). A following blank ends the word.
_SHELL_TOKEN = re.compile(
    r"""\s*(?>([^\s\\'"]+)|'([^']*)'|"((?:[^"\\]|\\.)*)"|(\\.?)|(\S))(\s|\Z)?""",
    re.S | re.A,
)
_DQ_ESCAPE = re.compile(r"""\\([$`"\\\n])""")
_BARE_ESCAPE = re.compile(r"\\(.)")

_INSPECT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\f": "\\f",
    "\v": "\\v",
    "\b": "\\b",
    "\a": "\\a",
    "\x1b": "\\e",
}


def ruby_strip(value):
    return value.strip(_RUBY_WHITESPACE)


def chomp(value):
    """Remove one trailing line ending, as Ruby's String#chomp does."""
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith("\n") or value.endswith("\r"):
        return value[:-1]
    return value


def blank(value):
    """ActiveSupport's `blank?` for the values we meet: None, empty or whitespace only."""
    return value is None or (isinstance(value, str) and value.strip(_RUBY_WHITESPACE) == "")


def ruby_split(value, sep):
    """Ruby's String#split(sep) without a limit: trailing empty fields are dropped."""
    parts = value.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def shellescape(value):
    """Ruby's String#shellescape."""
    value = str(value)
    if value == "":
        return "''"
    value = _SHELL_UNSAFE.sub(lambda m: "\\" + m.group(0), value)
    return value.replace("\n", "'\n'")


def shellsplit(line):
    """Ruby's String#shellsplit. Raises ValueError on an unmatched quote."""
    words = []
    field = []
    pos = 0
    while True:
        match = _SHELL_TOKEN.match(line, pos)
        if not match:
            break
        pos = match.end()
        word, single, double, escaped, garbage, sep = match.groups()
        if garbage is not None:
            raise ValueError("Unmatched quote at %d" % match.start())
        if word is not None:
            field.append(word)
        elif single is not None:
            field.append(single)
        elif double is not None:
            field.append(_DQ_ESCAPE.sub(r"\1", double))
        else:
            field.append(_BARE_ESCAPE.sub(r"\1", escaped))
        if sep is not None:
            words.append("".join(field))
            field = []
    return words


def inspect(value):
    """Ruby's String#inspect for printable UTF-8 text (the quoting Kamal puts in passbolt filters)."""
    out = ['"']
    length = len(value)
    for index, char in enumerate(value):
        if char in _INSPECT_ESCAPES:
            out.append(_INSPECT_ESCAPES[char])
        elif char == "#" and index + 1 < length and value[index + 1] in "{$@":
            out.append("\\#")
        elif ord(char) < 0x20:
            out.append("\\u%04X" % ord(char))
        elif ord(char) == 0x7F:
            out.append("\\x7F")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
