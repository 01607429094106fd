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


# A deploy.yml holds a few hundred values a few levels deep; these bounds are far above any real one. They keep what
# reads the loaded config cheap: an alias shares one YAML node however often it is used, but merge keys
# (SafeConstructor.flatten_mapping), the validation, the destination merge and every copy of `kamal` expand it, so
# nine levels of nine aliases (an "alias bomb") would otherwise grow without end.
MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 64


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Safe YAML with anchors/aliases, within MAX_YAML_VALUES and MAX_YAML_DEPTH; timestamps stay strings.

    Composing counts what each node expands to (values and height, memoised by node, so an alias costs one lookup)
    and stops at the first node or alias past a bound, and at an alias used inside its own anchor (a cycle), all
    before anything is constructed, naming the line.
    """

    def __init__(self, stream, file):
        super().__init__(stream)
        self.file = file
        self._expanded = {}  # id(node) -> (values, height), once the node is composed
        self._values = 0     # values in the document so far, aliases expanded
        self._depth = 0

    def _fail(self, message, mark, hint=None):
        raise KamalConfigError(message, file=self.file, line=mark.line + 1, hint=hint)

    def _count(self, values, height, mark, alias=None):
        """Add a node (or an alias: the whole value it names) at the current depth; fail past a bound."""
        self._values += values
        named = " (alias *%s)" % alias if alias else ""
        if self._values > MAX_YAML_VALUES:
            self._fail("YAML %s more than %d values%s; a deploy.yml needs far fewer: check the %s"
                       % ("aliases expand to" if alias else "file holds", MAX_YAML_VALUES, named, "anchors" if alias else "file"), mark)
        if self._depth + height > MAX_YAML_DEPTH:
            self._fail("YAML nests deeper than %d levels%s; a deploy.yml needs a few: check the %s"
                       % (MAX_YAML_DEPTH, named, "anchors" if alias else "brackets and indentation"), mark)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is PyYAML's own error
                expanded = self._expanded.get(id(target))
                if expanded is None:  # its anchor is still being composed: the alias is inside it
                    self._fail("YAML alias *%s is inside the value it names (&%s, line %d), so that value would contain "
                               "itself" % (event.anchor, event.anchor, target.start_mark.line + 1), event.start_mark,
                               hint="a deploy.yml cannot be recursive: use the alias after the anchored value ends")
                self._count(expanded[0], expanded[1], event.start_mark, alias=event.anchor)
            return super().compose_node(parent, index)
        self._count(1, 1, self.peek_event().start_mark)
        self._depth += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        sizes = [self._expanded[id(child)] for child in children]
        self._expanded[id(node)] = (1 + sum(values for values, _height in sizes), 1 + max((height for _values, height in sizes), default=0))
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _kind(data):
    """What a YAML document that is not a hash is, for the error."""
    if isinstance(data, list):
        return "a list"
    text = repr(data) if isinstance(data, str) else yaml.safe_dump(data).splitlines()[0]
    text = text if len(text) <= 40 else text[:37] + "..."
    return "%s %s" % ("a string" if isinstance(data, str) else "the value", text)


def load_yaml(text, file):
    """The one YAML document of ``text``: a dict, or None when there is none (empty, or only comments)."""
    loader = None
    try:
        loader = _Loader(text, file)  # the reader checks every character here
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        if isinstance(exc, yaml.composer.ComposerError) and exc.problem == "but found another document":
            # Kamal (Psych.load) would read the first document and silently drop the rest.
            raise KamalConfigError("a second YAML document starts here (---): a deploy.yml is one document", file=file,
                                   line=exc.problem_mark.line + 1,
                                   hint="remove the ---, or move per-environment settings to config/deploy.<destination>.yml") from None
        duplicate = re.match(r"found duplicate anchor '(.*)'", exc.context or "")
        if isinstance(exc, yaml.composer.ComposerError) and duplicate:
            # Kamal's Psych lets a later anchor replace an earlier one; PyYAML refuses it.
            raise KamalConfigError("YAML anchor &%s is defined twice (first on line %d)" % (duplicate.group(1), exc.context_mark.line + 1),
                                   file=file, line=exc.problem_mark.line + 1, hint="give each anchor its own name") from None
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise KamalConfigError("invalid YAML: %s" % problem, file=file, line=line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise KamalConfigError("the character %r cannot be in a YAML file" % chr(exc.character), file=file, line=line,
                               hint="is this a binary file? a deploy.yml is UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise KamalConfigError("invalid YAML: %s" % exc, file=file) from None
    except RecursionError:
        # Composing is bounded by MAX_YAML_DEPTH; this is what is left of PyYAML's own recursion.
        raise KamalConfigError("YAML nesting too deep to read; a deploy.yml needs a few levels: check the brackets and "
                               "indentation", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is not None and not isinstance(data, dict):
        raise KamalConfigError("should be a hash of settings (service: ..., servers: ...), not %s" % _kind(data), file=file)
    return data


def read_config_file(path, environ, destination=False):
    """One file as a dict; ``destination``: it is a deploy.<destination>.yml (an empty one is worded for that)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise KamalConfigError("Configuration file not found in %s" % path) from None
    except IsADirectoryError:
        inside = os.path.join(path, "deploy.yml")
        raise KamalConfigError("is a directory, not a deploy.yml", file=path,
                               hint="give the file itself%s" % (", e.g. " + inside if os.path.isfile(inside) else "")) from None
    except OSError as exc:
        raise KamalConfigError("cannot read the configuration file: %s" % (exc.strerror or exc), file=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise KamalConfigError("is not UTF-8 text (byte 0x%02x)" % data[exc.start], file=path, line=line,
                               hint="is this a binary file? save the deploy.yml as UTF-8") from None
    loaded = load_yaml(render_erb(text, environ, path), path)
    if loaded is None:
        # Kamal fails on it too, with `undefined method 'symbolize_keys' for false`.
        if destination:
            raise KamalConfigError("is empty (or only comments): Kamal cannot load an empty destination file", file=path,
                                   hint="put the destination's settings in it, or `{}` if it changes nothing")
        raise KamalConfigError("is empty (or only comments): a Kamal config needs at least service, image and servers "
                               "(and registry and builder)", file=path, hint="`kamal init` writes a starting one")
    return loaded


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
        data = read_config_file(path, env, destination=path != config_file)
        _record_origins(data, path, origins)
        merged = deep_merge(merged, data)
    return merged, files, origins
