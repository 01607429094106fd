# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dotenv format as Kamal reads `.kamal/secrets` (dotenv gem 3.2, `overwrite: true`, Kamal's command hook).

One file at a time:

* a line is `[export ]KEY=value` or `KEY: value`; KEY is `[A-Za-z0-9_.]+`; a bare `KEY` means an empty value;
  lines that match nothing are ignored;
* `'single'` quotes are literal; `"double"` quotes and unquoted values get substitutions; in double quotes
  `\\n` stays a backslash and an `n` (unless DOTENV_LINEBREAK_MODE=legacy); backslash escapes other than `\\$`
  are then removed;
* an unquoted value ends at the first `#`;
* `$(command)` runs first (variables inside it expanded first, `\\$(...)` left as text), then `$VAR` /
  `${VAR}` expand from keys defined earlier in the same file, then the environment, else "".
  Command output is expanded too, as in Kamal.
"""
from __future__ import annotations

import re

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import cli
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import KamalSecretsError, SecretsFormatError
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import chomp, inspect, ruby_strip

_LINE = re.compile(
    r"""
    (?:^|\A)
    \s*
    (?P<export>export\s+)?
    (?P<key>[\w.]+)
    (?:
      (?:\s*=\s*?|:\s+?)
      (?P<value>
        \s*'(?:\\'|[^'])*'
        |
        \s*"(?:\\"|[^"])*"
        |
        [^\#\n]+
      )?
    )?
    \s*
    (?:\#.*)?
    (?:$|\Z)
    """,
    re.X | re.M | re.A,
)
_QUOTED = re.compile(r"""\A(['"])(.*)\1\Z""", re.S)
_UNESCAPE = re.compile(r"\\([^$])")
_VARIABLE = re.compile(r"(\\)?(\$)(?!\()\{?([A-Z0-9_]+)?\}?", re.I | re.A)


def _command_end(text, start):
    """Index just past the balanced `(...)` that opens at `start`, or None.

    Inside, a backslash escapes the next character (not a newline) and nested parentheses must balance;
    an empty `()` anywhere does not count as a command.
    """
    counts = []
    index = start
    length = len(text)
    while index < length:
        char = text[index]
        if char == "(":
            counts.append(0)
            index += 1
            continue
        if char == ")":
            if counts.pop() == 0:
                return None
            if not counts:
                return index + 1
            index += 1
        elif char == "\\":
            if index + 1 >= length or text[index + 1] == "\n":
                return None
            index += 2
        else:
            index += 1
        counts[-1] += 1
    return None


class Parser:
    """Parses the text of one secrets file. `runner` runs commands; `environ` is the fallback for `$VAR`."""

    def __init__(self, runner, environ, filename="secrets"):
        self.runner = runner
        self.environ = environ
        self.filename = filename
        self.values = {}
        self.warnings = []
        self._key = None

    def parse(self, text):
        text = re.sub(r"\r\n?", "\n", text)
        for match in _LINE.finditer(text):
            key, value = match.group("key"), match.group("value")
            self._key = key
            if match.group("export") and value is None:
                if key not in self.values:
                    raise SecretsFormatError("%s: Line %s has an unset variable" % (self.filename, inspect(match.group(0))))
            else:
                self.values[key] = self._value(value or "")
        return self.values

    def _value(self, value):
        value = ruby_strip(value)
        quoted = _QUOTED.match(value)
        quote = None
        if quoted:
            quote, value = quoted.group(1), quoted.group(2)
        if quote == '"':
            value = self._expand_newlines(value)
        if quote != "'":
            value = _UNESCAPE.sub(r"\1", value)
            value = self._substitute_commands(value)
            value = self._substitute_variables(value)
        return value

    def _expand_newlines(self, value):
        mode = self.values["DOTENV_LINEBREAK_MODE"] if "DOTENV_LINEBREAK_MODE" in self.values else self.environ.get("DOTENV_LINEBREAK_MODE")
        if mode == "legacy":
            return value.replace("\\n", "\n").replace("\\r", "\r")
        return value.replace("\\n", "\\\\n").replace("\\r", "\\\\r")

    def _lookup(self, name):
        if name in self.values:
            return self.values[name]
        return self.environ.get(name, "")

    def _substitute_variables(self, value):
        def replace(match):
            if match.group(1):
                return match.group(0)[1:]
            if match.group(3):
                return self._lookup(match.group(3))
            return match.group(0)

        return _VARIABLE.sub(replace, value)

    def _substitute_commands(self, value):
        out = []
        index = 0
        length = len(value)
        while index < length:
            char = value[index]
            if char == "\\" and value.startswith("$(", index + 1):
                end = _command_end(value, index + 2)
                if end is not None:
                    out.append(value[index + 1:end])
                    index = end
                    continue
            elif char == "$" and value.startswith("(", index + 1):
                end = _command_end(value, index + 1)
                if end is not None:
                    out.append(self._run(value[index + 2:end - 1]))
                    index = end
                    continue
            out.append(char)
            index += 1
        return "".join(out)

    def _run(self, written):
        command = self._substitute_variables(written)
        where = "%s (%s)" % (self.filename, self._key)
        if cli.is_inline_command(command):
            try:
                return chomp(cli.run_inline(command, self.runner))
            except KamalSecretsError as exc:
                raise type(exc)("%s: %s" % (where, exc)) from exc
        result = self.runner.shell(command, what="`$(%s)` in %s" % (written, where))
        if not result.ok:
            # Kamal ignores the exit status; say so without stopping, the value may be incomplete
            self.warnings.append("`$(%s)` in %s exited with status %d" % (written, where, result.returncode))
        return chomp(result.stdout)


def parse(text, runner, environ, filename="secrets"):
    """Parse one file's text; returns (values, warnings)."""
    parser = Parser(runner, environ, filename)
    return parser.parse(text), parser.warnings
