# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One accessory on one server: Kamal's ``accessory`` commands over the Docker SDK.

Everything :mod:`kamal_accessory` does lives here, so it can be tested with a fake Docker client (the
client, the proxy backend and the random hex are injected).

The accessory's *spec* is everything its container is made of (image, network, port, env and secret env,
files and their contents, directories, volumes, labels, options, cmd, logging, KAMAL_HOST). Its hash and a
copy (secrets and file contents as digests) are recorded as labels on the container, so a second boot
knows whether the running container is the one asked for, and ``--check --diff`` names the exact keys that
differ. A boot never replaces a container: a changed spec is applied by ``reboot``.

Escaping, the env file, the ``options`` -> SDK mapping, login and image, logs, exec and the route are the
container base's (:mod:`_container`), so apps and accessories read the same values from the same deploy.yml
and treat them alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import grp
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil

from ansible_collections.kamal.deploy.plugins.module_utils import _container
from ansible_collections.kamal.deploy.plugins.module_utils._container import ACTIVE_STATUSES, SPEC_DATA_LABEL, SPEC_LABEL
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _files
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.module_utils import _route

DEFAULT_FILE_MODE = 0o755
COMMANDS = ("boot", "reboot", "start", "stop", "restart", "remove", "details", "logs", "exec", "upload")
# The keys of the spec, in the order a diff shows them.
SPEC_KEYS = ("name", "image", "network", "port", "host", "env", "secret_env", "volumes", "files", "directories",
             "labels", "options", "cmd", "logging", "proxy")


class AccessoryError(_container.ContainerError):
    """A failure of an accessory command, with a message for humans and details for the module result."""


def _digest(data, length=16):
    if not isinstance(data, bytes):
        data = json.dumps(data, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:length]


def parse_mode(value, where, default=None):
    """A mode as octal text (``"0644"``, ``"755"``) or an int taken as the mode itself (YAML's ``0644`` is 420),
    as Ansible's own ``mode`` options read it."""
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 0o7777:
            return value
    elif re.match(r"^0?[0-7]{3,4}$", str(value)):
        return int(str(value), 8)
    raise AccessoryError("%s: mode %r is not an octal mode like \"0644\" (quote it)" % (where, value))


def parse_owner(value, where):
    """``user[:group]`` (names or ids) -> ``(uid or -1, gid or -1)``, as ``chown`` reads it."""
    if value is None or value == "":
        return None
    user, _sep, group = str(value).partition(":")
    uid, gid = -1, -1
    try:
        if user:
            uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        if group:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise AccessoryError("%s: owner %r names a user or group this server does not have (use numeric ids, "
                             "e.g. 999:999)" % (where, value))
    return uid, gid


def _split_mount(text, where):
    """``local:remote[:options]`` -> dict."""
    parts = str(text).split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise AccessoryError("%s: %r should be local:remote[:options]" % (where, text))
    return {"local": parts[0], "remote": parts[1], "options": ":".join(parts[2:]) or None}


# The accessory on this host -------------------------------------------------------------------------------

class AccessorySpec(_container.ContainerSpec):
    """Everything one accessory's container is made of, from the module parameters."""

    def __init__(self, params, environ=None):
        super().__init__(params, environ)
        self.name = params["name"]
        self.svc_name = naming.accessory_service_name(self.service, self.name, params.get("accessory_service"))
        self.route_name = self.svc_name  # the proxy's name for an accessory is its container's
        self.where = "accessories/%s" % self.name

    @property
    def proxied(self):
        return bool(self.proxy)

    # -- image
    def image(self):
        image = self.params.get("image")
        if not image:
            raise AccessoryError("%s: image is required for this command" % self.where)
        server = ((self.params.get("registry") or {}).get("server") or "").rstrip("/")
        if server and not str(image).startswith(server + "/"):
            return naming.repository(image, server)
        return str(image)

    # -- paths
    @property
    def env_file(self):
        return os.path.join(self.home, naming.accessory_env_file(self.service, self.name, self.destination))

    @property
    def service_directory(self):
        """``<home>/<svc_name>``: uploaded files and relative directories; what ``remove`` deletes."""
        return os.path.join(self.home, self.svc_name)

    def port(self):
        port = self.params.get("port")
        if port is None or port == "":
            return None
        port = str(port)
        return port if ":" in port else "%s:%s" % (port, port)

    def files(self):
        """Files as uploaded: host path, mount, mode, owner and content (bytes)."""
        found = []
        for index, item in enumerate(self.params.get("files") or []):
            where = "%s/files/%d" % (self.where, index)
            if not isinstance(item, dict):
                raise AccessoryError("%s: the playbook passes files as {content or content_b64, remote, mode, owner,"
                                     " options} (file contents are read and .erb rendered on the controller)" % where)
            remote = item.get("remote")
            if not remote or not str(remote).startswith("/"):
                raise AccessoryError("%s: remote %r must be an absolute path in the container" % (where, remote))
            if item.get("content_b64") is not None:
                try:
                    content = base64.b64decode(item["content_b64"], validate=True)
                except (ValueError, TypeError) as exc:
                    raise AccessoryError("%s: content_b64 is not base64 (%s)" % (where, exc))
            elif item.get("content") is not None:
                content = str(item["content"]).encode("utf-8")
            else:
                raise AccessoryError("%s: content or content_b64 is required for %s" % (where, remote))
            host_path = self.home + "/" + self.svc_name + str(remote)
            options = item.get("options") or None
            found.append({
                "remote": str(remote), "host_path": host_path, "content": content,
                "mode": parse_mode(item.get("mode"), where, DEFAULT_FILE_MODE),
                "owner": item.get("owner") or None, "options": options,
                "mount": "%s:%s%s" % (host_path, remote, ":" + options if options else ""),
            })
        return found

    def directories(self):
        """Directories: relative locals live under ``<home>/<svc_name>/``; absolute ones are used as is."""
        found = []
        for index, item in enumerate(self.params.get("directories") or []):
            where = "%s/directories/%d" % (self.where, index)
            if isinstance(item, dict):
                entry = {"local": item.get("local"), "remote": item.get("remote"), "options": item.get("options")}
                if not entry["local"] or not entry["remote"]:
                    raise AccessoryError("%s: local and remote are required" % where)
            else:
                entry = _split_mount(item, where)
                item = {}
            local = str(entry["local"])
            host_path = local if local.startswith("/") else os.path.join(self.service_directory, local)
            options = entry.get("options") or None
            found.append({
                "local": local, "remote": str(entry["remote"]), "host_path": host_path, "options": options,
                "relative": not local.startswith("/"),
                "mode": parse_mode(item.get("mode"), where), "owner": item.get("owner") or None,
                "mount": "%s:%s%s" % (host_path, entry["remote"], ":" + options if options else ""),
            })
        return found

    def mounts(self):
        """Kamal's order: volumes, then files, then directories."""
        return self.volumes() + [f["mount"] for f in self.files()] + [d["mount"] for d in self.directories()]

    # -- labels
    def labels(self):
        labels = naming.accessory_labels(self.svc_name)
        for key, value in (self.params.get("labels") or {}).items():
            if str(key) in naming.RESERVED_LABELS:
                raise AccessoryError("%s/labels/%s: invalid label. destination, role, and service are reserved labels"
                                     % (self.where, key))
            labels[str(key)] = _container.shell_value(value, self.environ)
        return labels

    # -- docker run
    def _options(self):
        try:
            return _container.map_options(self.params.get("options"), self.environ)
        except _container.ContainerError as exc:
            raise AccessoryError("%s/%s" % (self.where, exc.message.replace("kamal_app", "kamal_accessory")))

    def create_kwargs(self, for_exec=False):
        """SDK ``containers.create`` kwargs of Kamal's accessory ``docker run`` (or ``accessory exec``)."""
        options, merges = self._options()
        restart = options.pop("restart_policy", {"Name": "unless-stopped"})
        port = self.port()
        if port is not None and not for_exec:
            try:
                ports, _merges = _container.map_options({"publish": port}, self.environ)
            except _container.ContainerError as exc:
                raise AccessoryError("%s/port: %s" % (self.where, exc.message.split(": ", 1)[-1]))
            for key, binding in ports["ports"].items():
                options.setdefault("ports", {})
                if key in options["ports"]:
                    previous = options["ports"][key]
                    binding = [binding] + (previous if isinstance(previous, list) else [previous])
                options["ports"][key] = binding
        env = [] if for_exec else [("KAMAL_HOST", str(self.host or ""))]
        env += self.clear_env()
        env += _container.parse_env_file(self.env_file_content())
        env += merges["environment"]
        kwargs = {
            "environment": ["%s=%s" % pair for pair in env],
            "volumes": self.mounts() + merges["volumes"],
            "network": self.network,
        }
        if not for_exec:
            labels = self.labels()
            labels.update(merges["labels"])
            kwargs.update({
                "labels": labels, "restart_policy": restart,
                "log_config": _container.log_config(self.params.get("logging"), merges["log.driver"],
                                                    merges["log.options"], self.environ),
            })
        command = self.command()
        if command is not None:
            kwargs["command"] = command
        kwargs.update(options)
        return kwargs

    def public_spec(self):
        """The spec with secrets and file contents as digests: recorded on the container, shown in diffs."""
        secrets = self.secret_env()
        spec = {
            "name": self.svc_name,
            "image": self.image(),
            "network": self.network,
            "port": self.port(),
            "host": self.host,
            "env": dict(self.clear_env()),
            "secret_env": {k: "sha256:" + _digest(("%s\0%s" % (k, v)).encode("utf-8")) for k, v in secrets.items()},
            "volumes": self.volumes(),
            "files": [{"remote": f["remote"], "sha256": _digest(f["content"], 64), "mode": "%04o" % f["mode"],
                       "owner": f["owner"], "options": f["options"]} for f in self.files()],
            "directories": [{"host_path": d["host_path"], "remote": d["remote"], "options": d["options"],
                             "mode": "%04o" % d["mode"] if d["mode"] is not None else None, "owner": d["owner"]}
                            for d in self.directories()],
            "labels": self.labels(),
            "options": json.loads(json.dumps(self.params.get("options") or {}, sort_keys=True, default=str)),
            "cmd": self.command(),
            "logging": json.loads(json.dumps(self.params.get("logging") or {}, sort_keys=True, default=str)),
            "proxy": _route.public(self.route()) if self.proxied else None,
        }
        return spec

    def spec_hash(self, public=None):
        return _digest(public if public is not None else self.public_spec(), 32)


def render_run(spec, kwargs, image, exec_mode=False):
    """A ``docker run`` line for ``actions``, in Kamal's argument order; secret values never appear."""
    args = ["docker", "run"]
    if exec_mode:
        args += ["--rm", "--network", kwargs.get("network")]
    else:
        restart = kwargs.get("restart_policy") or {}
        args += ["--name", spec.svc_name, "--detach", "--restart", restart.get("Name", "unless-stopped") + (
            ":%d" % restart["MaximumRetryCount"] if restart.get("MaximumRetryCount") else ""),
            "--network", kwargs.get("network")]
        log = kwargs.get("log_config") or {}
        if log.get("type"):
            args += ["--log-driver", log["type"]]
        for key, value in sorted((log.get("config") or {}).items()):
            args += ["--log-opt", shlex.quote("%s=%s" % (key, value))]
        if spec.port():
            args += ["--publish", spec.port()]
    secret_keys = set(spec.secret_env())
    for item in kwargs.get("environment", []):
        if item.split("=", 1)[0] not in secret_keys:
            args += ["--env", shlex.quote(item)]
    args += ["--env-file", spec.env_file]
    for volume in kwargs.get("volumes", []):
        args += ["--volume", shlex.quote(volume)]
    for key, value in (kwargs.get("labels") or {}).items():
        if key not in (SPEC_LABEL, SPEC_DATA_LABEL):
            args += ["--label", shlex.quote("%s=%s" % (key, value))]
    handled = {"environment", "log_config", "volumes", "labels", "network", "restart_policy", "command"}
    for key in sorted(k for k in kwargs if k not in handled):
        if key == "ports" and not exec_mode:
            continue
        value = kwargs[key]
        args += ["--%s" % key.replace("_", "-"),
                 shlex.quote(value if isinstance(value, str) else json.dumps(value, sort_keys=True))]
    args.append(image)
    args += [shlex.quote(part) for part in kwargs.get("command") or []]
    return " ".join(a for a in args if a)


def observed_spec(container):
    """What can be read back from a container not booted by kamal.deploy (no spec label), for comparison."""
    attrs = container.attrs or {}
    host_config = attrs.get("HostConfig") or {}
    ports = []
    for port, bindings in sorted((host_config.get("PortBindings") or {}).items()):
        for binding in bindings or []:
            head = "%s:" % binding["HostIp"] if binding.get("HostIp") else ""
            ports.append("%s%s:%s" % (head, binding.get("HostPort"), port.split("/")[0]))
    return {
        "image": (attrs.get("Config") or {}).get("Image"),
        "network": host_config.get("NetworkMode"),
        "port": ports[0] if len(ports) == 1 else (ports or None),
        "mounts": list(host_config.get("Binds") or []),
    }


# The manager ------------------------------------------------------------------------------------------------

class Accessory(_container.ContainerManager):
    """Kamal's accessory commands for one accessory on one host."""

    Error = AccessoryError
    PULL_ACTION = "docker image pull"

    def __init__(self, client, spec, check_mode=False, proxy=None, random_hex=naming.random_hex):
        super().__init__(client, spec, check_mode=check_mode, proxy=proxy, random_hex=random_hex)
        self.warnings = []

    # -- helpers
    def result(self, **data):
        data["service_name"] = self.spec.svc_name
        if self.warnings:
            data["warnings_list"] = list(self.warnings)
        return super().result(**data)

    def container(self):
        """The container named exactly ``<svc_name>``, any state."""
        return _docker.find_container(self.client, self.spec.svc_name)

    def labelled(self):
        """Every container with ``service=<svc_name>`` (Kamal's "a container already exists" test)."""
        return _docker.containers_by_labels(self.client, naming.accessory_labels(self.spec.svc_name))

    def existing(self):
        """The accessory's container: the one named ``<svc_name>``, else the newest one with its label."""
        named = self.container()
        if named is not None:
            return named
        others = sorted(self.labelled(), key=lambda c: (c.attrs or {}).get("Created") or "", reverse=True)
        return others[0] if others else None

    def planned_container_name(self):
        return self.spec.svc_name

    # -- prepare: networks
    def ensure_networks(self):
        # Kamal always creates `kamal`, even for an accessory on another network.
        for network in sorted({naming.DEFAULT_NETWORK, self.spec.network}):
            if _docker.ensure_network(self.client, network, check_mode=self.check_mode):
                self.actions.append("docker network create %s" % network)
                self.changed = True

    # -- host files
    def _chown(self, path, owner, where):
        ids = parse_owner(owner, where)
        if ids is None:
            return
        uid, gid = ids
        try:
            stat = os.lstat(path)
        except OSError:
            stat = None  # check mode: not created yet
        if stat is not None and uid in (-1, stat.st_uid) and gid in (-1, stat.st_gid):
            return
        self._do("chown %s %s" % (owner, path))
        if not self.check_mode:
            os.chown(path, uid, gid)

    def ensure_directories(self):
        for index, item in enumerate(self.spec.directories()):
            where = "%s/directories/%d" % (self.spec.where, index)
            path = item["host_path"]
            if not os.path.isdir(path):
                self._do("mkdir -p %s" % path)
                if not self.check_mode:
                    os.makedirs(path)
            if item["mode"] is not None:
                current = os.stat(path).st_mode & 0o7777 if os.path.isdir(path) else None
                if current != item["mode"]:
                    self._do("chmod %04o %s" % (item["mode"], path))
                    if not self.check_mode:
                        os.chmod(path, item["mode"])
            self._chown(path, item["owner"], where)

    def ensure_files(self):
        for index, item in enumerate(self.spec.files()):
            where = "%s/files/%d" % (self.spec.where, index)
            path = item["host_path"]
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                self._do("mkdir -p %s" % directory)
                if not self.check_mode:
                    os.makedirs(directory)
            try:
                with open(path, "rb") as handle:
                    current = handle.read()
                mode = os.stat(path).st_mode & 0o7777
            except (IOError, OSError):
                current, mode = None, None
            if current != item["content"]:
                self._do("upload %s (%d bytes, sha256 %s)" % (path, len(item["content"]), _digest(item["content"], 12)))
                if not self.check_mode:
                    _files.write_atomic(path, item["content"], item["mode"])
                    mode = item["mode"]
            if mode != item["mode"] and not (self.check_mode and current != item["content"]):
                self._do("chmod %04o %s" % (item["mode"], path))
                if not self.check_mode:
                    os.chmod(path, item["mode"])
            self._chown(path, item["owner"], where)

    def prepare_host(self):
        """Kamal's order before ``docker run``: directories, files, then the env file."""
        self.ensure_directories()
        self.ensure_files()
        self.ensure_env_file()

    # -- the spec
    def desired(self):
        """``(public spec, hash, create kwargs)``; every value error (options, modes, labels) is raised here,
        before anything on the host is touched."""
        public = self.spec.public_spec()
        kwargs = self.spec.create_kwargs()
        for item in self.spec.files() + self.spec.directories():
            parse_owner(item["owner"], "%s %s" % (self.spec.where, item.get("remote")))
        return public, self.spec.spec_hash(public), kwargs

    @staticmethod
    def recorded(container):
        labels = (container.attrs.get("Config") or {}).get("Labels") or {}
        data = labels.get(SPEC_DATA_LABEL)
        try:
            data = json.loads(data) if data else None
        except ValueError:
            data = None
        return labels.get(SPEC_LABEL), data

    def differences(self, container, public):
        """``(keys, before, after)`` between ``container`` and the wanted spec."""
        recorded_hash, recorded = self.recorded(container)
        if recorded_hash is None:
            observed = observed_spec(container)
            wanted = {"image": public["image"], "network": public["network"], "port": public["port"],
                      "mounts": self.spec.mounts()}
            keys = [k for k in ("image", "network", "port", "mounts") if observed[k] != wanted[k]]
            return keys, {k: observed[k] for k in keys}, {k: wanted[k] for k in keys}
        if recorded is None:
            return ["(unknown: no recorded spec)"], {}, {}
        keys = [k for k in SPEC_KEYS if recorded.get(k) != public.get(k)]
        return keys, {k: recorded.get(k) for k in keys}, {k: public.get(k) for k in keys}

    # -- run
    def run_container(self, image_ref, kwargs, public, spec_hash):
        """Create and start the container; a failed start removes what was created."""
        kwargs = dict(kwargs)
        labels = dict(kwargs.get("labels") or {})
        labels[SPEC_LABEL] = spec_hash
        labels[SPEC_DATA_LABEL] = json.dumps(public, sort_keys=True, separators=(",", ":"))
        kwargs["labels"] = labels
        self._do(render_run(self.spec, kwargs, image_ref))
        if self.check_mode:
            return None
        created = None
        try:
            created = self.client.containers.create(image_ref, name=self.spec.svc_name, detach=True, **kwargs)
            created.start()
            created.reload()
        except Exception as exc:  # pylint: disable=broad-except
            message = _docker.error_message(exc, "running %s" % self.spec.svc_name)
            if created is not None:
                self.actions.append("docker container rm --force %s (failed boot)" % self.spec.svc_name)
                try:
                    created.remove(force=True)
                except Exception:  # pylint: disable=broad-except
                    pass
            else:
                leftover = self.container()
                if leftover is not None and (leftover.attrs.get("Config") or {}).get("Labels", {}).get(
                        SPEC_LABEL) == spec_hash and _docker.container_state(leftover) == "created":
                    self.actions.append("docker container rm --force %s (failed boot)" % self.spec.svc_name)
                    leftover.remove(force=True)
            raise AccessoryError(message, actions=list(self.actions))
        return created

    # -- commands
    def boot(self):
        spec = self.spec
        public, spec_hash, kwargs = self.desired()
        self.ensure_networks()
        current = self.existing()
        if current is not None:
            return self._boot_existing(current, public, spec_hash)
        self.prepare_host()
        image = self.ensure_image(spec.image(), "missing")
        new = self.run_container(spec.image(), kwargs, public, spec_hash)
        route = self.route_to(new)
        after = {"container": spec.svc_name, "status": "running", "spec_hash": spec_hash}
        after.update(public)
        return self.result(container=self.summarize(new) if new is not None else {"name": spec.svc_name},
                           image_id=image.id if image is not None else None, route=route, differs=[],
                           diff={"before": {"container": None}, "after": after})

    def _boot_existing(self, current, public, spec_hash):
        spec = self.spec
        state = _docker.container_state(current)
        recorded_hash, _data = self.recorded(current)
        name = (current.attrs.get("Name") or "").lstrip("/") or spec.svc_name
        if recorded_hash == spec_hash:
            route = {}
            if state in ACTIVE_STATUSES:
                # Recreates a deleted directory or file and rewrites the env file; no-ops normally.
                self.prepare_host()
                route = self.route_to(current)
                msg = None
            else:
                msg = ("Skipping booting `%s`: a container already exists (%s, %s); Kamal's boot leaves it; run "
                       "accessory_start" % (spec.name, name, state))
            return self.result(container=self.summarize(current), route=route, differs=[], msg=msg,
                               diff={"before": {"spec_hash": spec_hash}, "after": {"spec_hash": spec_hash}})
        keys, before, after = self.differences(current, public)
        if recorded_hash is None:
            msg = ("Skipping booting `%s`: a container already exists (%s, %s) that kamal.deploy did not boot (no %s "
                   "label), as Kamal skips it. %s Run accessory_reboot to replace it with this spec (data in "
                   "directories and volumes is kept)." % (
                       spec.name, name, state, SPEC_LABEL,
                       "It differs in: %s." % ", ".join(keys) if keys else "Image, network, port and mounts match."))
        else:
            msg = ("`%s` differs from the running container %s in: %s; run accessory_reboot to apply (boot never "
                   "replaces a container)" % (spec.name, name, ", ".join(keys)))
        if keys:
            self.warnings.append(msg)
        return self.result(container=self.summarize(current), differs=keys, msg=msg, diff={"before": before, "after": after})

    def reboot(self, force=False):
        """Pull first, then stop and replace; the old container comes back if the new one fails to start."""
        spec = self.spec
        public, spec_hash, kwargs = self.desired()
        self.ensure_networks()
        current = self.existing()
        if current is not None and not force and _docker.container_state(current) in ACTIVE_STATUSES:
            recorded_hash, _data = self.recorded(current)
            if recorded_hash == spec_hash:
                self.prepare_host()
                route = self.route_to(current)
                return self.result(container=self.summarize(current), differs=[], route=route,
                                   msg="%s already runs this spec (force: true reboots anyway)" % spec.svc_name,
                                   diff={"before": {"spec_hash": spec_hash}, "after": {"spec_hash": spec_hash}})
        if current is not None:
            keys, before, after = self.differences(current, public)
        else:
            keys, before, after = list(SPEC_KEYS), {"container": None}, dict(public)
        image = self.ensure_image(spec.image(), "always")  # before anything stops: a bad tag leaves the old one running
        if not self.check_mode and image is None:
            raise AccessoryError("pulling %s gave no image" % spec.image())
        self.changed = True
        old = [c for c in self.labelled() if current is None or c.id != current.id]
        parked = None
        was_running = current is not None and _docker.container_state(current) in ACTIVE_STATUSES
        if current is not None:
            if was_running:
                self._do("docker container stop %s" % spec.svc_name, current.stop)
            parked = "%s_replaced_%s" % (spec.svc_name, self.random_hex(8))
            self._do("docker container rename %s %s" % (current.name, parked), current.rename, parked)
        for other in old:
            if _docker.container_state(other) in ACTIVE_STATUSES:
                self._do("docker container stop %s" % other.name, other.stop)
        try:
            self.prepare_host()
            new = self.run_container(spec.image(), kwargs, public, spec_hash)
        except (AccessoryError, _docker.DockerError, OSError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            if current is not None and not self.check_mode:
                self._restore(current, parked, was_running)
                message += "; the previous container %s was restored%s" % (
                    spec.svc_name, " and started" if was_running else "")
            raise AccessoryError(message, actions=list(self.actions))
        # Kamal: docker container prune --force --filter label=service=<svc_name> (volumes are kept).
        for gone in ([current] if current is not None else []) + old:
            self._do("docker container rm %s" % (parked if gone is current else gone.name), gone.remove, v=False)
        route = self.route_to(new)
        summary_after = self.summarize(new) if new is not None else {"name": spec.svc_name}
        return self.result(container=summary_after, image_id=image.id if image is not None else None, route=route,
                           differs=keys, diff={"before": before, "after": after})

    def _restore(self, current, parked, was_running):
        try:
            self.actions.append("docker container rename %s %s (restore)" % (parked, self.spec.svc_name))
            current.rename(self.spec.svc_name)
            if was_running:
                self.actions.append("docker container start %s (restore)" % self.spec.svc_name)
                current.start()
        except Exception as exc:  # pylint: disable=broad-except
            self.warnings.append("could not restore %s: %s" % (self.spec.svc_name, _docker.error_message(exc)))

    def _named_or_fail(self, command):
        container = self.container()
        if container is None:
            raise AccessoryError("accessory %s: no container named %s on this host; run accessory_boot first (%s)"
                                 % (self.spec.name, self.spec.svc_name, command))
        return container

    def start(self):
        container = self._named_or_fail("start")
        if _docker.container_state(container) not in ACTIVE_STATUSES:
            self._do("docker container start %s" % self.spec.svc_name, container.start)
            if not self.check_mode:
                container.reload()
        route = self.route_to(container)
        return self.result(container=self.summarize(container), route=route)

    def stop(self):
        container = self.container()
        if container is None:  # Kamal ignores errors of docker stop
            return self.result(container=None, msg="no container named %s" % self.spec.svc_name)
        route = self.unroute()
        if _docker.container_state(container) in ACTIVE_STATUSES:
            self._do("docker container stop %s" % self.spec.svc_name, container.stop)
            if not self.check_mode:
                container.reload()
        return self.result(container=self.summarize(container), route=route)

    def restart(self):
        """Kamal's restart: stop, then start (always a change)."""
        container = self._named_or_fail("restart")
        route = {}
        if self.spec.proxied:
            route["remove"] = self.unroute()
        if _docker.container_state(container) in ACTIVE_STATUSES:
            self._do("docker container stop %s" % self.spec.svc_name, container.stop)
        self._do("docker container start %s" % self.spec.svc_name, container.start)
        if not self.check_mode:
            container.reload()
        route["ensure"] = self.route_to(container)
        return self.result(container=self.summarize(container), route=route)

    def removal_plan(self):
        """What ``remove`` deletes, and the data it keeps (as Kamal's ``accessory remove``)."""
        spec = self.spec
        containers = {c.id: c for c in self.labelled()}
        named = self.container()
        if named is not None:
            containers[named.id] = named
        volumes, kept_dirs = [], []
        for container in containers.values():
            for mount in container.attrs.get("Mounts") or []:
                if mount.get("Type") == "volume":
                    volumes.append(mount.get("Name"))
                elif mount.get("Type") == "bind" and not str(mount.get("Source", "")).startswith(
                        spec.service_directory + "/"):
                    kept_dirs.append(mount.get("Source"))
        for item in spec.directories():
            if not item["relative"]:
                kept_dirs.append(item["host_path"])
        image = None
        if self.spec.params.get("image"):
            image = spec.image()
        content = []
        if os.path.isdir(spec.service_directory):
            content = sorted(os.path.join(spec.service_directory, entry) for entry in os.listdir(spec.service_directory))
        return {
            "containers": sorted(c.name for c in containers.values()),
            "image": image,
            "directories": [spec.service_directory] if os.path.isdir(spec.service_directory) else [],
            "directory_contents": content,
            "route": spec.svc_name if spec.proxy else None,
            "kept": {
                "volumes": sorted(set(v for v in volumes if v)),
                "directories": sorted(set(kept_dirs)),
                "env_file": spec.env_file,
            },
            "note": ("Kamal's accessory remove deletes the containers, the image and %s (uploaded files and relative "
                     "directories, with their data). Named volumes, absolute directories and the env file are kept."
                     % spec.service_directory),
        }, containers

    def remove(self, confirm=False):
        spec = self.spec
        plan, containers = self.removal_plan()
        if not confirm and not self.check_mode:
            raise AccessoryError(
                "refusing to remove accessory %s without confirm: true. It would delete: containers %s; image %s; "
                "directory %s (%d entries: uploaded files and relative directories, with their data). Kept: named "
                "volumes %s, absolute directories %s, env file %s." % (
                    spec.name, ", ".join(plan["containers"]) or "(none)", plan["image"] or "(none)",
                    ", ".join(plan["directories"]) or "(none)", len(plan["directory_contents"]),
                    ", ".join(plan["kept"]["volumes"]) or "(none)", ", ".join(plan["kept"]["directories"]) or "(none)",
                    plan["kept"]["env_file"]),
                would_remove=plan, actions=[])
        route = self.unroute()
        for container in containers.values():
            if _docker.container_state(container) in ACTIVE_STATUSES:
                self._do("docker container stop %s" % container.name, container.stop)
        for container in containers.values():
            self._do("docker container rm %s" % container.name, container.remove, v=False, force=True)
        removed_image = None
        if plan["image"] and _docker.find_image(self.client, plan["image"]) is not None:
            self.actions.append("docker image rm --force %s" % plan["image"])
            self.changed = True
            if not self.check_mode:
                try:
                    self.client.images.remove(plan["image"], force=True)
                    removed_image = plan["image"]
                except Exception as exc:  # pylint: disable=broad-except
                    self.warnings.append("kept image %s: %s" % (plan["image"], _docker.error_message(exc)))
        for directory in plan["directories"]:
            self._do("rm -rf %s" % directory)
            if not self.check_mode:
                shutil.rmtree(directory)
        if not self.actions:
            return self.result(would_remove=plan, removed=None, msg="nothing to remove")
        return self.result(would_remove=plan, route=route,
                           removed=None if self.check_mode else {"containers": plan["containers"],
                                                                 "image": removed_image,
                                                                 "directories": plan["directories"]},
                           diff={"before": {"containers": plan["containers"], "directories": plan["directories"]},
                                 "after": {"containers": [], "directories": []}})

    def details(self):
        """``docker ps --filter label=service=<svc_name>`` (running ones, as Kamal; never the env)."""
        running = [c for c in self.labelled() if _docker.container_state(c) in ACTIVE_STATUSES]
        return self.result(containers=[self.summarize(c) for c in running])

    def logs(self, lines=None, since=None, grep=None, timestamps=True):
        return self.logs_result(self.container(), "no container named %s" % self.spec.svc_name, lines=lines,
                                since=since, grep=grep, timestamps=timestamps)

    def run_exec(self, command, reuse=False):
        argv = self.exec_argv(command, "['psql', '-c', 'select 1']")
        spec = self.spec
        if reuse:
            container = self.container()
            if container is None or _docker.container_state(container) not in ACTIVE_STATUSES:
                raise AccessoryError("exec reuse: %s is not running on this host" % spec.svc_name)
            return self.exec_in(container, argv)
        kwargs = spec.create_kwargs(for_exec=True)
        kwargs.pop("command", None)
        self.ensure_env_file()
        self.ensure_image(spec.image(), "missing")
        self._do(render_run(spec, dict(kwargs, command=argv), spec.image(), exec_mode=True))
        if self.check_mode:
            return self.result(container=None)
        name = "%s-exec-%s" % (spec.svc_name, self.random_hex(3))
        return self.exec_new(name, spec.image(), argv, kwargs)

    def upload(self):
        """Kamal's hidden ``accessory upload``: the files only (boot also creates the directories)."""
        self.ensure_files()
        return self.result(files=[f["host_path"] for f in self.spec.files()])


# Kamal's audit line for each kind of operation an accessory command did (kamal/cli/accessory.rb).
_AUDITED = (("docker image pull ", "Pull %s accessory image"), ("docker container stop ", "Stopped %s accessory"),
            ("docker run ", "Booted %s accessory"), ("docker container rm ", "Remove %s accessory container"),
            ("docker container start ", "Started %s accessory"), ("docker image rm ", "Removed %s accessory image"))


def audit_messages(command, params, result):
    """Kamal's audit lines for what an accessory command did (none when it changed nothing), in order."""
    if not result.get("changed"):
        return []
    name = params["name"]
    if command == "exec":
        argv = params.get("exec_command")
        return ["Executed cmd '%s' on %s accessory" % (" ".join(argv) if isinstance(argv, list) else argv, name)]
    messages = []
    for action in result.get("actions") or []:
        for prefix, message in _AUDITED:
            if prefix == "docker image pull " and command != "reboot":
                continue  # Kamal's boot pulls inside docker run: no line of its own
            if action.startswith(prefix) and message % name not in messages:
                messages.append(message % name)
    return messages


def run(accessory, params):
    """Dispatch ``params['command']``; returns the module result."""
    command = params.get("command") or "boot"
    if command == "boot":
        return accessory.boot()
    if command == "reboot":
        return accessory.reboot(force=params.get("force", False))
    if command == "remove":
        return accessory.remove(confirm=params.get("confirm", False))
    if command == "logs":
        return accessory.logs(lines=params.get("lines"), since=params.get("since"), grep=params.get("grep"),
                              timestamps=params.get("timestamps", True))
    if command == "exec":
        return accessory.run_exec(params.get("exec_command"), reuse=params.get("reuse", False))
    if command in ("start", "stop", "restart", "details", "upload"):
        return getattr(accessory, command)()
    raise AccessoryError("unknown command %s (one of %s)" % (command, ", ".join(COMMANDS)))
