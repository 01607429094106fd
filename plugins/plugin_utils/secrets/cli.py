# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`kamal secrets fetch|extract|print`, run in-process as Kamal does for `$(kamal secrets ...)`.

Inside a secrets file Kamal does not start a `kamal` process for these commands: it runs them inline, and
`fetch` then returns its JSON shell-escaped so that a later `$(kamal secrets extract NAME $SECRETS)` reads it
back intact. We do the same, so secrets files that use vault adapters work without Kamal installed.
"""
from __future__ import annotations

import json
import re

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters import lookup_adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import SecretsAdapterError
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import shellescape, shellsplit

INLINE_COMMAND = re.compile(r"\A\s*kamal\s*secrets\s+", re.A)

_SUBCOMMANDS = ("fetch", "extract", "print")

# Kamal's global options (accepted by every command, meaningless here): those taking a value, and flags.
_GLOBAL_VALUE_OPTIONS = {"--version", "-h", "--hosts", "-r", "--roles", "-c", "--config-file", "-d", "--destination"}
_GLOBAL_FLAGS = {"-v", "--verbose", "-q", "--quiet", "-p", "--primary", "-H", "--skip-hooks", "--inline", "--no-inline"}
_FETCH_OPTIONS = {"-a": "adapter", "--adapter": "adapter", "--account": "account", "--from": "from"}


def is_inline_command(command):
    return INLINE_COMMAND.match(command) is not None


def dump_json(results):
    """JSON as Ruby's JSON.dump writes it: compact, UTF-8 kept as is."""
    return json.dumps(results, separators=(",", ":"), ensure_ascii=False)


def _parse_options(args, value_options):
    """Split Thor-style arguments into (options, positionals); `--opt value`, `--opt=value` and `-a value`."""
    options = {}
    positionals = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positionals.extend(args[index:])
            break
        name, eq, inline_value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in value_options or name in _GLOBAL_VALUE_OPTIONS:
            if eq:
                value = inline_value
            elif index < len(args):
                value = args[index]
                index += 1
            else:
                raise SecretsAdapterError("No value provided for option '%s'" % name)
            if name in value_options:
                options[value_options[name]] = value
        elif arg in _GLOBAL_FLAGS:
            continue
        elif arg.startswith("-") and len(arg) > 1:
            raise SecretsAdapterError("Unknown option %s" % name)
        else:
            positionals.append(arg)
    return options, positionals


def fetch(args, runner):
    """`kamal secrets fetch`: returns the results dict."""
    options, names = _parse_options(args, _FETCH_OPTIONS)
    adapter = lookup_adapter(options.get("adapter"), runner)
    return adapter.fetch(names, account=options.get("account"), from_=options.get("from"))


def extract(args):
    """`kamal secrets extract NAME JSON`: the value of NAME, or of the first key ending in `/NAME`."""
    _options, positionals = _parse_options(args, {})
    if len(positionals) != 2:
        raise SecretsAdapterError(
            "`kamal secrets extract` takes NAME and the JSON printed by `kamal secrets fetch` (got %d arguments; "
            "is the variable holding the fetch output defined earlier in the same file?)" % len(positionals)
        )
    name, text = positionals
    try:
        secrets = json.loads(text)
    except ValueError as exc:
        raise SecretsAdapterError("`kamal secrets extract %s`: the secrets given are not valid JSON (did the fetch fail?)" % name) from exc
    if not isinstance(secrets, dict):
        raise SecretsAdapterError("`kamal secrets extract %s`: the secrets given are not a JSON object" % name)
    value = secrets.get(name)
    if value is None or value is False:
        value = next((v for k, v in secrets.items() if k.endswith("/" + name)), None)
    if value is None:
        raise SecretsAdapterError("Could not find secret %s" % name)
    return value if isinstance(value, str) else dump_json(value)


def run_inline(command, runner):
    """Run a `kamal secrets ...` command found in a secrets file; returns what Kamal would substitute."""
    try:
        words = shellsplit(command)
    except ValueError as exc:
        raise SecretsAdapterError("cannot parse `kamal secrets` command: %s" % exc) from exc
    if len(words) < 3 or words[0] != "kamal" or words[1] != "secrets":
        raise SecretsAdapterError("expected `kamal secrets fetch|extract ...`")
    matches = [sub for sub in _SUBCOMMANDS if sub.startswith(words[2])]
    if len(matches) != 1:
        raise SecretsAdapterError("unknown command `kamal secrets %s` (expected fetch or extract)" % words[2])
    subcommand, args = matches[0], words[3:]
    if subcommand == "fetch":
        return shellescape(dump_json(fetch(args, runner)))
    if subcommand == "extract":
        return extract(args)
    raise SecretsAdapterError("`kamal secrets print` cannot be used inside a secrets file")


def format_print(secrets):
    """The text `kamal secrets print` writes: one `KEY=value` line per secret."""
    return "".join("%s=%s\n" % (key, value) for key, value in secrets.items())
