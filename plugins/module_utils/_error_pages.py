# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An app's own error pages (Kamal's ``error_pages_path``): which files count, and their rendering.

Kamal uploads ``<error_pages_path>/{4??,5??}.html`` and kamal-proxy answers the errors it makes for the service
(503 in maintenance, 502 when the app does not answer, 504, 413 ...) with them, rendering each as a Go
``html/template`` whose only data is ``.Message`` (maintenance's ``--message``). Our proxy is Caddy: the pages are
rendered here, in Python, with the part of that template language error pages use: ``{{ .Message }}``,
``{{ if .Message }} ... {{ else }} ... {{ end }}``, comments and the ``{{-``/``-}}`` trim markers. Anything else
is refused before a server changes, naming the page.

Pure functions, stdlib only (the controller checks the pages, the proxy renders them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import html
import re

PAGE_NAME = re.compile(r"^[45][0-9][0-9]\.html$")
_ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_MESSAGE = ".Message"


class ErrorPageError(ValueError):
    """A page that cannot be served; the message names it and what is wrong."""


def page_names(names):
    """The names Kamal uploads (``4??.html``, ``5??.html``), sorted."""
    return sorted(name for name in names if PAGE_NAME.match(name))


def status_code(name):
    return int(name.split(".", 1)[0])


def _tokens(template, name):
    """Text and actions, with Go's trim markers applied to the text around them."""
    tokens, position = [], 0
    for match in _ACTION.finditer(template):
        text = template[position:match.start()]
        if match.group(1):
            text = text.rstrip()
        if tokens and tokens[-1][0] == "trim":
            tokens.pop()
            text = text.lstrip()
        tokens.append(("text", text))
        action = match.group(2).strip()
        if action.startswith("/*") and action.endswith("*/"):
            action = ""
        tokens.append(("action", action))
        if match.group(3):
            tokens.append(("trim", ""))
        position = match.end()
    text = template[position:]
    if tokens and tokens[-1][0] == "trim":
        tokens.pop()
        text = text.lstrip()
    if "{{" in text:
        raise ErrorPageError("%s: an unclosed {{ in the template" % name)
    tokens.append(("text", text))
    return tokens


def render(template, message=None, name="the error page"):
    """``template`` with ``.Message`` as ``message`` (HTML-escaped, as html/template does). ErrorPageError names
    ``name`` for an action outside the supported subset or an if without its end."""
    out, stack = [], []  # stack: [taking (bool), seen_else (bool), parent_taking (bool)]
    taking = True
    for kind, value in _tokens(template, name):
        if kind == "text":
            if taking:
                out.append(value)
            continue
        words = value.split()
        if not words:
            continue
        if words == [_MESSAGE]:
            if taking:
                out.append(html.escape(message or "", quote=True))
        elif words == ["if", _MESSAGE]:
            stack.append([taking, False])
            taking = taking and bool(message)
        elif words == ["else"] and stack and not stack[-1][1]:
            stack[-1][1] = True
            taking = stack[-1][0] and not message
        elif words == ["end"] and stack:
            taking = stack.pop()[0]
        else:
            raise ErrorPageError("%s: {{ %s }} is not something kamal.deploy renders (it knows {{ .Message }}, "
                                 "{{ if .Message }}, {{ else }}, {{ end }} and comments)" % (name, value))
    if stack:
        raise ErrorPageError("%s: an {{ if }} without its {{ end }}" % name)
    return "".join(out)


def check(pages):
    """``pages``: name -> template. Every page renders, or ErrorPageError names the first that does not."""
    for name, template in sorted(pages.items()):
        if not PAGE_NAME.match(name):
            raise ErrorPageError("%s is not an error page name (4xx.html or 5xx.html)" % name)
        render(template, "", name)
