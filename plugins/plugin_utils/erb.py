# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ERB that Kamal accessory files use, without Ruby: ``<%= ENV["NAME"] %>``, ``ENV['NAME']``,
``ENV.fetch("NAME")``, ``ENV.fetch("NAME", "default")`` and ``<%# comments %>`` (Kamal's ERB has no trim mode).

Kamal renders ``.erb`` files with the accessory's env loaded into ``ENV``. Any other Ruby cannot be
evaluated here, so it fails naming the tag and the file instead of uploading a half-rendered file."""

from __future__ import annotations

import re

TAG = re.compile(r"<%(?P<kind>[=#]?)(?P<code>.*?)%>", re.S)
ENV_INDEX = re.compile(r"""^ENV\[\s*(?P<q>["'])(?P<name>[^"']+)(?P=q)\s*\]$""")
ENV_FETCH = re.compile(r"""^ENV\.fetch\(\s*(?P<q>["'])(?P<name>[^"']+)(?P=q)\s*(?:,\s*(?P<dq>["'])(?P<default>[^"']*)(?P=dq)\s*)?\)$""")


class ErbError(Exception):
    pass


def _value(code, env, where):
    code = code.strip()
    match = ENV_INDEX.match(code)
    if match:
        return env.get(match.group("name"), "")  # Ruby's ENV[] is nil, printed as ""
    match = ENV_FETCH.match(code)
    if match:
        name = match.group("name")
        if name in env:
            return env[name]
        if match.group("default") is not None:
            return match.group("default")
        raise ErbError("%s: ENV.fetch(%r): %s is not set in the accessory's env (env.clear or env.secret)"
                       % (where, name, name))
    raise ErbError("%s: <%%= %s %%> is Ruby that kamal.deploy cannot evaluate; accessory templates may use "
                   "ENV[\"NAME\"] and ENV.fetch(\"NAME\"[, \"default\"]) only" % (where, code))


def render(text, env, where="template"):
    """Render ``text``; ``env`` maps names to values (the accessory's env over the controller's)."""
    out = []
    position = 0
    for match in TAG.finditer(text):
        out.append(text[position:match.start()])
        kind, code = match.group("kind"), match.group("code")
        if kind == "=":
            out.append(str(_value(code, env, where)))
        elif kind == "":
            if code.strip():
                raise ErbError("%s: <%%%s%%> is a Ruby statement; only <%%= ENV[...] %%> output tags are supported"
                               % (where, code))
        # a comment (#) renders nothing
        position = match.end()
    out.append(text[position:])
    return "".join(out)
