# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``kamal config``: the resolved config as Kamal prints it (its ``Configuration#to_h`` written by Ruby's YAML
emitter), so the two can be compared line by line. Secret values never appear: ``ssh.key_data`` entries (secret
names whose values are private keys, or inline keys) print as ``[REDACTED]``; Kamal prints the keys themselves.

Ruby writes its symbols as ``:name`` (the keys, and ``log_level``'s default ``:fatal``); its emitter quotes a
string that starts with a non-word character (double quotes) or that would read back as something else
(single quotes). :func:`to_ruby_yaml` follows those rules on top of PyYAML's emitter, which shares libyaml's
layout (indentless sequences in mappings, 80 columns)."""

from __future__ import annotations

import re

import yaml

REDACTED = "[REDACTED]"


class Symbol(str):
    """A Ruby symbol: written ``:name``."""


def _ssh_options(config):
    """Kamal's ``ssh.to_h``: its connection options in Kamal's order, the raw values as given."""
    raw = dict((config.raw.get("ssh") or {}))
    options = {Symbol("user"): raw.get("user", "root"), Symbol("port"): raw.get("port", 22)}
    if config.ssh.proxy:
        options[Symbol("proxy")] = RubyObject("Net::SSH::Proxy::Jump", {"jump_proxies": config.ssh.proxy})
    elif config.ssh.proxy_command:
        options[Symbol("proxy")] = RubyObject("Net::SSH::Proxy::Command", {"command_line_template": config.ssh.proxy_command})
    options[Symbol("keepalive")] = True
    options[Symbol("keepalive_interval")] = 30
    for key in ("keys_only", "keys", "key_data", "config", "forward_agent"):
        if raw.get(key) is not None:
            options[Symbol(key)] = raw[key]
    if Symbol("key_data") in options:
        # A secret's name (Kamal prints its value) or an inline private key: a key either way.
        options[Symbol("key_data")] = [REDACTED for _key in options[Symbol("key_data")]]
    options[Symbol("log_level")] = raw["log_level"] if "log_level" in raw else Symbol("fatal")
    return options


def kamal_config(config):
    """``kamal config``'s hash for a KamalConfig: roles, hosts, primary host, version, image, volumes, ssh,
    sshkit, builder, accessories (as written in deploy.yml, after ERB and the destination merge), logging."""
    shown = {
        "roles": sorted(role.name for role in config.roles),
        "hosts": list(config.all_hosts),
        "primary_host": config.primary_host,
        "version": config.version,
        "repository": config.repository,
        "absolute_image": config.absolute_image,
        "service_with_version": config.service_with_version,
        "volume_args": list(config.volume_args),
        "ssh_options": _ssh_options(config),
        "sshkit": dict(config.raw.get("sshkit") or {}),
        "builder": config.raw.get("builder"),
        "accessories": config.raw.get("accessories"),
        "logging": list(config.logging.args),
    }
    return {Symbol(key): value for key, value in shown.items() if value is not None}


class RubyObject:
    """A Ruby object Kamal's hash holds (the SSH jump proxy): ``!ruby/object:<class>`` and its fields."""

    def __init__(self, name, fields):
        self.name, self.fields = name, fields


# Psych's rules for a string (Psych::Visitors::YAMLTree#visit_String), the ones a config can reach.
_NON_WORD_START = re.compile(r"^[^\w][^\"]*$", re.S)
_OCTAL_LOOKING = re.compile(r"\A0[0-7]*[89]")
# What Psych's ScalarScanner reads as something other than a string.
_NOT_A_STRING = re.compile(r"""^(?:
    ~|null|Null|NULL|
    yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
    [-+]?(?:0|[1-9][0-9_,]*)|
    [-+]?0[0-7_,]+|[-+]?0b[01_,]+|[-+]?0x[0-9a-fA-F_,]+|
    [-+]?[0-9][0-9_,]*(?::[0-5]?[0-9])+|
    [-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_,]*[eE][-+]?[0-9]+|
    [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
    [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?|
    :.+
)$""", re.X)


class _RubyDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    def ignore_aliases(self, data):
        return True


def _represent_str(dumper, value):
    style = None
    if "\n" in value.rstrip("\n"):
        style = "|"
    elif value == "<<":
        style = "'"
    elif value in ("y", "Y", "n", "N"):
        style = '"'
    elif _NON_WORD_START.match(value):
        style = '"'
    elif _NOT_A_STRING.match(value) or _OCTAL_LOOKING.match(value):
        style = "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_symbol(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", ":" + value, style="")


def _represent_object(dumper, value):
    return dumper.represent_mapping("!ruby/object:" + value.name, value.fields)


def _represent_none(dumper, _value):
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


_RubyDumper.add_representer(str, _represent_str)
_RubyDumper.add_representer(Symbol, _represent_symbol)
_RubyDumper.add_representer(RubyObject, _represent_object)
_RubyDumper.add_representer(type(None), _represent_none)


def to_ruby_yaml(value):
    """``value.to_yaml`` as Ruby writes it (``---`` first)."""
    return yaml.dump(value, Dumper=_RubyDumper, explicit_start=True, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=80)


def show(config):
    """The text ``kamal config`` prints for ``config``."""
    return to_ruby_yaml(kamal_config(config))
