# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolved deploy.yml: plain dataclasses, every default applied, ready for Ansible vars.

Nothing here holds a secret value: secrets are referenced by name and read later by the
``kamal_secrets`` lookup.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import platform
import re
import shlex
from typing import Any, Dict, List, Optional, Union

from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.module_utils import _route
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._args import argumentize, escape_shell_value, optionize, ruby_to_s
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._loader import deep_merge
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._validate import Validator, is_present, kamal_deploy_settings

KAMAL_VERSION = "2.12.0"  # the Kamal whose semantics we implement (minimum_version is checked against it)
PROXY_IMAGE_REPOSITORY = "basecamp/kamal-proxy"
PROXY_IMAGE_VERSION = "v0.9.2"


class _Data:
    """to_dict() for the dataclasses below."""

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Env(_Data):
    """Clear values and secret references. ``secrets`` maps container variable -> secret key."""

    clear: Dict[str, str] = dataclasses.field(default_factory=dict)
    secret_entries: List[str] = dataclasses.field(default_factory=list)
    secrets: Dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(cls, config):
        config = config or {}
        if any(key in config for key in ("clear", "secret", "tags")):
            clear = config.get("clear") or {}
        else:
            clear = config
        return cls.build({str(k): ruby_to_s(v) for k, v in clear.items()}, [str(s) for s in config.get("secret") or []])

    @classmethod
    def build(cls, clear, entries):
        secrets = {}
        for entry in entries:
            name, _sep, key = entry.partition(":")
            secrets[name] = key or name
        return cls(clear=clear, secret_entries=entries, secrets=secrets)

    def merge(self, other):
        """Clear values: later wins. Secret names: union, in order."""
        entries = self.secret_entries + [e for e in other.secret_entries if e not in self.secret_entries]
        return Env.build({**self.clear, **other.clear}, entries)


@dataclasses.dataclass
class ProxyRun(_Data):
    http_port: int = 80
    https_port: int = 443
    bind_ips: Optional[List[str]] = None
    publish: bool = True
    log_max_size: str = "10m"
    metrics_port: Optional[int] = None
    debug: Optional[bool] = None
    registry: Optional[str] = None
    repository: str = PROXY_IMAGE_REPOSITORY
    version: str = PROXY_IMAGE_VERSION
    image: str = ""
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    raw: Dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(cls, run):
        get = run.get
        registry = get("registry")
        repository = get("repository", PROXY_IMAGE_REPOSITORY)
        version = get("version", PROXY_IMAGE_VERSION)
        return cls(
            http_port=get("http_port", 80), https_port=get("https_port", 443),
            bind_ips=[str(ip) for ip in get("bind_ips")] if get("bind_ips") else None,
            publish=get("publish", True), log_max_size=ruby_to_s(get("log_max_size", "10m")),
            metrics_port=get("metrics_port"), debug=get("debug"), registry=registry, repository=repository,
            version=version, image="%s:%s" % (naming.repository(repository, registry), version),
            options=dict(get("options") or {}), raw=dict(run),
        )


@dataclasses.dataclass
class Proxy(_Data):
    """The effective proxy settings of a role or accessory: the route its deploy.yml section makes
    (``_route.from_kamal``, route keys), the secret names of a custom certificate (by Kamal's ``ssl`` key; the
    plan reads their values), and the proxy container's ``run`` settings."""

    route: Dict[str, Any] = dataclasses.field(default_factory=dict)
    ssl_secrets: Dict[str, str] = dataclasses.field(default_factory=dict)
    run: Optional[ProxyRun] = None
    raw: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # OURS: x-kamal-deploy's proxy secrets, "<key>/<subkey>" -> secret name (the basic auth password).
    own_secrets: Dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(cls, config, own=None):
        """``own``: the ``x-kamal-deploy: proxy:`` section, merged into a role's route (None for accessories)."""
        config = config or {}
        route, ssl_secrets = _route.from_kamal(config, to_s=ruby_to_s)
        own_secrets = {}
        if own:
            settings, secrets = _route.from_own(own)
            route = _route.merge_own(route, settings)
            own_secrets = {"%s/%s" % key: name for key, name in secrets.items()}
        run = config.get("run")
        return cls(route=route, ssl_secrets=ssl_secrets, run=ProxyRun.from_config(run) if is_present(run) else None,
                   raw=dict(config), own_secrets=own_secrets)

    @property
    def tls_hosts(self):
        return _route.tls_hosts(self.route)


@dataclasses.dataclass
class Logging(_Data):
    driver: Optional[str] = None
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    args: List[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_config(cls, config):
        config = config or {}
        driver, options = config.get("driver"), dict(config.get("options") or {})
        if is_present(driver) or options:
            args = (optionize({"log-driver": driver}) if driver is not None else []) + argumentize("--log-opt", options)
        else:
            args = argumentize("--log-opt", {"max-size": "10m"})
        return cls(driver=driver, options=options, args=args)


@dataclasses.dataclass
class Role(_Data):
    name: str
    primary: bool
    hosts: List[str]
    host_tags: Dict[str, List[str]]
    cmd: Optional[str]
    options: Dict[str, Any]                # docker run options, restart excluded
    restart_policy: str
    option_args: List[str]
    logging: Logging
    running_proxy: bool
    proxy: Optional[Proxy]
    labels: Dict[str, str]                 # service/role/destination + root labels + role labels
    env: Dict[str, Env]                    # per host: root env + role env + host tag envs
    asset_path: Optional[str]
    asset_path_options: Optional[str]
    stop_timeout: Optional[int]            # as configured (role, else root)
    effective_stop_timeout: Optional[int]  # what `docker stop -t` gets (None: Docker's default)
    container_prefix: str
    proxy_service: str
    env_file: str


@dataclasses.dataclass
class Registry(_Data):
    server: Optional[str] = None
    username: Optional[str] = None          # a literal value from deploy.yml ...
    username_secret: Optional[str] = None   # ... or the name of a secret
    password: Optional[str] = None
    password_secret: Optional[str] = None
    local: bool = False
    local_port: Optional[int] = None

    @classmethod
    def from_config(cls, config):
        config = config or {}
        server = ruby_to_s(config["server"]) if config.get("server") is not None else None
        values = {}
        for key in ("username", "password"):
            value = config.get(key)
            if isinstance(value, list):
                values[key + "_secret"] = str(value[0])
            elif value is not None:
                values[key] = ruby_to_s(value)
        return cls(server=server, local=naming.is_local_registry(server), local_port=naming.local_registry_port(server), **values)


@dataclasses.dataclass
class AccessoryPath(_Data):
    local: str
    remote: str
    mode: Optional[str]
    owner: Optional[str]
    options: Optional[str]
    host_path: str          # on the server, relative to the SSH user's home unless absolute
    volume: str             # the docker --volume value
    template: bool = False  # a local file ending in "erb" is rendered with the accessory env


@dataclasses.dataclass
class Accessory(_Data):
    name: str
    service_name: str
    image: Optional[str]
    registry: Optional[Registry]
    hosts: List[str]
    port: Optional[str]
    cmd: Optional[str]
    env: Env
    files: List[AccessoryPath]
    directories: List[AccessoryPath]
    volumes: List[str]
    volume_args: List[str]
    labels: Dict[str, str]
    options: Dict[str, Any]
    restart_policy: str
    option_args: List[str]
    network: str
    proxy: Optional[Proxy]
    env_file: str
    raw: Dict[str, Any]


@dataclasses.dataclass
class Ssh(_Data):
    user: str = "root"
    port: int = 22
    proxy: Optional[str] = None           # jump host, always user@host
    proxy_command: Optional[str] = None
    keys: Optional[List[str]] = None
    keys_only: Optional[bool] = None
    key_data: Optional[List[str]] = None  # secret names (or inline keys, deprecated in Kamal)
    config: Union[bool, str, List[str]] = True
    forward_agent: Optional[bool] = None
    log_level: str = "fatal"


@dataclasses.dataclass
class Builder(_Data):
    arch: List[str]
    remote: Optional[str]
    local: bool
    driver: str
    context: Optional[str]
    dockerfile: str
    target: Optional[str]
    args: Dict[str, Any]
    secrets: List[str]
    ssh: Optional[str]
    cache: Optional[Dict[str, Any]]
    pack: Optional[Dict[str, Any]]
    provenance: Optional[str]
    sbom: Optional[bool]
    git_clone: bool                        # no context: Kamal builds from a clean git clone
    raw: Dict[str, Any]


@dataclasses.dataclass
class Boot(_Data):
    limit: Optional[int]      # hosts per boot group (N% resolved against all hosts)
    limit_setting: Any
    wait: Optional[int]
    parallel_roles: bool


@dataclasses.dataclass
class KamalConfig(_Data):  # pylint: disable=too-many-instance-attributes
    service: str
    image: str
    destination: Optional[str]
    version: Optional[str]
    service_with_destination: str
    service_with_version: Optional[str]
    registry: Registry
    image_delivery: str                # OURS (x-kamal-deploy): registry (push/pull, Kamal's way) or ssh (docker save/load over SSH)
    min_uptime: int                    # OURS (x-kamal-deploy): seconds a new app container must keep running
    proxy_http3: bool                  # OURS (x-kamal-deploy: proxy: run: http3): HTTP/3 on UDP 443
    repository: str
    absolute_image: Optional[str]
    latest_tag: str
    latest_image: str
    primary_role: str
    roles: List[Role]                  # Kamal order: sorted by name, primary first
    host_tags: Dict[str, List[str]]    # every app host -> its tags (all roles)
    all_hosts: List[str]               # as `kamal config` prints: roles by name, then accessories
    app_hosts: List[str]               # primary-role hosts first
    primary_host: Optional[str]
    proxy_hosts: List[str]
    accessory_hosts: List[str]
    accessories: List[Accessory]
    proxy: Proxy                       # the root proxy settings
    env: Env                           # the root env
    env_tags: Dict[str, Env]
    labels: Dict[str, str]
    volumes: List[str]
    volume_args: List[str]
    logging: Logging
    asset_path: Optional[str]
    ssh: Ssh
    sshkit: Dict[str, int]
    builder: Builder
    boot: Boot
    aliases: Dict[str, str]
    hooks_path: str
    hooks_output: Any
    secrets_path: str
    error_pages_path: Optional[str]
    require_destination: bool
    allow_empty_roles: bool
    retain_containers: int
    minimum_version: Optional[str]
    readiness_delay: int
    deploy_timeout: int
    drain_timeout: int
    stop_timeout: Optional[int]
    output: Dict[str, Any]
    run_directory: str
    lock_dir: str
    audit_log: str
    config_files: List[str]
    project_dir: str
    raw: Dict[str, Any]
    warnings: List[str]                # what is valid for Kamal 2.12 and will not be (each run prints them)

    def role(self, name):
        return next((role for role in self.roles if role.name == name), None)

    def accessory(self, name):
        return next((acc for acc in self.accessories if acc.name == name), None)

    def secret_names(self):
        """Every secret the config refers to (env, registry, builder, ssh key_data, custom SSL certs)."""
        names = []

        def add(name):
            if name and name not in names:
                names.append(name)

        for role in self.roles:
            for env in role.env.values():
                for key in env.secrets.values():
                    add(key)
            if role.proxy:
                for name in list(role.proxy.ssl_secrets.values()) + list(role.proxy.own_secrets.values()):
                    add(name)
        for accessory in self.accessories:
            for key in accessory.env.secrets.values():
                add(key)
            if accessory.proxy:
                for name in accessory.proxy.ssl_secrets.values():
                    add(name)
            if accessory.registry:
                add(accessory.registry.username_secret)
                add(accessory.registry.password_secret)
        add(self.registry.username_secret)
        add(self.registry.password_secret)
        for name in self.builder.secrets:
            add(name)
        return names

    def inventory_groups(self):
        """Group name -> hosts: one group per role, ``accessory_<name>``, ``kamal_proxy``, ``kamal_primary``."""
        groups = {role.name: list(role.hosts) for role in self.roles}
        for accessory in self.accessories:
            groups["accessory_%s" % accessory.name] = list(accessory.hosts)
        groups["kamal_proxy"] = list(self.proxy_hosts)
        groups["kamal_primary"] = [self.primary_host] if self.primary_host else []
        return groups

    def local_path(self, path):
        """A controller path from the config: relative ones are relative to the project directory, which is where
        Kamal runs, so they work from any working directory (AWX, molecule); ``~`` is left to ssh."""
        path = str(path)
        if path.startswith(("/", "~")):
            return path
        return os.path.normpath(os.path.join(self.project_dir, path))

    def host_vars(self, host):
        """Connection variables for one host, from ``ssh`` (the same for every host) and its tags."""
        ssh = self.ssh
        hostvars = {"ansible_user": ssh.user, "ansible_port": ssh.port, "kamal_tags": list(self.host_tags.get(host, []))}
        common = []
        keys = [self.local_path(key) for key in ssh.keys or []]
        if keys:
            hostvars["ansible_ssh_private_key_file"] = keys[0]
            for key in keys[1:]:
                common += ["-i", key]
        if ssh.keys_only:
            common += ["-o", "IdentitiesOnly=yes"]
        if ssh.proxy:
            common += ["-o", "ProxyJump=%s" % ssh.proxy]
        elif ssh.proxy_command:
            common += ["-o", "ProxyCommand=%s" % ssh.proxy_command]
        if ssh.config is False:
            common += ["-F", "/dev/null"]
        elif isinstance(ssh.config, str) and not isinstance(ssh.config, bool):
            common += ["-F", self.local_path(ssh.config)]
        elif isinstance(ssh.config, list):
            # OpenSSH takes one -F; Kamal (net-ssh) reads them all. Use the first.
            common += ["-F", self.local_path(ssh.config[0])] if ssh.config else []
        if ssh.forward_agent:
            common += ["-o", "ForwardAgent=yes"]
        if common:
            hostvars["ansible_ssh_common_args"] = " ".join(shlex.quote(part) for part in common)
        return hostvars


# Resolution ---------------------------------------------------------------------------------------------

def _default(value, default):
    """Ruby's ``value || default``: only nil (and false) fall back."""
    return default if value is None or value is False else value


def _host_entries(entries):
    """[host | {host: tag | [tags]}] -> ordered {host: [tags]} (a repeated host keeps its last tags)."""
    hosts = {}
    for entry in entries or []:
        if isinstance(entry, dict):
            host, tags = next(iter(entry.items()))
            hosts[ruby_to_s(host)] = [ruby_to_s(t) for t in (tags if isinstance(tags, list) else [tags])]
        elif entry is not None:
            hosts[ruby_to_s(entry)] = []
    return hosts


def _role_host_entries(servers, name):
    if isinstance(servers, list):
        return servers
    role = servers[name]
    return role if isinstance(role, list) else (role.get("hosts") or [])


def _version_key(version):
    """A Gem::Version-like sort key: release numbers, then pre-release (a letter segment) sorts first."""
    parts = re.findall(r"\d+|[a-zA-Z]+", str(version))
    release = []
    while parts and parts[0].isdigit():
        release.append(int(parts.pop(0)))
    while release and release[-1] == 0:
        release.pop()
    pre = tuple((0, part, 0) if not part.isdigit() else (1, "", int(part)) for part in parts)
    return (tuple(release), 0 if pre else 1, pre)


def _local_docker_arch():
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _build_role(name, raw, ctx):
    servers = raw["servers"]
    spec = {} if isinstance(servers, list) or isinstance(servers[name], list) else servers[name]
    host_tags = _host_entries(_role_host_entries(servers, name))
    primary = name == ctx["primary_role"]
    proxy_setting = spec.get("proxy")
    running_proxy = proxy_setting is not False if primary else bool(proxy_setting)
    proxy = None
    if running_proxy:
        own = proxy_setting if isinstance(proxy_setting, dict) else {}
        merged = deep_merge(raw.get("proxy") or {}, own)
        ctx["validator"].proxy(merged, "proxy")
        proxy = Proxy.from_config(merged, own=kamal_deploy_settings(raw)["proxy"])
    env_root, tag_envs = ctx["env"], ctx["env_tags"]
    role_env = env_root.merge(Env.from_config(spec.get("env")))
    envs = {}
    for host, tags in host_tags.items():
        env = role_env
        for tag in tags:
            if tag in tag_envs:
                env = env.merge(tag_envs[tag])
        envs[host] = env
    options = dict(spec.get("options") or {})
    restart = options.pop("restart", None)
    labels = naming.app_labels(raw["service"], name, ctx["destination"])
    labels.update({str(k): ruby_to_s(v) for k, v in (raw.get("labels") or {}).items()})
    labels.update({str(k): ruby_to_s(v) for k, v in (spec.get("labels") or {}).items()})
    asset = spec.get("asset_path") or raw.get("asset_path")
    asset_parts = ruby_to_s(asset).split(":", 1) if is_present(asset) else [None, None]
    stop_timeout = spec.get("stop_timeout", raw.get("stop_timeout"))
    if stop_timeout is None and not running_proxy:
        effective_stop = _default(raw.get("drain_timeout"), 30)
    else:
        effective_stop = stop_timeout
    service, destination = raw["service"], ctx["destination"]
    return Role(
        name=name, primary=primary, hosts=list(host_tags), host_tags=host_tags,
        cmd=ruby_to_s(spec["cmd"]) if spec.get("cmd") is not None else None, options=options,
        restart_policy=restart or "unless-stopped", option_args=optionize(options),
        logging=Logging.from_config(deep_merge(raw.get("logging") or {}, spec.get("logging") or {})),
        running_proxy=running_proxy, proxy=proxy, labels=labels, env=envs,
        asset_path=asset_parts[0], asset_path_options=asset_parts[1] if len(asset_parts) > 1 else None,
        stop_timeout=stop_timeout, effective_stop_timeout=effective_stop,
        container_prefix=naming.container_prefix(service, name, destination),
        proxy_service=naming.proxy_service_name(service, name, destination),
        env_file=naming.role_env_file(service, name, destination),
    )


def _accessory_paths(entries, service_name, project_dir, files):
    paths = []
    for entry in entries or []:
        if isinstance(entry, dict):
            local, remote = ruby_to_s(entry.get("local")), ruby_to_s(entry.get("remote"))
            options, mode, owner = entry.get("options"), entry.get("mode"), entry.get("owner")
        else:
            parts = ruby_to_s(entry).split(":", 2)
            local, remote = parts[0], parts[1] if len(parts) > 1 else ""
            options, mode, owner = (parts[2] if len(parts) > 2 else None), None, None
        if mode is None and files:
            mode = "755"
        if files:
            host_path = service_name + remote
            local_path = local if os.path.isabs(local) else os.path.join(project_dir, local)
        else:
            host_path = local if os.path.isabs(local) else "%s/%s" % (service_name, local)
            local_path = local
        volume = "%s:%s" % (host_path if os.path.isabs(host_path) else "$PWD/" + host_path, remote)
        if is_present(options):
            volume += ":%s" % options
        paths.append(AccessoryPath(local=local_path, remote=remote, mode=None if mode is None else ruby_to_s(mode),
                                   owner=None if owner is None else ruby_to_s(owner), options=options,
                                   host_path=host_path, volume=volume, template=files and local.endswith("erb")))
    return paths


def _hosts_with_tag(servers, tag):
    # Kamal only finds tags in roles written as plain lists; we also look in `hosts:` and list-form servers.
    found = []
    if isinstance(servers, list):
        groups = [servers]
    else:
        groups = [role if isinstance(role, list) else (role or {}).get("hosts") or [] for role in (servers or {}).values()]
    for entries in groups:
        for host, tags in _host_entries(entries).items():
            if tag in tags and host not in found:
                found.append(host)
    return found


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def accessory_port_warning(name, port):
    """The warning for an accessory ``port`` without a bind address (``"5432"``, ``"5432:5432"``): Docker publishes
    it on every interface, a database open to the internet. Kamal's main branch after 2.12 refuses it (kamal#1880,
    #1790); this warns with the same fix until a released Kamal does, and then refuses it too. None when the port
    names its address (``127.0.0.1:5432:5432``, ``0.0.0.0:...``, ``[::1]:...``)."""
    if port is None:
        return None
    text = ruby_to_s(port)
    binding = text.split("/", 1)[0]
    if binding.startswith("["):
        explicit = "]" in binding and _is_ip(binding[1:binding.index("]")])
    else:
        explicit = binding.count(":") >= 2 and _is_ip(binding.split(":", 1)[0])
    if explicit:
        return None
    container = binding.rsplit(":", 1)[-1]
    return ('accessories/%s: port "%s" publishes on every interface of the server (Docker binds 0.0.0.0), so the '
            'accessory is reachable from the internet. Use "127.0.0.1:%s:%s" to keep it on the server (or '
            '"0.0.0.0:%s:%s" if you mean every interface, "[::1]:%s:%s" for IPv6). Kamal after 2.12 refuses a port '
            'without a bind address (kamal#1880); kamal.deploy will too once a Kamal release does.'
            % (name, text, container, container, container, container, container, container))


def _build_accessory(name, spec, raw, roles, ctx):
    service, destination = raw["service"], ctx["destination"]
    service_name = naming.accessory_service_name(service, name, spec.get("service"))
    if "host" in spec:
        hosts = [ruby_to_s(spec["host"])]
    elif "hosts" in spec:
        hosts = list(_host_entries(spec["hosts"]))
    elif "role" in spec or "roles" in spec:
        names = [spec["role"]] if "role" in spec else spec["roles"]
        hosts = [h for n in names for h in (roles[n].hosts if n in roles else [])]
    else:
        tags = [spec["tag"]] if "tag" in spec else spec["tags"]
        hosts = [h for t in tags for h in _hosts_with_tag(raw.get("servers"), ruby_to_s(t))]
    hosts = list(dict.fromkeys(hosts))
    registry = Registry.from_config(spec["registry"]) if is_present(spec.get("registry")) else None
    image = spec.get("image")
    if image is not None:
        image = naming.repository(ruby_to_s(image), registry.server if registry else None)
    port = spec.get("port")
    if port is not None:
        port = ruby_to_s(port)
        port = port if ":" in port else "%s:%s" % (port, port)
    options = dict(spec.get("options") or {})
    restart = options.pop("restart", None)
    files = _accessory_paths(spec.get("files"), service_name, ctx["project_dir"], True)
    directories = _accessory_paths(spec.get("directories"), service_name, ctx["project_dir"], False)
    volumes = [ruby_to_s(v) for v in spec.get("volumes") or []]
    volume_args = argumentize("--volume", volumes)
    for path in files + directories:
        volume_args += ["--volume", escape_shell_value(path.volume)]
    labels = naming.accessory_labels(service_name)
    labels.update({str(k): ruby_to_s(v) for k, v in (spec.get("labels") or {}).items()})
    return Accessory(
        name=name, service_name=service_name, image=image, registry=registry, hosts=hosts, port=port,
        cmd=ruby_to_s(spec["cmd"]) if spec.get("cmd") is not None else None, env=Env.from_config(spec.get("env")),
        files=files, directories=directories, volumes=volumes, volume_args=volume_args, labels=labels,
        options=options, restart_policy=restart or "unless-stopped", option_args=optionize(options),
        network=ruby_to_s(spec.get("network") or naming.DEFAULT_NETWORK),
        proxy=Proxy.from_config(spec["proxy"]) if is_present(spec.get("proxy")) else None,
        env_file=naming.accessory_env_file(service, name, destination), raw=spec,
    )


def _builder(raw_builder):
    config = raw_builder or {}
    driver = ruby_to_s(config.get("driver", "docker-container"))
    arch = config.get("arch", [] if driver == "docker" else ["amd64", "arm64"])
    return Builder(
        arch=[ruby_to_s(a) for a in (arch if isinstance(arch, list) else [arch])], remote=config.get("remote"),
        local=config.get("local") is not False, driver=driver, context=config.get("context"),
        dockerfile=config.get("dockerfile") or "Dockerfile", target=config.get("target"), args=dict(config.get("args") or {}),
        secrets=[ruby_to_s(s) for s in config.get("secrets") or []], ssh=config.get("ssh"), cache=config.get("cache"),
        pack=config.get("pack"), provenance=config.get("provenance"), sbom=config.get("sbom"),
        git_clone=config.get("context") is None, raw=dict(config),
    )


def _ssh(config):
    config = config or {}
    proxy = config.get("proxy")
    if proxy is not None:
        proxy = ruby_to_s(proxy)
        proxy = proxy if "@" in proxy else "root@" + proxy
    port = config.get("port", 22)
    return Ssh(
        user=ruby_to_s(config.get("user", "root")), port=int(port) if str(port).isdigit() else port, proxy=proxy,
        proxy_command=config.get("proxy_command") if proxy is None else None, keys=config.get("keys"),
        keys_only=config.get("keys_only"), key_data=config.get("key_data"), config=config.get("config", True),
        forward_agent=config.get("forward_agent"), log_level=ruby_to_s(config.get("log_level", "fatal")).lstrip(":"),
    )


def _boot(config, host_count, reporter):
    config = config or {}
    setting = config.get("limit")
    limit = None
    if setting is not None:
        text = ruby_to_s(setting).strip()
        if text.endswith("%"):
            percent = re.match(r"[+-]?\d+", text)
            limit = max(host_count * (int(percent.group(0)) if percent else 0) // 100, 1)
        elif re.fullmatch(r"\d+", text) and int(text) > 0:
            limit = int(text)
        else:  # OURS: Kamal fails later, in the middle of a deploy
            reporter.fail("should be a positive number of hosts or a percentage like 25%", "boot/limit")
    return Boot(limit=limit, limit_setting=setting, wait=config.get("wait"), parallel_roles=bool(config.get("parallel_roles")))


def _hooks_output(value, reporter):
    def level(item, hook=None):
        name = ruby_to_s(item).lstrip(":")
        if name not in ("quiet", "verbose"):
            where = " for hook '%s'" % hook if hook else ""
            reporter.fail("Invalid hooks_output '%s'%s, must be one of: quiet, verbose" % (name, where))
        return name

    if value is None:
        return None
    if isinstance(value, dict):
        return {str(hook): level(item, hook) for hook, item in value.items()}
    return level(value)


def build_config(raw, ctx, reporter, resolve_version):  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
    """Resolve a validated raw config; run Kamal's cross-checks; return a KamalConfig."""
    destination = ctx["destination"]
    ctx["validator"] = Validator(reporter)
    service = raw.get("service")
    servers = raw.get("servers")
    primary_role = ruby_to_s(raw.get("primary_role") or "web")
    ctx["primary_role"] = primary_role
    root_env = raw.get("env") or {}
    ctx["env"] = Env.from_config(root_env)
    ctx["env_tags"] = {str(tag): Env.from_config(cfg) for tag, cfg in ((root_env.get("tags") or {}) if isinstance(root_env, dict) else {}).items()}

    registry = Registry.from_config(raw.get("registry"))
    own = kamal_deploy_settings(raw)
    image_delivery = own["image_delivery"]
    image = raw.get("image")
    # A local registry (Kamal) or ssh delivery (ours) names the image after the service by default.
    image = ruby_to_s(image) if is_present(image) else (
        ruby_to_s(service) if (registry.local or image_delivery == "ssh") and service is not None else None)

    role_names = ["web"] if isinstance(servers, list) else sorted(servers or {}, key=str)
    roles_by_name = {}
    if service is not None:
        raw_for_roles = dict(raw, service=ruby_to_s(service))
        for name in role_names:
            roles_by_name[name] = _build_role(name, raw_for_roles, ctx)
        accessories = [_build_accessory(name, spec, raw_for_roles, roles_by_name, ctx)
                       for name, spec in (raw.get("accessories") or {}).items()]
    else:
        accessories = []

    require_destination = bool(raw.get("require_destination"))
    if require_destination and not destination:
        reporter.fail("You must specify a destination", hint="pass a destination (kamal -d DEST)")
    for key in ("service", "registry") if image_delivery != "ssh" else ("service",):
        if not is_present(raw.get(key)):
            reporter.fail("Missing required configuration for %s" % key)
    if not is_present(image):
        reporter.fail("Missing required configuration for image")
    if servers is None:
        if not is_present(raw.get("accessories")):
            reporter.fail("No servers or accessories specified")
    else:
        if primary_role not in roles_by_name:
            reporter.fail("The primary_role %s isn't defined" % primary_role)
        if not roles_by_name[primary_role].hosts:
            reporter.fail("No servers specified for the %s primary_role" % primary_role)
        if not raw.get("allow_empty_roles"):
            for name in role_names:
                if not roles_by_name[name].hosts:
                    reporter.fail("No servers specified for the %s role. You can ignore this with allow_empty_roles: true" % name)
    minimum_version = raw.get("minimum_version")
    if minimum_version is not None and _version_key(minimum_version) > _version_key(KAMAL_VERSION):
        reporter.fail("Current version is %s, minimum required is %s" % (KAMAL_VERSION, ruby_to_s(minimum_version)))
    retain = raw.get("retain_containers", 5)
    if retain is None:
        retain = 5
    if retain < 1:
        reporter.fail("Must retain at least 1 container")
    if not isinstance(service, str) or not re.fullmatch(r"[a-zA-Z0-9_-]+", service):
        reporter.fail("Service name can only include alphanumeric characters, hyphens, and underscores")
    hooks_path = ruby_to_s(raw.get("hooks_path") or ".kamal/hooks")
    hooks_dir = hooks_path if os.path.isabs(hooks_path) else os.path.join(ctx["project_dir"], hooks_path)
    legacy = [hook for hook in ("pre-traefik-reboot", "post-traefik-reboot") if os.path.exists(os.path.join(hooks_dir, hook))]
    if legacy:
        reporter.fail("Found %s, these should be renamed to (pre|post)-proxy-reboot" % ", ".join(legacy))

    roles_sorted = [roles_by_name[name] for name in role_names]
    for role in roles_sorted:
        if role.proxy and role.proxy.tls_hosts and len(role.hosts) > 1 and not role.proxy.ssl_secrets:
            reporter.fail("SSL is only supported on a single server unless you provide custom certificates, found %d servers for role %s"
                          % (len(role.hosts), role.name))
    ssl_hosts = [host for role in roles_sorted if role.proxy for host in role.proxy.tls_hosts]
    duplicates = list(dict.fromkeys(host for host in ssl_hosts if ssl_hosts.count(host) > 1))
    if duplicates:
        reporter.fail("Different roles can't share the same host for SSL: %s" % ", ".join(duplicates))

    builder = _builder(raw.get("builder"))
    if registry.local and builder.remote:
        local_arches = [] if not builder.local else [a for a in builder.arch if a == _local_docker_arch()]
        if [a for a in builder.arch if a not in local_arches] and not str(builder.remote).startswith("ssh://"):
            reporter.fail("Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)")

    all_hosts = list(dict.fromkeys([h for role in roles_sorted for h in role.hosts] + [h for acc in accessories for h in acc.hosts]))
    for host in all_hosts:
        runs = [role.proxy.run.raw for role in roles_sorted if host in role.hosts and role.proxy and role.proxy.run]
        runs += [acc.proxy.run.raw for acc in accessories if host in acc.hosts and acc.proxy and acc.proxy.run]
        if any(run != runs[0] for run in runs):
            reporter.fail("Conflicting proxy run configurations for host %s" % host)
    hooks_output = _hooks_output(raw.get("hooks_output"), reporter)

    version = ctx["version"]
    if version is None and resolve_version:
        version = ctx["version_resolver"](builder)
    primary = roles_by_name.get(primary_role)
    kamal_order = ([primary] if primary else []) + [role for role in roles_sorted if role is not primary]
    host_tags = {}
    for role in roles_sorted:
        for host, tags in role.host_tags.items():
            host_tags.setdefault(host, [])
            host_tags[host] += [t for t in tags if t not in host_tags[host]]
    for acc in accessories:
        for host in acc.hosts:
            host_tags.setdefault(host, [])
    app_hosts = list(dict.fromkeys([h for role in kamal_order for h in role.hosts]))
    proxy_hosts = list(dict.fromkeys([h for role in roles_sorted if role.running_proxy for h in role.hosts]
                                     + [h for acc in accessories if acc.proxy for h in acc.hosts]))
    repo = naming.repository(image, registry.server)
    volumes = [ruby_to_s(v) for v in raw.get("volumes") or []]
    return KamalConfig(
        service=service, image=image, destination=destination, version=version,
        service_with_destination=naming.service_with_destination(service, destination),
        service_with_version=naming.service_with_version(service, version) if version else None,
        registry=registry, image_delivery=image_delivery, min_uptime=own["min_uptime"], repository=repo,
        proxy_http3=bool((own["proxy"].get("run") or {}).get("http3")),
        absolute_image=naming.absolute_image(repo, version) if version else None,
        latest_tag=naming.latest_tag(destination), latest_image=naming.latest_image(repo, destination),
        primary_role=primary_role, roles=kamal_order, host_tags=host_tags, all_hosts=all_hosts, app_hosts=app_hosts,
        primary_host=primary.hosts[0] if primary and primary.hosts else None, proxy_hosts=proxy_hosts,
        accessory_hosts=list(dict.fromkeys(h for acc in accessories for h in acc.hosts)), accessories=accessories,
        proxy=Proxy.from_config(raw.get("proxy") or {}), env=ctx["env"], env_tags=ctx["env_tags"],
        labels={str(k): ruby_to_s(v) for k, v in (raw.get("labels") or {}).items()}, volumes=volumes,
        volume_args=argumentize("--volume", volumes), logging=Logging.from_config(raw.get("logging")),
        asset_path=raw.get("asset_path"), ssh=_ssh(raw.get("ssh")), sshkit=dict(raw.get("sshkit") or {}),
        builder=builder, boot=_boot(raw.get("boot"), len(all_hosts), reporter),
        aliases={str(k): ruby_to_s(v) for k, v in (raw.get("aliases") or {}).items()},
        hooks_path=hooks_path, hooks_output=hooks_output, secrets_path=ruby_to_s(raw.get("secrets_path") or ".kamal/secrets"),
        error_pages_path=raw.get("error_pages_path"), require_destination=require_destination,
        allow_empty_roles=bool(raw.get("allow_empty_roles")), retain_containers=retain,
        minimum_version=None if minimum_version is None else ruby_to_s(minimum_version),
        readiness_delay=_default(raw.get("readiness_delay"), 7), deploy_timeout=_default(raw.get("deploy_timeout"), 30),
        drain_timeout=_default(raw.get("drain_timeout"), 30), stop_timeout=raw.get("stop_timeout"),
        output=dict(raw.get("output") or {}),
        run_directory=naming.RUN_DIRECTORY, lock_dir=naming.lock_dir(service, destination),
        audit_log=naming.audit_log_path(service, destination), config_files=ctx["files"], project_dir=ctx["project_dir"], raw=raw,
        warnings=[w for acc in accessories for w in [accessory_port_warning(acc.name, acc.raw.get("port"))] if w],
    )
