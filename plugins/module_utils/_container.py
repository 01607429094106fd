# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What app and accessory containers share: their spec, and a manager base over the Docker SDK.

Kamal's app and accessory commands build their containers from the same deploy.yml values and treat them
alike in many steps, so those steps live here once:

- the values: Kamal's escaping (env files, the ``docker run`` command line as the remote shell reads it),
  role/accessory ``options`` as SDK kwargs, logging, ``cmd``;
- :class:`ContainerSpec`: env, secret env and its env file, volumes, registry, route of one container kind;
- :class:`ContainerManager`: the env file writer, registry login and image ensure, logs, exec (in the
  running container or a new one, results shaped alike), route and unroute through the proxy backend,
  and the container summary.

:mod:`_app` (boot, switch, drain, prune) and :mod:`_accessory` (spec-diff reboot, files, directories)
extend them with their own semantics only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import shlex

from ansible_collections.kamal.deploy.plugins.module_utils import _audit
from ansible_collections.kamal.deploy.plugins.module_utils import _caddy
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _progress
from ansible_collections.kamal.deploy.plugins.module_utils import _files
from ansible_collections.kamal.deploy.plugins.module_utils import _logs
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.module_utils import _registry
from ansible_collections.kamal.deploy.plugins.module_utils import _route

# The hash of a container's spec, recorded as a label to detect config drift (and, for accessories, with
# the spec itself beside it in SPEC_DATA_LABEL, for diffs).
SPEC_LABEL = "kamal.deploy.spec"
SPEC_DATA_LABEL = SPEC_LABEL + "-data"
ACTIVE_STATUSES = ("running", "restarting")
DEFAULT_LOG_MAX_SIZE = "10m"


class ContainerError(KamalError):
    """A failure of an app or accessory command, with a message for humans and details for the module result."""


# Kamal's escaping ---------------------------------------------------------------------------------------

_DUMP_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v", "\b": "\\b",
                 "\a": "\\a", "\x1b": "\\e", '"': '\\"', "\\": "\\\\"}


def ruby_dump_inner(value):
    """Ruby's ``String#dump`` without the outer quotes, keeping non-ASCII characters as they are.

    Kamal dumps ASCII runs only (``escape_docker_env_file_value``/``escape_shell_value``).
    """
    value = str(value)
    out = []
    for index, char in enumerate(value):
        code = ord(char)
        if char in _DUMP_ESCAPES:
            out.append(_DUMP_ESCAPES[char])
        elif char == "#" and value[index + 1:index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif code < 0x20 or code == 0x7F:
            out.append("\\x%02X" % code)
        else:
            out.append(char)
    return "".join(out)


def env_file_value(value):
    """A value as Kamal writes it into an env file: dumped, then ``\\"`` and ``\\#`` unescaped.

    Docker reads env files literally, so a newline reaches the container as the two characters ``\\n``.
    """
    return ruby_dump_inner(value).replace('\\"', '"').replace("\\#", "#")


def render_env_file(secret_env):
    """The content of ``<role>.env``: ``KEY=value`` lines; an empty env is a single newline (as Kamal)."""
    content = "".join("%s=%s\n" % (key, env_file_value(value)) for key, value in secret_env.items())
    return content or "\n"


def parse_env_file(content):
    """What ``docker run --env-file`` makes of a file: ``KEY=VALUE`` lines, ``#`` comments, no unquoting."""
    env = []
    for line in content.split("\n"):
        line = line.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            if key in os.environ:
                env.append((key, os.environ[key]))
            continue
        env.append((key, value))
    return env


_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def shell_value(value, environ=None):
    """What a container sees for a value Kamal puts on the ``docker run`` command line.

    Kamal renders it as ``"<dump>"`` with backticks and every ``$`` escaped except ``${...}`` groups; the
    remote shell then expands ``${VAR}`` and removes the backslash before ``"``, ``\\``, ``$`` and
    backticks only. So ``a\\nb`` (a newline) arrives as the four characters ``a\\nb`` and ``${HOME}`` is the
    SSH user's home: the same values, without a shell.
    """
    if isinstance(value, bool):
        value = "true" if value else "false"
    environ = os.environ if environ is None else environ
    dumped = ruby_dump_inner(value)
    out = []
    index = 0
    while index < len(dumped):
        char = dumped[index]
        if char == "\\" and index + 1 < len(dumped) and dumped[index + 1] in '"\\':
            out.append(dumped[index + 1])
            index += 2
            continue
        if char == "$":
            match = _PARAM.match(dumped, index)
            if match:
                name, op, word = match.group(1), match.group(2), match.group(3)
                current = environ.get(name)
                if op == ":-" and not current:
                    current = word
                elif op == "-" and current is None:
                    current = word
                out.append(current or "")
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


# docker run options -> SDK create() kwargs ----------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1000, "ms": 10 ** 6, "s": 10 ** 9, "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


def _duration_ns(option, value):
    text = str(value).strip()
    if re.match(r"^\d+$", text):
        return int(text) * 10 ** 9
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ContainerError("options/%s: %r is not a duration (like 30s, 1m30s or 500ms)" % (option, value))
    return int(sum(float(n) * _DURATION_NS[u] for n, u in parts))


def _str(option, value):  # pylint: disable=unused-argument
    return str(value)


def _int(option, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ContainerError("options/%s: %r is not an integer" % (option, value))


def _key_value(option, value, sep="="):
    key, found, val = str(value).partition(sep)
    if not found:
        raise ContainerError("options/%s: %r should be KEY%sVALUE" % (option, value, sep))
    return key, val


def _publish(option, value):
    """``[ip:][host_port:]container_port[/proto]`` -> (``port/proto``, binding)."""
    text = str(value)
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
    if text.startswith("["):  # [ipv6]:host:container
        close = text.index("]")
        ip, rest = text[1:close], text[close + 2:]
        parts = [ip] + rest.split(":")
    else:
        parts = text.split(":")
    if len(parts) == 1:
        return "%s/%s" % (parts[0], proto), None
    if len(parts) == 2:
        return "%s/%s" % (parts[1], proto), (int(parts[0]) if parts[0] else None)
    if len(parts) == 3:
        host_port = int(parts[1]) if parts[1] else None
        return "%s/%s" % (parts[2], proto), (parts[0], host_port)
    raise ContainerError("options/%s: %r is not [ip:][host_port:]container_port[/proto]" % (option, value))


def _mount(option, value):
    mount = {}
    for item in str(value).split(","):
        key, sep, val = item.partition("=")
        key = key.strip().lower()
        if key == "type":
            mount["Type"] = val
        elif key in ("source", "src"):
            mount["Source"] = val
        elif key in ("target", "destination", "dst"):
            mount["Target"] = val
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = (not sep) or val.lower() in ("1", "true")
        elif key == "consistency":
            mount["Consistency"] = val
        else:
            raise ContainerError("options/%s: mount key %r is not supported by kamal_app (type, source, target, readonly,"
                                 " consistency are)" % (option, key))
    mount.setdefault("Type", "volume")
    if "Target" not in mount:
        raise ContainerError("options/%s: %r has no target" % (option, value))
    return mount


def _gpus(option, value):
    text = str(value)
    if text == "all":
        return {"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}
    if text.isdigit():
        return {"Driver": "", "Count": int(text), "Capabilities": [["gpu"]]}
    if text.startswith("device="):
        return {"Driver": "", "DeviceIDs": text[len("device="):].strip('"').split(","), "Capabilities": [["gpu"]]}
    raise ContainerError("options/%s: %r should be all, a count or device=<ids>" % (option, value))


def _ulimit(option, value):
    name, limits = _key_value(option, value)
    soft, _sep, hard = limits.partition(":")
    return {"Name": name, "Soft": _int(option, soft), "Hard": _int(option, hard or soft)}


# option name -> (kwarg, kind, converter). kinds: scalar (last wins), list (repeatable), dict (k=v
# repeatable), flag (bool), merge:<target> (merged into what kamal_app builds: labels, env, volumes, log).
_OPTIONS = {
    "add-host": ("extra_hosts", "list", _str),
    "blkio-weight": ("blkio_weight", "scalar", _int),
    "cap-add": ("cap_add", "list", _str),
    "cap-drop": ("cap_drop", "list", _str),
    "cgroup-parent": ("cgroup_parent", "scalar", _str),
    "cpu-period": ("cpu_period", "scalar", _int),
    "cpu-quota": ("cpu_quota", "scalar", _int),
    "cpu-rt-period": ("cpu_rt_period", "scalar", _int),
    "cpu-rt-runtime": ("cpu_rt_runtime", "scalar", _int),
    "cpu-shares": ("cpu_shares", "scalar", _int),
    "cpus": ("nano_cpus", "scalar", lambda o, v: int(round(float(v) * 10 ** 9))),
    "cpuset-cpus": ("cpuset_cpus", "scalar", _str),
    "cpuset-mems": ("cpuset_mems", "scalar", _str),
    "device": ("devices", "list", _str),
    "device-cgroup-rule": ("device_cgroup_rules", "list", _str),
    "dns": ("dns", "list", _str),
    "dns-option": ("dns_opt", "list", _str),
    "dns-search": ("dns_search", "list", _str),
    "domainname": ("domainname", "scalar", _str),
    "entrypoint": ("entrypoint", "scalar", lambda o, v: [str(v)]),
    "env": ("environment", "merge", _str),
    "gpus": ("device_requests", "list", _gpus),
    "group-add": ("group_add", "list", _str),
    "health-cmd": ("healthcheck.test", "health", lambda o, v: ["CMD-SHELL", str(v)]),
    "health-interval": ("healthcheck.interval", "health", _duration_ns),
    "health-retries": ("healthcheck.retries", "health", _int),
    "health-start-period": ("healthcheck.start_period", "health", _duration_ns),
    "health-timeout": ("healthcheck.timeout", "health", _duration_ns),
    "hostname": ("hostname", "scalar", _str),
    "init": ("init", "flag", None),
    "interactive": ("stdin_open", "flag", None),
    "ipc": ("ipc_mode", "scalar", _str),
    "isolation": ("isolation", "scalar", _str),
    "label": ("labels", "merge", _str),
    "log-driver": ("log.driver", "merge", _str),
    "log-opt": ("log.options", "merge", _str),
    "mac-address": ("mac_address", "scalar", _str),
    "memory": ("mem_limit", "scalar", _str),
    "memory-reservation": ("mem_reservation", "scalar", _str),
    "memory-swap": ("memswap_limit", "scalar", _str),
    "memory-swappiness": ("mem_swappiness", "scalar", _int),
    "mount": ("mounts", "list", _mount),
    "no-healthcheck": ("healthcheck.test", "health", lambda o, v: ["NONE"]),
    "oom-kill-disable": ("oom_kill_disable", "flag", None),
    "oom-score-adj": ("oom_score_adj", "scalar", _int),
    "pid": ("pid_mode", "scalar", _str),
    "pids-limit": ("pids_limit", "scalar", _int),
    "privileged": ("privileged", "flag", None),
    "publish": ("ports", "publish", _publish),
    "publish-all": ("publish_all_ports", "flag", None),
    "read-only": ("read_only", "flag", None),
    "restart": ("restart_policy", "restart", _str),
    "runtime": ("runtime", "scalar", _str),
    "security-opt": ("security_opt", "list", _str),
    "shm-size": ("shm_size", "scalar", _str),
    "stop-signal": ("stop_signal", "scalar", _str),
    "storage-opt": ("storage_opt", "dict", _str),
    "sysctl": ("sysctls", "dict", _str),
    "tmpfs": ("tmpfs", "tmpfs", _str),
    "tty": ("tty", "flag", None),
    "ulimit": ("ulimits", "list", _ulimit),
    "user": ("user", "scalar", _str),
    "userns": ("userns_mode", "scalar", _str),
    "uts": ("uts_mode", "scalar", _str),
    "volume": ("volumes", "merge", _str),
    "volumes-from": ("volumes_from", "list", _str),
    "workdir": ("working_dir", "scalar", _str),
}
_ALIASES = {"c": "cpu-shares", "e": "env", "h": "hostname", "i": "interactive", "l": "label", "m": "memory",
            "p": "publish", "P": "publish-all", "t": "tty", "u": "user", "v": "volume", "w": "workdir",
            "dns-opt": "dns-option", "net-alias": "network-alias"}
_OWNED = {
    "name": "kamal_app names containers <service>-<role>[-<destination>]-<version>",
    "detach": "kamal_app always runs app containers detached",
    "rm": "app containers are kept for rollback; prune removes old ones",
    "network": "app containers join the kamal network, as Kamal's `docker run --network kamal`",
    "net": "app containers join the kamal network, as Kamal's `docker run --network kamal`",
    "env-file": "the role's env file is managed by kamal_app (secret_env)",
}


def _restart_policy(value):
    text = str(value)
    match = re.match(r"^(no|always|unless-stopped|on-failure)(?::(\d+))?$", text)
    if not match or (match.group(2) and match.group(1) != "on-failure"):
        raise ContainerError("options/restart: %r must be no, always, unless-stopped or on-failure[:N]" % value)
    policy = {"Name": match.group(1)}
    if match.group(2):
        policy["MaximumRetryCount"] = int(match.group(2))
    return policy


def map_options(options, environ=None):
    """Kamal's role ``options`` (``--<key> "<value>"``, lists repeat, ``true`` is a bare flag) as SDK kwargs.

    Returns ``(kwargs, merges)``: ``merges`` holds labels, env, volumes and log settings to combine with
    the ones kamal_app builds itself. An option that cannot be expressed fails naming the option.
    """
    kwargs = {}
    merges = {"labels": {}, "environment": [], "volumes": [], "log.driver": None, "log.options": {}}
    health_check = {}
    for raw_key, raw_value in (options or {}).items():
        key = _ALIASES.get(str(raw_key), str(raw_key))
        if key in _OWNED:
            raise ContainerError("options/%s: cannot be set: %s" % (raw_key, _OWNED[key]))
        if key not in _OPTIONS:
            raise ContainerError("options/%s: the docker run option --%s is not supported by kamal_app (the Docker SDK"
                                 " cannot express it here); supported options: %s"
                                 % (raw_key, raw_key, ", ".join(sorted(_OPTIONS))))
        kwarg, kind, convert = _OPTIONS[key]
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        for value in values:
            if kind == "flag":
                if value is True or value is None or str(value).lower() in ("true", ""):
                    kwargs[kwarg] = True
                elif value is False or str(value).lower() == "false":
                    kwargs[kwarg] = False
                else:
                    raise ContainerError("options/%s: %r should be true or false" % (raw_key, value))
                continue
            if value is True:
                raise ContainerError("options/%s: --%s needs a value" % (raw_key, key))
            text = value if not isinstance(value, str) else shell_value(value, environ)
            if kind == "scalar":
                kwargs[kwarg] = convert(key, text)
            elif kind == "list":
                kwargs.setdefault(kwarg, []).append(convert(key, text))
            elif kind == "dict":
                item_key, item_value = _key_value(key, text)
                kwargs.setdefault(kwarg, {})[item_key] = item_value
            elif kind == "tmpfs":
                path, _sep, opts = str(text).partition(":")
                kwargs.setdefault(kwarg, {})[path] = opts
            elif kind == "publish":
                port, binding = convert(key, text)
                ports = kwargs.setdefault(kwarg, {})
                if port in ports:
                    previous = ports[port]
                    ports[port] = (previous if isinstance(previous, list) else [previous]) + [binding]
                else:
                    ports[port] = binding
            elif kind == "health":
                health_check[kwarg.split(".", 1)[1]] = convert(key, text)
            elif kind == "restart":
                kwargs[kwarg] = _restart_policy(text)
            elif kind == "merge":
                if kwarg == "labels":
                    label_key, _sep, label_value = str(text).partition("=")
                    merges["labels"][label_key] = label_value
                elif kwarg == "environment":
                    merges["environment"].append(tuple(_key_value(key, text)))
                elif kwarg == "volumes":
                    merges["volumes"].append(str(text))
                elif kwarg == "log.driver":
                    merges["log.driver"] = str(text)
                else:
                    opt_key, opt_value = _key_value(key, text)
                    merges["log.options"][opt_key] = opt_value
    if health_check:
        kwargs["healthcheck"] = health_check
    return kwargs, merges


def log_config(logging, extra_driver=None, extra_options=None, environ=None):
    """Kamal's logging args as an SDK ``log_config``.

    ``max-size=10m`` is added whenever the driver rotates files (json-file, local, or the daemon's default)
    and no max-size is given, so app logs never fill a disk.
    """
    logging = logging or {}
    driver = extra_driver or logging.get("driver") or None
    options = {}
    for key, value in (logging.get("options") or {}).items():
        options[str(key)] = shell_value(value, environ)
    options.update(extra_options or {})
    if driver in (None, "json-file", "local") and "max-size" not in options:
        options["max-size"] = DEFAULT_LOG_MAX_SIZE
    return {"type": driver or "", "config": options}


def command_argv(cmd):
    """``cmd`` as an argv: a list as is, a string split as the remote shell would (Kamal appends it raw)."""
    if cmd is None or cmd == "":
        return None
    if isinstance(cmd, list):
        return [str(part) for part in cmd]
    return shlex.split(str(cmd))


def proxy_backend():
    """module_utils/_proxy (the Caddy backend and its I/O), imported only by a call that routes or boots the
    proxy; None when it cannot be imported (a manager that needs it then says so)."""
    try:
        from ansible_collections.kamal.deploy.plugins.module_utils import _proxy
    except ImportError:
        return None
    return _proxy


def write_private_file(path, content):
    """An env file: 0600 in 0700 directories, atomically."""
    _files.write_atomic(path, content, 0o600, dir_mode=0o700)


def summary(container):
    """What a human needs to know about an app or accessory container (never its environment, nor the spec
    labels kamal.deploy records on it)."""
    data = _docker.container_summary(container)
    data["labels"] = {k: v for k, v in data["labels"].items() if k not in (SPEC_LABEL, SPEC_DATA_LABEL)}
    return data


# The spec -------------------------------------------------------------------------------------------------

class ContainerSpec:
    """What every app or accessory container is made of, from the module parameters.

    A subclass names the container kind: ``env_file`` (the path of its secret env file), ``route_name``
    (its name in the proxy) and ``where`` (how messages name it)."""

    where = "the container"
    route_name = None

    def __init__(self, params, environ=None):
        self.params = params
        self.service = params["service"]
        self.destination = params.get("destination") or None
        self.host = params.get("host")
        self.home = params.get("home") or os.path.expanduser("~")
        self.environ = dict(os.environ if environ is None else environ)
        self.environ.setdefault("HOME", self.home)
        self.environ["PWD"] = self.home  # Kamal's commands run in the SSH user's home
        self.network = params.get("network") or naming.DEFAULT_NETWORK
        self.proxy = params.get("proxy")

    @property
    def env_file(self):
        raise NotImplementedError

    @property
    def proxied(self):
        return self.proxy is not None

    @property
    def app_port(self):
        return int((self.proxy or {}).get("app_port") or _caddy.DEFAULT_APP_PORT)

    def registry(self):
        """The login for pulls (None: no ``docker login``)."""
        return _registry.credentials(self.params.get("registry"))

    def secret_env(self):
        return {str(k): ("" if v is None else str(v)) for k, v in (self.params.get("secret_env") or {}).items()}

    def env_file_content(self):
        return render_env_file(self.secret_env())

    def clear_env(self):
        return [(str(k), shell_value("" if v is None else v, self.environ))
                for k, v in (self.params.get("env") or {}).items()]

    def volumes(self):
        """``volumes`` as the container gets them (``$PWD``/``${VAR}`` expanded as the remote shell would)."""
        return [shell_value(v, self.environ) for v in (self.params.get("volumes") or [])]

    def command(self):
        return command_argv(self.params.get("cmd"))

    def route(self):
        """The route for ``_proxy.ensure_route`` (docs/dev/proxy-contract.md)."""
        return _route.route(self.route_name, self.proxy)


# The manager ----------------------------------------------------------------------------------------------

class ContainerManager(_docker.Operations):
    """The steps app and accessory commands share on one host; every operation goes to ``actions``.

    ``Error`` is the subclass's error type; ``PULL_ACTION`` how its pulls are named in ``actions`` (Kamal's
    ``docker pull`` for apps, ``docker image pull`` for accessories)."""

    Error = ContainerError
    PULL_ACTION = "docker pull"
    image_plan = ()                 # what the images would need (check mode): on the host, pulled, does the registry have it
    progress = _progress.NONE       # a long pull or wait, for the controller (set by the module)

    def __init__(self, client, spec, check_mode=False, proxy=None, random_hex=naming.random_hex):
        super().__init__(check_mode)
        self.client = client
        self.spec = spec
        self.proxy = proxy
        self.random_hex = random_hex
        self._logged_in = False
        self.image_plan = []
        self.error_pages = None  # name -> template for the proxy's error answers (None: leave them as they are)

    def summarize(self, container):
        return summary(container)

    def _need_proxy(self):
        if self.proxy is None:
            raise self.Error("%s is proxied but the proxy backend (module_utils/_proxy.py) is not available"
                             % self.spec.where)
        return self.proxy

    # -- the audit log
    def record_audit(self, messages, performer=None, role=None):
        """Kamal's audit lines in the service's log on this host (check mode: only returned); the secret env
        and the registry password never reach it."""
        secrets = list(self.spec.secret_env().values()) + [(self.spec.registry() or {}).get("password")]
        return _audit.record_all(self.spec.home, self.spec.service, messages, performer,
                                 destination=self.spec.destination, role=role, secrets=secrets,
                                 check_mode=self.check_mode)

    # -- env file, login, image
    def ensure_env_file(self):
        """The secret env file with exactly the spec's content, mode 0600; True when it was (to be) written."""
        path = self.spec.env_file
        content = self.spec.env_file_content()
        try:
            with open(path, "r", encoding="utf-8") as handle:
                current = handle.read()
            mode = os.stat(path).st_mode & 0o777
        except (IOError, OSError):
            current, mode = None, None
        if current == content and mode == 0o600:
            return False
        keys = ", ".join("%s=[masked]" % key for key in sorted(self.spec.secret_env()))
        self._do("write %s (mode 0600, %d key(s)%s)" % (path, len(self.spec.secret_env()), ": " + keys if keys else ""), write_private_file,
                 path, content)
        return True

    def login(self):
        """``docker login`` before a pull when the registry has credentials, once per module run (in check mode too
        when the plan asks the registry: a login changes nothing on the server, and bad credentials fail the plan)."""
        credentials = self.spec.registry()
        if credentials is None or self._logged_in:
            return
        self.actions.append(_registry.login_action(credentials))
        if not self.check_mode or self.asks_registry:
            _registry.login(self.client, credentials, self.spec.host)
        self._logged_in = True

    @property
    def asks_registry(self):
        return self.check_mode and bool(self.spec.params.get("check_registry", True))

    def check_registry(self, ref):
        """In check mode, for an image the host would pull: ``{"registry": "has it"}``, or the plan fails here, as the
        run would at its pull, naming the image, its registry and the host (``check_registry=false``: not asked,
        when this run builds and pushes the image first)."""
        if not self.asks_registry:
            return {"registry": "not asked (this run pushes it first)"}
        found, answer = _docker.registry_has(self.client, ref)
        if not found:
            registry, repository, tag = _docker.split_image(ref)
            raise self.Error("%s has no image %s:%s (%s), and it is not on %s: the run would fail at its pull, before any "
                             "change. Push that version first (a deploy without -P builds and pushes it), or deploy one the "
                             "registry has." % (registry or "Docker Hub", repository, tag, answer, self.spec.host or "this server"),
                             image_plan=list(self.image_plan) + [{"image": ref, "on_host": False, "pull": True,
                                                                 "registry": "missing"}])
        return {"registry": "has it"}

    def result(self, **data):
        data = super(ContainerManager, self).result(**data)
        if self.image_plan and self.check_mode:
            data.setdefault("image_plan", list(self.image_plan))
        return data

    def ensure_image(self, ref, pull="missing"):
        """The image ``ref`` on this host. ``pull``: ``missing`` (as ``docker run`` pulls a missing image),
        ``always`` (a fresh pull; Kamal's accessory reboot) or ``never``. None in check mode when not there; the
        plan then asks the registry whether it has it (``check_registry``), as the pull would fail without it."""
        before = _docker.find_image(self.client, ref)
        if before is not None and pull != "always":
            self.image_plan.append({"image": ref, "on_host": True, "pull": False})
            return before
        if before is None and pull == "never":
            raise self.Error("image %s is not on this host and pull is never" % ref)
        self.login()
        self.actions.append("%s %s" % (self.PULL_ACTION, ref))
        if self.check_mode:
            if before is None:
                self.changed = True
            self.image_plan.append(dict(self.check_registry(ref), image=ref, on_host=before is not None, pull=True))
            return before
        self.progress.phase("pull", image=ref)
        try:
            image = _docker.pull_image(self.client, ref, progress=self.progress.pull if self.progress is not _progress.NONE else None)
        except _docker.DockerError as exc:
            raise _docker.DockerError(str(exc) + _registry.pull_failure_hint(_docker.split_image(ref)[0], str(exc)))
        if before is None or before.id != image.id:
            self.changed = True
        return image

    # -- logs
    def logs_result(self, container, missing, lines=None, since=None, grep=None, timestamps=True):
        """Kamal's ``logs`` of ``container`` (``missing``: the message when there is none)."""
        if container is None:
            return self.result(lines=[], container=None, msg=missing)
        out = _logs.read_logs(container, container.name, lines=lines, since=since, grep=grep, timestamps=timestamps)
        return self.result(lines=out, container=container.name, msg=None if out else "Nothing found")

    # -- exec
    def exec_argv(self, command, example):
        argv = command_argv(command)
        if not argv:
            raise self.Error("exec needs a command (exec_command), e.g. %s" % example)
        return argv

    def exec_in(self, container, argv, env=None, raw=False):
        """``docker exec <container> CMD`` (Kamal's ``--reuse``); ``raw``: the output's bytes too (``stdout_b64``)."""
        env = env or {}
        self._do("docker exec %s%s %s" % ("".join("--env %s " % shlex.quote("%s=%s" % kv) for kv in env.items()),
                                          container.name, " ".join(shlex.quote(a) for a in argv)))
        if self.check_mode:
            return self.result(container=container.name)
        extra = {"environment": ["%s=%s" % kv for kv in env.items()]} if env else {}
        code, output = _docker.call("docker exec %s" % container.name, container.exec_run, argv, demux=True, **extra)
        return self._exec_result(container.name, code, output, raw)

    def exec_new(self, name, image, argv, kwargs, detach=False, timeout=None, raw=False):
        """``docker run --rm`` (or ``--detach``) of a new container ``name`` running ``argv``; the caller has
        recorded the action and returned in check mode. The output is read from the container's own streams
        (attached before it starts, as ``docker run`` is), not its log driver, which mangles bytes that are not
        UTF-8: what the command wrote arrives byte for byte."""
        container = _docker.call("running %s" % name, self.client.containers.create, image, command=argv,
                                 name=name, detach=True, **kwargs)
        try:
            streams = None if detach else _docker.call("attaching to %s" % name, container.attach, stdout=True,
                                                       stderr=True, stream=True, demux=True, logs=False)
            _docker.call("starting %s" % name, container.start)
            if detach:
                return self.result(container=name, rc=None)
            output = _StreamReader(name, streams)
            waited = _docker.call("waiting for %s to exit%s" % (name, " (exec_timeout %s s)" % timeout if timeout else ""),
                                  container.wait, **({"timeout": timeout} if timeout else {}))
            code = waited.get("StatusCode") if isinstance(waited, dict) else waited
            return self._exec_result(name, code, output.collected(), raw)
        finally:
            if not detach:
                try:
                    container.remove(force=True)
                except Exception:  # pylint: disable=broad-except
                    pass

    def _exec_result(self, name, code, output, raw=False):
        stdout, stderr = output if isinstance(output, tuple) else (output, b"")
        data = stdout if isinstance(stdout, bytes) else (stdout or "").encode("utf-8")
        stdout = (stdout or b"").decode("utf-8", "replace") if isinstance(stdout, bytes) else (stdout or "")
        stderr = (stderr or b"").decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
        result = self.result(container=name, rc=code, stdout=stdout, stderr=stderr,
                             stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines())
        if raw:
            result["stdout_b64"] = base64.b64encode(data).decode("ascii")
        if code:
            raise self.Error("exec in %s exited with %s" % (name, code),
                             **{k: v for k, v in result.items() if k != "changed"})
        return result

    # -- the proxy
    def route_to(self, container, old=None):
        """The proxy contract, in order: make the route match, point it at ``container``, drain ``old``.

        ``container`` None (check mode: not created yet) plans the switch; {} when the container is not proxied."""
        if not self.spec.proxied:
            return {}
        proxy = self._need_proxy()
        spec = self.spec
        home, name = spec.home, spec.route_name
        # The app's own error pages go with the route only when the command sets them (a boot).
        extra = {"error_pages": self.error_pages} if self.error_pages is not None else {}
        info = {"ensure": proxy.ensure_route(home, spec.route(), check_mode=self.check_mode, **extra)}
        if info["ensure"].get("changed"):
            self.actions.append("proxy ensure route %s" % name)
            self.changed = True
        new_ip = _docker.container_ip(container, spec.network) if container is not None else None
        if not new_ip:
            if container is not None and not self.check_mode:
                raise self.Error("%s: the container %s has no address on the %s network, cannot route to it"
                                 % (spec.where, container.name, spec.network))
            before_ip = proxy.live_target(home, name)
            planned = container.name if container is not None else self.planned_container_name()
            self.actions.append("proxy switch %s to <ip of %s>%s" % (name, planned, _was(before_ip)))
            self.changed = True
            info["switch"] = {"changed": True, "before": before_ip, "after": None}
        else:
            # The proxy decides whether anything changes (address, followed container, DNS answer).
            info["switch"] = proxy.switch_live_target(home, name, new_ip, check_mode=self.check_mode,
                                                      container=container.name)
            if info["switch"].get("changed"):
                self.actions.append("proxy switch %s to %s%s" % (name, new_ip, _was(info["switch"].get("before"))))
                self.changed = True
        old_ip = _docker.container_ip(old, spec.network) if old is not None else None
        if old_ip and old_ip != new_ip:
            address = "%s:%d" % (old_ip, spec.app_port)
            drain_timeout = spec.params.get("drain_timeout", 30)
            self.actions.append("proxy drain %s (drain_timeout %s s)" % (address, drain_timeout))
            if not self.check_mode:
                info["drain"] = proxy.drain(home, address, drain_timeout)
        return info

    def planned_container_name(self):
        """The name of the container a check-mode boot would create."""
        raise NotImplementedError

    def unroute(self):
        """Remove the route (Kamal: ``kamal-proxy remove``); {} when the container is not proxied."""
        if not self.spec.proxied:
            return {}
        removed = self._need_proxy().remove_route(self.spec.home, self.spec.route_name, check_mode=self.check_mode)
        if removed.get("changed"):
            self.actions.append("proxy remove route %s" % self.spec.route_name)
            self.changed = True
        return removed


class _StreamReader:
    """Reads an attached container's (stdout, stderr) frames in a thread while the caller waits for its exit, so a
    command that never ends is caught by the wait's timeout, not by a read that blocks."""

    def __init__(self, name, streams):
        import threading  # only an exec in a new container needs it

        self.name, self.stdout, self.stderr, self.error = name, [], [], None
        self.thread = threading.Thread(target=self._read, args=(streams,))
        self.thread.daemon = True
        self.thread.start()

    def _read(self, streams):
        try:
            for out, err in streams:
                if out:
                    self.stdout.append(out)
                if err:
                    self.stderr.append(err)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc

    def collected(self):
        """(stdout bytes, stderr bytes), once the container exited (its streams end with it)."""
        self.thread.join(30)
        if self.error is not None:
            raise _docker.DockerError(_docker.error_message(self.error, "reading the output of %s" % self.name))
        return b"".join(self.stdout), b"".join(self.stderr)


def _was(before_ip):
    return " (was %s)" % before_ip if before_ip else ""
