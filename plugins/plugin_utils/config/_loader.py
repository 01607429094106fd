# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading deploy.yml the way Kamal does: ERB (a safe subset), YAML with aliases, destination merge."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.kamal.deploy.plugins.plugin_utils.config._errors import KamalConfigError

# An ERB tag: <%, <%=, <%#, <%- ... %> or -%>.  Kamal renders with trim_mode "-".
_TAG = re.compile(r"<%(?!%)(?P<kind>[=#-]?)(?P<body>.*?)(?P<trim>-?)%>", re.S)
_STR = r"""(?:"(?P<{0}d>[^"\\]*)"|'(?P<{0}s>[^'\\]*)')"""
_EXPRESSIONS = [
    ("index", re.compile(r"ENV\[\s*%s\s*\]" % _STR.format("name"))),
    ("or", re.compile(r"ENV\[\s*%s\s*\]\s*\|\|\s*%s" % (_STR.format("name"), _STR.format("default")))),
    ("fetch", re.compile(r"ENV\.fetch\(\s*%s\s*\)" % _STR.format("name"))),
    ("fetch_default", re.compile(r"ENV\.fetch\(\s*%s\s*,\s*%s\s*\)" % (_STR.format("name"), _STR.format("default")))),
]
SUPPORTED_ERB = ('<%= ENV["X"] %>, <%= ENV.fetch("X") %>, <%= ENV.fetch("X", "default") %>, '
                 '<%= ENV["X"] || "default" %> (single quotes too; -%> trims the newline)')


def _group(match, name):
    value = match.group(name + "d")
    return value if value is not None else match.group(name + "s")


def _evaluate(expression, environ, file, line):
    for kind, pattern in _EXPRESSIONS:
        match = pattern.fullmatch(expression)
        if not match:
            continue
        name = _group(match, "name")
        if kind == "index":
            return environ.get(name, "")
        if kind == "or":
            return environ[name] if name in environ else _group(match, "default")
        if kind == "fetch_default":
            return environ.get(name, _group(match, "default"))
        if name not in environ:
            raise KamalConfigError("ERB: ENV.fetch(%r): environment variable %s is not set" % (name, name), file=file, line=line,
                                   hint="set it, or give a default: ENV.fetch(\"%s\", \"...\")" % name)
        return environ[name]
    return None


def _check_plain(segment, text, offset, file):
    index = segment.replace("<%%", "\0\0\0").find("<%")
    if index >= 0:
        line = text.count("\n", 0, offset + index) + 1
        raise KamalConfigError("unterminated ERB tag (no %>)", file=file, line=line)
    return segment.replace("<%%", "<%")


def render_erb(text, environ, file):
    """Render the ERB subset Kamal configs use; anything else is an error naming the line.

    Arbitrary Ruby cannot be evaluated here, and keeping it as text would deploy something the user
    did not write, so unknown tags stop the load.
    """
    out = []
    pos = 0
    for match in _TAG.finditer(text):
        start, end = match.span()
        line = text.count("\n", 0, start) + 1
        before = text[pos:start]
        if match.group("kind") == "-":
            # <%- drops the indentation in front of the tag when the tag starts the line.
            stripped = before.rstrip(" \t")
            if stripped == "" or stripped.endswith("\n"):
                before = stripped
        out.append(_check_plain(before, text, pos, file))
        kind, body = match.group("kind"), match.group("body")
        if kind == "=":
            value = _evaluate(body.strip(), environ, file, line)
            if value is None:
                raise KamalConfigError("unsupported ERB %s" % match.group(0), file=file, line=line, hint="supported: " + SUPPORTED_ERB)
            out.append(value)
        elif kind != "#" and not (body.strip().startswith("#") and "\n" not in body.strip()):
            raise KamalConfigError("unsupported ERB %s: Ruby code is not evaluated" % match.group(0), file=file, line=line,
                                   hint="supported: " + SUPPORTED_ERB)
        pos = end
        if match.group("trim") and text.startswith("\n", pos):
            pos += 1
    out.append(_check_plain(text[pos:], text, pos, file))
    return "".join(out)


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Safe YAML with anchors/aliases; timestamps stay strings (Kamal values are strings)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text, file):
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise KamalConfigError("invalid YAML: %s" % problem, file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise KamalConfigError("invalid YAML: %s" % exc, file=file) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KamalConfigError("the file should contain a hash of settings, found %s" % type(data).__name__, file=file)
    return data


def read_config_file(path, environ):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise KamalConfigError("Configuration file not found in %s" % path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KamalConfigError("cannot read the configuration file: %s" % exc, file=path) from None
    return load_yaml(render_erb(text, environ, path), path)


def deep_merge(base, other):
    """Kamal's ``deep_merge``: hashes merge recursively; anything else in ``other`` replaces."""
    merged = dict(base)
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _record_origins(data, file, origins, prefix=()):
    for key, value in data.items():
        path = prefix + (str(key),)
        origins[path] = file
        if isinstance(value, dict):
            _record_origins(value, file, origins, path)


def destination_file(config_file, destination):
    """``config/deploy.yml`` + ``staging`` -> ``config/deploy.staging.yml`` (Ruby's sub_ext)."""
    root, _ext = os.path.splitext(config_file)
    return "%s.%s.yml" % (root, destination)


def load_raw(config_file, destination=None, environ=None):
    """Load and merge the files; return (merged dict, files read, origins: key path tuple -> file)."""
    env = dict(os.environ if environ is None else environ)
    if destination:
        env["KAMAL_DESTINATION"] = destination
    else:
        env.pop("KAMAL_DESTINATION", None)
    files = [config_file] + ([destination_file(config_file, destination)] if destination else [])
    merged = {}
    origins = {}
    for path in files:
        data = read_config_file(path, env)
        _record_origins(data, path, origins)
        merged = deep_merge(merged, data)
    return merged, files, origins
