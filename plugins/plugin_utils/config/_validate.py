# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structural validation of a merged deploy.yml, with Kamal 2.12's rules and messages.

Kamal checks a config against typed examples: unknown keys are errors, "string" accepts any scalar,
integers and booleans are strict, and each error names its key path (``servers/web/labels/role: ...``).
We follow the same rules and order, so the first error reported is the one Kamal would report, and add
checks for what Kamal silently lets through (marked OURS below).
"""

from __future__ import annotations

import difflib
import ipaddress
import re

import yaml

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy, _route
from ansible_collections.kamal.deploy.plugins.module_utils._naming import RESERVED_LABELS
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._args import ruby_to_s
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._errors import KamalConfigError

# Value kinds.
S = "string"          # any scalar (Kamal's "stringish")
I = "integer"         # noqa: E741 - strict integer
B = "boolean"
HASH = "hash"          # any hash, keys not checked (docker options, build args)
SECTION = "section"    # a hash validated by its own section rules
PROXY_SECTION = "proxy-section"  # like SECTION, but true/false are allowed (roles, accessories)
SERVERS_SECTION = "servers-section"
SERVERS_LIST = "servers-list"    # [host | {host: tag | [tags]}]
SSL = "ssl"
ARCH = "arch"
SSH_CONFIG = "ssh-config"
PATHS = "paths"
HOOKS_OUTPUT = "hooks-output"


def array_of(kind):
    return ("array", kind)


def hash_of(kind):
    return ("hash-of", kind)


TOP_LEVEL = {
    "service": S, "image": S, "labels": hash_of(S), "volumes": array_of(S), "registry": SECTION,
    "servers": SERVERS_SECTION, "env": SECTION, "asset_path": S, "hooks_path": S, "hooks_output": HOOKS_OUTPUT,
    "secrets_path": S, "error_pages_path": S, "require_destination": B, "primary_role": S,
    "allow_empty_roles": B, "retain_containers": I, "minimum_version": S, "readiness_delay": I,
    "deploy_timeout": I, "drain_timeout": I, "stop_timeout": I, "run_directory": S, "ssh": SECTION,
    "builder": SECTION, "accessories": SECTION, "proxy": SECTION, "sshkit": SECTION, "boot": SECTION,
    "logging": SECTION, "output": SECTION, "aliases": SECTION,
}
ROLE = {
    "hosts": SERVERS_LIST, "cmd": S, "stop_timeout": I, "options": HASH, "logging": SECTION,
    "proxy": PROXY_SECTION, "labels": hash_of(S), "env": SECTION, "asset_path": S,
}
ACCESSORY = {
    "service": S, "image": S, "registry": SECTION, "host": S, "hosts": SERVERS_LIST, "role": S,
    "roles": array_of(S), "tag": S, "tags": array_of(S), "cmd": S, "port": S, "labels": hash_of(S),
    "options": HASH, "env": SECTION, "files": PATHS, "directories": PATHS, "volumes": array_of(S),
    "network": S, "proxy": PROXY_SECTION,
}
BOOT = {"limit": S, "wait": I, "parallel_roles": B}
BUILDER = {
    "arch": ARCH, "remote": S, "local": B, "pack": {"builder": S, "buildpacks": array_of(S)},
    "cache": {"type": S, "options": S, "image": S}, "context": S, "dockerfile": S, "target": S,
    "args": HASH, "secrets": array_of(S), "ssh": S, "driver": S, "provenance": S, "sbom": B,
}
LOGGING = {"driver": S, "options": HASH}
OUTPUT = {"otel": {"endpoint": S}, "file": {"path": S}}
PROXY_RUN = {
    "http_port": I, "https_port": I, "metrics_port": I, "debug": B, "log_max_size": S, "publish": B,
    "bind_ips": array_of(S), "registry": S, "repository": S, "version": S, "options": HASH,
}


def _kinds(types):
    """_route.kamal_types() in the validator's kinds."""
    kinds = {"str": S, "int": I, "bool": B, "list": array_of(S), "ssl": SSL}
    return {key: _kinds(kind) if isinstance(kind, dict) else kinds[kind] for key, kind in types.items()}


# The route's keys come from its one definition (_route.KAMAL_KEYS); ``run`` is the proxy container's.
PROXY = dict(_kinds(_route.kamal_types()), run=PROXY_RUN)
REGISTRY = {"server": S}
SSH = {
    "user": S, "port": S, "proxy": S, "proxy_command": S, "log_level": S, "keys_only": B,
    "keys": array_of(S), "key_data": array_of(S), "config": SSH_CONFIG, "forward_agent": B,
}
SSHKIT = {"max_concurrent_starts": I, "pool_idle_timeout": I, "dns_retries": I}
ENV_KEYS = ("clear", "secret", "tags")

# `kamal <command>` names an alias may not take (Kamal's top-level CLI commands).
BUILTIN_COMMANDS = frozenset((
    "accessory", "app", "audit", "build", "config", "deploy", "details", "docs", "init", "lock", "proxy",
    "prune", "redeploy", "registry", "remove", "rollback", "secrets", "server", "setup", "upgrade", "version",
))
HOOKS_OUTPUT_LEVELS = ("quiet", "verbose")

# OURS: kamal.deploy's own settings live under one top-level key. Kamal ignores top-level x- keys, so a deploy.yml
# using them stays valid for Kamal. One line per setting: key -> (kind, default, hint); the model exposes each as
# config.<key> and to_dict()["<key>"]. Kinds: a tuple of choices, or SECONDS.
OWN = "x-kamal-deploy"
SECONDS = "seconds"  # a whole number of seconds, 0 or more
OWN_PROXY_KIND = "own-proxy"
OWN_SETTINGS = {
    # registry: push and pull through registry.server (Kamal's way); ssh: the image streamed to each server over SSH.
    "image_delivery": (("registry", "ssh"), "registry",
                       "`registry` (Kamal's push and pull) or `ssh` (the image streamed to each server over SSH, no registry)"),
    # How long each newly booted app container must keep running (no exit, no restart) before its host's deploy
    # counts as done; 0 checks once at the end of the host's deploy.
    "min_uptime": (SECONDS, 0, "seconds, e.g. min_uptime: 10; 0 checks once at the end of each host's deploy"),
    # Proxy settings Kamal has no key for (_route.OWN_KEYS), for every proxied role, and the proxy's run.http3.
    "proxy": (OWN_PROXY_KIND, {}, "e.g. proxy: {healthcheck: {port: 9000}, basic_auth: {username: admin, password: "
                                  "ADMIN_PASSWORD}, client_ip: {header: CF-Connecting-IP, trusted_proxies: [...]}, "
                                  "run: {http3: true}}"),
}
RESTART_POLICY = re.compile(r"(?:no|always|unless-stopped|on-failure(?::\d+)?)")
ALIAS_NAME = re.compile(r"[a-z0-9_-]+")
# Ansible's own groups. The inventory plugin adds a group per role (its name), accessory_<name> per accessory, and
# kamal_proxy, kamal_primary, kamal_app_hosts, kamal_accessory_hosts: a role named like any of them would merge
# its hosts into that group.
ANSIBLE_GROUPS = {"all": "Ansible's group of every host", "ungrouped": "Ansible's group of hosts in no other group"}

_DESCRIPTIONS = {S: "a string", I: "an integer", B: "a boolean", "hash": "a hash", "array": "an array", "symbol": "a symbol"}


def key_text(key):
    """A key as an error shows it: Ruby's to_s, but a null key reads as null."""
    return "null" if key is None else ruby_to_s(key)


def yaml_flow(value):
    """A value as one line of YAML, for the fix an error suggests (``{image_delivery: ssh}``)."""
    return yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip().removesuffix("\n...").strip()


def kamal_deploy_settings(raw):
    """kamal.deploy's own settings (``x-kamal-deploy:``) of a validated config, each with its default."""
    own = raw.get(OWN) or {}
    return {key: own.get(key, default) for key, (_kind, default, _hint) in OWN_SETTINGS.items()}


def is_stringish(value):
    return isinstance(value, (str, int, float))  # bool is an int in Python, and Kamal takes booleans too


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_present(value):
    """Ruby's ``present?``: not nil, false, empty or blank."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, dict, tuple)):
        return len(value) > 0
    return True


def _matches(value, kind):
    if kind == S:
        return is_stringish(value)
    if kind == I:
        return is_integer(value)
    if kind == B:
        return isinstance(value, bool)
    if kind == "hash":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    raise AssertionError(kind)


class Reporter:
    """Raises KamalConfigError naming the file a key path came from."""

    def __init__(self, files, origins):
        self.files = files
        self.origins = origins

    def file_for(self, path):
        parts = tuple(part for part in path.split("/") if part) if path else ()
        while parts:
            if parts in self.origins:
                return self.origins[parts]
            parts = parts[:-1]
        return " + ".join(self.files)

    def fail(self, message, path="", hint=None):
        text = "%s: %s" % (path, message) if path else message
        raise KamalConfigError(text, file=self.file_for(path), hint=hint, key_path=path or None)


class Validator:
    """Walks a section with a context path, like Kamal's validator."""

    def __init__(self, reporter):
        self.reporter = reporter

    def error(self, context, message, hint=None):
        self.reporter.fail(message, context, hint)

    @staticmethod
    def join(context, key):
        key = key_text(key)
        return "%s/%s" % (context, key) if context else key

    def type_error(self, context, *kinds):
        descriptions = []
        for kind in kinds:
            if _DESCRIPTIONS[kind] not in descriptions:
                descriptions.append(_DESCRIPTIONS[kind])
        self.error(context, "should be " + " or ".join(descriptions))

    def check_type(self, value, context, *kinds):
        if not any(_matches(value, kind) for kind in kinds):
            self.type_error(context, *kinds)

    def check_unknown_keys(self, config, schema, context, allow_extensions=False):
        unknown = [key_text(key) for key in config if key not in schema and not (allow_extensions and str(key).startswith("x-"))]
        if unknown:
            close = difflib.get_close_matches(unknown[0], [str(key) for key in schema], n=1, cutoff=0.75)  # OURS
            self.error(context, "unknown %s: %s" % ("key" if len(unknown) == 1 else "keys", ", ".join(unknown)),
                       hint="did you mean %s?" % close[0] if close and len(unknown) == 1 else None)

    def hash(self, config, schema, context, allow_extensions=False):
        self.check_type(config, context, "hash")
        self.check_unknown_keys(config, schema, context, allow_extensions)
        for key, value in config.items():
            if allow_extensions and str(key).startswith("x-"):
                continue
            self.value(value, schema[key], self.join(context, key))

    def value(self, value, kind, context):  # pylint: disable=too-many-branches
        if isinstance(kind, dict):
            self.hash(value, kind, context)
        elif isinstance(kind, tuple) and kind[0] == "array":
            self.array_of(value, kind[1], context)
        elif isinstance(kind, tuple) and kind[0] == "hash-of":
            self.check_type(value, context, "hash")
            for key, item in value.items():
                self.check_type(item, self.join(context, key), kind[1])
        elif kind in (SECTION, HASH):
            self.check_type(value, context, "hash")
        elif kind == PROXY_SECTION:
            if not isinstance(value, bool):
                self.check_type(value, context, "hash")
        elif kind == SERVERS_SECTION:
            self.check_type(value, context, "array", "hash")
        elif kind == SERVERS_LIST:
            self.servers_list(value, context)
        elif kind == SSL:
            self.check_type(value, context, B, "hash")
        elif kind == ARCH:
            if isinstance(value, list):
                if not all(is_stringish(item) for item in value):
                    self.type_error(context, "array", S)
            elif not is_stringish(value):
                self.type_error(context, "array", S)
        elif kind == SSH_CONFIG:
            if isinstance(value, list):
                self.array_of(value, S, context)
            elif not (isinstance(value, bool) or isinstance(value, str)):
                self.type_error(context, B, S, "array")
        elif kind == PATHS:
            self.paths(value, context)
        elif kind == HOOKS_OUTPUT:
            if isinstance(value, dict):
                for hook, level in value.items():
                    self.check_type(level, self.join(context, hook), S)
            else:
                self.check_type(value, context, S)
        else:
            self.check_type(value, context, kind)

    def array_of(self, value, kind, context):
        self.check_type(value, context, "array")
        for index, item in enumerate(value):
            self.check_type(item, self.join(context, index), kind)

    def servers_list(self, servers, context):
        self.check_type(servers, context, "array")
        for index, server in enumerate(servers):
            item_context = self.join(context, index)
            self.check_type(server, item_context, S, "hash")
            if isinstance(server, dict):
                if len(server) != 1:
                    self.error(item_context, "multiple hosts found")
                host, tags = next(iter(server.items()))
                self.host_name(host, item_context)
                host_context = self.join(item_context, host)
                self.check_type(tags, host_context, S, "array")
                if isinstance(tags, list):
                    self.array_of(tags, S, host_context)
            else:
                self.host_name(server, item_context)

    def host_name(self, host, context):  # OURS: Kamal takes a null host in {~: tag}, and an empty one
        if host is None:
            self.error(context, "the host name is null", hint="write the host's name or address")
        if str(host).strip() == "":
            self.error(context, "the host name is empty", hint="write the host's name or address")

    def paths(self, paths, context):
        self.check_type(paths, context, "array")
        for index, path in enumerate(paths):
            item_context = self.join(context, index)
            self.check_type(path, item_context, S, "hash")
            if isinstance(path, dict):
                for key in ("local", "remote", "mode", "owner", "options"):
                    if key in path:
                        self.check_type(path[key], self.join(item_context, key), S)

    def labels(self, labels, context):
        if not is_present(labels):
            return
        for key in labels:
            if key in RESERVED_LABELS:
                self.error(self.join(self.join(context, "labels"), key),
                           "invalid label. destination, role, and service are reserved labels")

    def docker_options(self, options, context):
        if not isinstance(options, dict):
            return
        for key, policy in options.items():
            if str(key) != "restart":
                continue
            restart_context = self.join(context, "options/restart")
            if not isinstance(policy, str):
                self.error(restart_context, 'should be a string. Use "no" to disable restarts')
            if not RESTART_POLICY.fullmatch(policy):
                self.error(restart_context, "should be no, always, unless-stopped, on-failure, or on-failure:N")

    # Sections -------------------------------------------------------------------------------------------

    def env(self, config, context):
        if isinstance(config, dict) and any(key in config for key in ENV_KEYS):
            unknown = [str(key) for key in config if key not in ENV_KEYS]
            if unknown:
                self.error(context, "unknown %s: %s" % ("key" if len(unknown) == 1 else "keys", ", ".join(unknown)))
            if "clear" in config:
                self.value(config["clear"], hash_of(S), self.join(context, "clear"))
            if "secret" in config:
                self.array_of(config["secret"], S, self.join(context, "secret"))
            if "tags" in config:
                if context != "env":
                    self.error(context, "tags are only allowed in the root env")
                tags_context = self.join(context, "tags")
                self.check_type(config["tags"], tags_context, "hash")
                for tag, tag_env in config["tags"].items():
                    tag_context = self.join(tags_context, tag)
                    self.check_type(tag_env, tag_context, "hash")
                    self.env(tag_env, tag_context)
        else:
            self.value(config, hash_of(S), context)

    def group_name(self, name, context, what):  # OURS: Kamal fails with `undefined method 'inquiry'` on null or numbers
        if not isinstance(name, str):
            kind = "null" if name is None else "the %s %s" % ("boolean" if isinstance(name, bool) else "number", key_text(name))
            self.error(context, "the %s name is %s, not a string" % (what, kind),
                       hint='quote it ("%s": ...)' % key_text(name) if name is not None else "name the %s" % what)
        if not name.strip():  # Ansible refuses an empty group name
            self.error(context, "the %s name is empty" % what, hint="name the %s" % what)
        if name == "all" and what == "accessory":
            self.error(context, 'the accessory name "all" means every accessory (kamal accessory boot all, and -e accessory=all '
                       "in the accessory playbooks); rename the accessory")
        if what == "role":
            if name in ANSIBLE_GROUPS:
                self.error(context, 'the role name "%s" is %s; rename the role' % (name, ANSIBLE_GROUPS[name]))
            if name.startswith("kamal_"):
                self.error(context, 'the role name "%s" starts with kamal_, which names the inventory\'s own groups '
                           "(kamal_proxy, kamal_primary, kamal_app_hosts, ...); rename the role" % name)
            if name.startswith("accessory_"):
                self.error(context, 'the role name "%s" starts with accessory_, which names the inventory group of each '
                           "accessory (accessory_<name>); rename the role" % name)

    def role(self, name, config):
        context = self.join("servers", name)
        self.check_type(config, context, "array", "hash")
        if isinstance(config, list):
            self.servers_list(config, context)
            return
        self.hash(config, ROLE, context)
        self.labels(config.get("labels"), context)
        self.docker_options(config.get("options"), context)
        self.env(config.get("env", {}), context + "/env")
        self.hash(config.get("logging") or {}, LOGGING, context + "/logging")
        proxy = config.get("proxy")
        if isinstance(proxy, dict):
            self.proxy(proxy, context + "/proxy")

    def proxy(self, config, context):
        self.hash(config, PROXY, context)
        hosts_given = is_present(config.get("host")) or is_present(config.get("hosts"))
        ssl = config.get("ssl")
        if not hosts_given and ssl is not None and ssl is not False:
            self.error(context, "Must set a host to enable automatic SSL")
        if "host" in config and "hosts" in config:
            self.error(context, "Specify one of 'host' or 'hosts', not both")
        if isinstance(ssl, dict):
            cert, key = is_present(ssl.get("certificate_pem")), is_present(ssl.get("private_key_pem"))
            if cert and not key:
                self.error(context, "Missing private_key_pem setting (required when certificate_pem is present)")
            if key and not cert:
                self.error(context, "Missing certificate_pem setting (required when private_key_pem is present)")
            # OURS: Kamal looks these secret names up only when it deploys, and fails there.
            ssl_context = self.join(context, "ssl")
            self.check_unknown_keys(ssl, _route.KAMAL_SSL_KEYS, ssl_context)
            for key, name in ssl.items():
                if not isinstance(name, str) or not name.strip():
                    self.error(self.join(ssl_context, key), "should be the name of a secret (in .kamal/secrets), got %s" % yaml_flow(name))
        host = config.get("host")
        if isinstance(host, str) and "," in host:  # OURS
            self.error(self.join(context, "host"), "%r names several hosts" % host,
                       hint="list them under `hosts:` (one per item); `host:` takes one host name")
        run = config.get("run")
        if is_present(run):
            for index, address in enumerate(run.get("bind_ips") or []):  # OURS: Kamal checks the wrong hash
                try:
                    ipaddress.ip_address(str(address).strip("[]"))
                except ValueError:
                    self.error(self.join(self.join(context, "run/bind_ips"), index), "Invalid publish IP address: %s" % address)
            if run.get("publish") is False and any(is_present(run.get(key)) for key in ("bind_ips", "http_port", "https_port")):
                self.error(context, "Cannot set http_port, https_port or bind_ips when publish is false")

    def registry(self, config, context, credentials_required=True):
        self.check_type(config, context, "hash")
        self.hash({k: v for k, v in config.items() if k not in ("username", "password")}, REGISTRY, context)
        server = config.get("server")
        if isinstance(server, str) and re.search(r"(?m)^localhost[:$]", server):
            return
        if not credentials_required and not any(key in config for key in ("username", "password")):
            return
        for key in ("username", "password"):
            value = config.get(key)
            key_context = self.join(context, key)
            if not is_present(value):
                self.error(key_context, "is required")
            if not (isinstance(value, str) or (isinstance(value, list) and len(value) == 1 and isinstance(value[0], str))):
                self.error(key_context, "should be a string or an array with one string (for secret lookup)")

    def accessory(self, name, config, role_names):
        context = self.join("accessories", name)
        self.hash(config, ACCESSORY, context)
        placement = [key for key in ("host", "hosts", "role", "roles", "tag", "tags") if key in config]
        if len(placement) != 1:
            self.error(context, "specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
        self.labels(config.get("labels"), context)
        self.docker_options(config.get("options"), context)
        if "roles" in config:
            missing = [str(role) for role in config["roles"] if role not in role_names]
            if missing:
                self.error(context, "unknown roles %s" % ", ".join(missing))
        elif "role" in config and config["role"] not in role_names:
            self.error(context, "unknown role %s" % config["role"])
        self.env(config.get("env", {}), context + "/env")
        if is_present(config.get("proxy")):
            proxy = config["proxy"]
            self.check_type(proxy, context + "/proxy", "hash")
            self.proxy(proxy, context + "/proxy")
        if is_present(config.get("registry")):
            self.registry(config["registry"], context + "/registry")

    def alias(self, name, command):
        context = self.join("aliases", name)
        self.check_type(command, context, S)
        if not ALIAS_NAME.fullmatch(str(name)):
            self.error(context, "Invalid alias name: '%s'. Must only contain lowercase letters, alphanumeric, hyphens and underscores."
                       % key_text(name))
        if name in BUILTIN_COMMANDS:
            self.error(context, "Alias '%s' conflicts with a built-in command." % name)

    def own_settings(self, raw):
        """OURS: ``x-kamal-deploy:``, and our settings where Kamal would meet them (at the top level)."""
        for key in OWN_SETTINGS:
            if key in raw and key not in TOP_LEVEL:  # `proxy:` is Kamal's own section too
                self.error(key, "is kamal.deploy's own setting, which Kamal rejects; move it under %s:" % OWN,
                           hint="%s: %s" % (OWN, yaml_flow({key: raw[key]})))
        if OWN not in raw:
            return
        own = raw[OWN]
        self.check_type(own, OWN, "hash")
        self.check_unknown_keys(own, OWN_SETTINGS, OWN)
        for key, value in own.items():
            kind, _default, hint = OWN_SETTINGS[key]
            context = self.join(OWN, key)
            if kind == SECONDS:
                if not is_integer(value) or value < 0:
                    self.error(context, "should be a whole number of seconds, 0 or more, got %s" % yaml_flow(value), hint=hint)
            elif kind == OWN_PROXY_KIND:
                self.own_proxy(value, context)
            elif not isinstance(value, str) or value not in kind:
                self.error(context, "should be one of %s, got %r" % (", ".join(kind), value), hint=hint)

    def own_proxy(self, config, context):
        """OURS: ``x-kamal-deploy: proxy:``, by _route.own_types() (``secret``: the name of a secret)."""
        kinds = {"str": S, "int": I, "bool": B, "list": array_of(S), "secret": S}
        schema = {key: {sub: kinds[kind] for sub, kind in nested.items()} for key, nested in _route.own_types().items()}
        self.hash(config, schema, context)
        auth = config.get("basic_auth")
        if auth is not None and not (is_present(auth.get("username")) and is_present(auth.get("password"))):
            self.error(self.join(context, "basic_auth"), "needs a username and password (the name of a secret in "
                       ".kamal/secrets)", hint="basic_auth: {username: admin, password: ADMIN_PASSWORD}")
        if config.get("client_ip") is not None:
            try:  # the proxy backend's own rule, before anything changes
                _caddy.client_ip_setting(config["client_ip"])
            except _caddy.RouteError as e:
                self.error(self.join(context, "client_ip"), str(e).replace("client_ip: ", "", 1),
                           hint="client_ip: {header: CF-Connecting-IP, trusted_proxies: [173.245.48.0/20, ...]}")

    def builder(self, config):
        self.hash(config, BUILDER, "builder")
        cache = config.get("cache")
        if cache and cache.get("type") and cache["type"] not in ("gha", "registry"):
            self.error("builder", "Invalid cache type: %s" % cache["type"])
        if not is_present(config.get("arch")):
            self.error("builder", "Builder arch not set")
        if config.get("pack") and isinstance(config.get("arch"), list) and len(config["arch"]) > 1:
            self.error("builder", "buildpacks only support building for one arch")
        if config.get("local") is False and not is_present(config.get("remote")):
            self.error("builder", "Cannot disable local builds, no remote is set")


def validate_structure(raw, reporter):
    """Check every key and type, in Kamal's order; raise KamalConfigError on the first problem."""
    check = Validator(reporter)
    check.own_settings(raw)
    check.hash(raw, TOP_LEVEL, "", allow_extensions=True)
    if "run_directory" in raw:  # OURS: Kamal accepts the key and ignores it
        check.error("run_directory", "Kamal ignores this setting and always uses .kamal in the SSH user's home directory",
                    hint="remove run_directory from the config")
    servers = raw.get("servers")
    if isinstance(servers, dict):
        for name in servers:
            check.group_name(name, check.join("servers", name), "role")
    role_names = ["web"] if isinstance(servers, list) else sorted(servers or {})
    if isinstance(servers, list):
        check.servers_list(servers, "servers")
    elif isinstance(servers, dict):
        for name in role_names:
            check.role(name, servers[name])
    # With ssh delivery no server pulls, so a registry without credentials is fine (a public base image).
    delivery = kamal_deploy_settings(raw)["image_delivery"]
    check.registry(raw.get("registry") or {}, "registry", credentials_required=delivery != "ssh")
    for name in raw.get("accessories") or {}:
        check.group_name(name, check.join("accessories", name), "accessory")
    for name, accessory in (raw.get("accessories") or {}).items():
        check.accessory(name, accessory, role_names)
    for name, command in (raw.get("aliases") or {}).items():
        check.alias(name, command)
    check.hash(raw.get("boot") or {}, BOOT, "boot")
    check.builder(raw.get("builder") or {})
    check.env(raw.get("env") or {}, "env")
    check.hash(raw.get("logging") or {}, LOGGING, "logging")
    if raw.get("output"):
        check.hash(raw["output"], OUTPUT, "output")
    root_proxy = raw.get("proxy")
    if root_proxy is not None:
        check.proxy(root_proxy, "proxy")
    check.hash(raw.get("ssh") or {}, SSH, "ssh")
    check.hash(raw.get("sshkit") or {}, SSHKIT, "sshkit")
    return role_names
