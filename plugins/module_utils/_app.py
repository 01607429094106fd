# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app containers of one role on one server: Kamal's ``app`` commands over the Docker SDK.

Everything :mod:`kamal_app` does lives here, so it can be tested with a fake Docker client: the client
(the SDK's ``DockerClient`` or anything with the same ``containers``/``images`` surface), the proxy
backend, the clock and the random hex are all injected.

A boot is one call: pull, env file, rename a clashing container, run, health, route switch and drain
(proxied roles), stop the old container, tag ``latest``. Every Docker or proxy operation performed (or,
in check mode, planned) is appended to ``actions`` in a ``docker ...``-like notation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shlex
import shutil
import time

from ansible_collections.kamal.deploy.plugins.module_utils import _assets
from ansible_collections.kamal.deploy.plugins.module_utils import _container
from ansible_collections.kamal.deploy.plugins.module_utils._container import ACTIVE_STATUSES, SPEC_LABEL
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _files
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy_boot

LOG_LINES_ON_FAILURE = 50
UPTIME_POLL = 0.5  # seconds between two looks at a new container during min_uptime


def health():
    """module_utils/_health (probes, readiness waits, their messages), imported when a boot first needs it: the
    other commands (logs, exec, details ...) and an up-to-date boot never load it."""
    from ansible_collections.kamal.deploy.plugins.module_utils import _health
    return _health


class AppError(_container.ContainerError):
    """A failure of an app command, with a message for humans and details for the module result."""


# The role on this host ------------------------------------------------------------------------------------

class RoleSpec(_container.ContainerSpec):
    """Everything a role's containers on one host are made of, from the module parameters."""

    def __init__(self, params, environ=None):
        super().__init__(params, environ)
        self.role = params.get("role") or "web"
        self.version = params.get("version") or naming.latest_tag(self.destination)
        self.repository = params.get("image")
        self.where = "the role %s" % self.role
        self.prefix = naming.container_prefix(self.service, self.role, self.destination)
        self.route_name = naming.proxy_service_name(self.service, self.role, self.destination)
        self.asset_path = params.get("asset_path") or None
        self.asset_path_options = params.get("asset_path_options") or None

    @property
    def assets(self):
        """Kamal bridges assets only for a role behind the proxy."""
        return bool(self.asset_path) and self.proxied

    # names
    def container_name(self, version=None):
        return naming.container_name(self.service, self.role, version or self.version, self.destination)

    def version_of(self, name):
        prefix = self.prefix + "-"
        return name[len(prefix):] if name.startswith(prefix) else name

    def image(self, version=None):
        self.need_image()
        return naming.absolute_image(self.repository, version or self.version)

    def latest_image(self):
        self.need_image()
        return naming.latest_image(self.repository, self.destination)

    def need_image(self):
        if not self.repository:
            raise AppError("image (the repository, e.g. registry.example.com/app) is required for this command")

    @property
    def env_file(self):
        return os.path.join(self.home, naming.role_env_file(self.service, self.role, self.destination))

    def label_filters(self, role=True):
        return naming.app_label_filters(self.service, self.role if role else None, self.destination)

    def labels(self):
        labels = naming.app_labels(self.service, self.role, self.destination)
        for key, value in (self.params.get("labels") or {}).items():
            labels[str(key)] = _container.shell_value(value, self.environ)
        return labels

    def hostname(self, suffix):
        """``<host[0,51] minus one trailing '.'>-<12 hex>`` (Kamal's ``host.to_s[0...51].chomp(".")``)."""
        head = str(self.host)[0:51]
        return "%s-%s" % (head[:-1] if head.endswith(".") else head, suffix)

    def create_kwargs(self, version=None, kamal_env=True, exec_env=None):
        """SDK ``containers.create`` kwargs of Kamal's ``docker run`` (hostname excluded: it is random)."""
        version = version or self.version
        name = self.container_name(version)
        try:
            options, merges = _container.map_options(self.params.get("options"), self.environ)
        except _container.ContainerError as exc:
            raise AppError(exc.message)
        restart = options.pop("restart_policy", {"Name": "unless-stopped"})
        env = []
        if kamal_env:
            env += [("KAMAL_CONTAINER_NAME", name), ("KAMAL_VERSION", version), ("KAMAL_HOST", str(self.host))]
            if self.destination:
                env.append(("KAMAL_DESTINATION", self.destination))
        env += self.clear_env()
        env += _container.parse_env_file(self.env_file_content())
        env += merges["environment"]
        env += [(str(k), str(v)) for k, v in (exec_env or {}).items()]
        labels = self.labels()
        labels.update(merges["labels"])
        kwargs = {
            "environment": ["%s=%s" % pair for pair in env],
            "log_config": _container.log_config(self.params.get("logging"), merges["log.driver"],
                                                merges["log.options"], self.environ),
            # The asset volume is the booted container's only (Kamal's exec containers do without).
            "volumes": self.volumes() + ([_assets.volume(self, version)] if kamal_env and self.assets else [])
            + merges["volumes"],
            "labels": labels,
            "network": self.network,
            "restart_policy": restart,
        }
        command = self.command()
        if command is not None:
            kwargs["command"] = command
        kwargs.update(options)
        return kwargs

    def spec_hash(self, image_id):
        """A digest of everything the container is made of; recorded as a label to detect config drift."""
        kwargs = self.create_kwargs()
        kwargs.pop("labels", None)
        data = {"image": self.image(), "image_id": image_id, "name": self.container_name(), "kwargs": kwargs,
                "labels": self.labels()}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]

    def healthcheck(self):
        check = dict((self.proxy or {}).get("healthcheck") or {})
        return {"path": check.get("path") or health().DEFAULT_PATH,
                "interval": check.get("interval") or health().DEFAULT_INTERVAL,
                "timeout": check.get("timeout") or health().DEFAULT_TIMEOUT,
                # kamal-proxy's --health-check-port (x-kamal-deploy: proxy: healthcheck: port:)
                "port": check.get("port") or self.app_port}

    def stop_timeout(self):
        """``docker stop -t``: stop_timeout if set, else drain_timeout for roles without the proxy (Kamal)."""
        if self.params.get("stop_timeout") is not None:
            return int(self.params["stop_timeout"])
        if not self.proxied:
            return int(self.params.get("drain_timeout", 30))
        return None


def render_run(spec, name, hostname, image, kwargs, detach=True, remove=False):
    """A ``docker run`` line for ``actions``/diff, in Kamal's argument order; secret values never appear."""
    args = ["docker", "run"]
    args.append("--detach" if detach else "--rm" if remove else "")
    restart = kwargs.get("restart_policy")
    if restart and detach:
        retries = restart.get("MaximumRetryCount")
        args += ["--restart", restart["Name"] + (":%d" % retries if retries else "")]
    args += ["--name", name, "--network", kwargs.get("network", spec.network)]
    if hostname:
        args += ["--hostname", hostname]
    secret_keys = set(spec.secret_env())
    for item in kwargs.get("environment", []):
        key = item.split("=", 1)[0]
        if key in secret_keys:
            continue
        args += ["--env", shlex.quote(item)]
    args += ["--env-file", spec.env_file]
    log = kwargs.get("log_config") or {}
    if log.get("type"):
        args += ["--log-driver", log["type"]]
    for key, value in sorted((log.get("config") or {}).items()):
        args += ["--log-opt", shlex.quote("%s=%s" % (key, value))]
    for volume in kwargs.get("volumes", []):
        args += ["--volume", shlex.quote(volume)]
    for key, value in (kwargs.get("labels") or {}).items():
        args += ["--label", shlex.quote("%s=%s" % (key, value))]
    handled = {"environment", "log_config", "volumes", "labels", "network", "restart_policy", "command"}
    for key in sorted(k for k in kwargs if k not in handled):
        value = kwargs[key] if isinstance(kwargs[key], str) else json.dumps(kwargs[key], sort_keys=True)
        args += ["--%s" % key.replace("_", "-"), shlex.quote(value)]
    args.append(image)
    args += [shlex.quote(part) for part in kwargs.get("command") or []]
    return " ".join(a for a in args if a)


# Reading containers -----------------------------------------------------------------------------------------

def container_ip(container, network):
    return _docker.container_ip(container, network) or None


def health_status(container):
    """``{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}``."""
    state = container.attrs.get("State") or {}
    if state.get("Health"):
        return state["Health"].get("Status")
    return state.get("Status")


# The manager ------------------------------------------------------------------------------------------------

class App(_container.ContainerManager):
    """Kamal's app commands for one role on one host."""

    Error = AppError

    def __init__(self, client, spec, check_mode=False, proxy=None, random_hex=naming.random_hex,
                 clock=time.monotonic, sleep=time.sleep, probe=None):
        super().__init__(client, spec, check_mode=check_mode, proxy=proxy, random_hex=random_hex)
        self.clock = clock
        self.sleep = sleep
        self.probe = probe
        # Called once the new container passed its health check (or the role already ran the version): Kamal's
        # barrier, which lets the host's other roles boot (boot.parallel_roles).
        self.on_healthy = None
        self.planned_networks = set()  # networks an earlier step of this check-mode call plans to create

    # -- helpers
    def summarize(self, container):
        return dict(_container.summary(container), version=self.spec.version_of(container.name),
                    ip=container_ip(container, self.spec.network))

    def planned_container_name(self):
        return self.spec.container_name()

    def list_containers(self, statuses=None, role=True):
        """Containers of the role (or of every role of the service and destination), newest first."""
        labels = naming.app_labels(self.spec.service, self.spec.role, self.spec.destination)
        if not role:
            del labels["role"]
        containers = _docker.containers_by_labels(self.client, labels)
        if statuses:
            containers = [c for c in containers if _docker.container_state(c) in statuses]
        return sorted(containers, key=lambda c: c.attrs.get("Created") or "", reverse=True)

    def container(self, name):
        """The container named exactly ``name``, any state."""
        return _docker.find_container(self.client, name)

    def image(self, ref):
        return _docker.find_image(self.client, ref)

    def current_container(self):
        """Kamal's current running container: the newest running one from the ``latest`` image, else the newest."""
        running = self.list_containers(ACTIVE_STATUSES)
        if not running:
            return None
        latest = self.image(self.spec.latest_image()) if self.spec.repository else None
        if latest is not None:
            for container in running:
                if container.attrs.get("Image") == latest.id:
                    return container
        return running[0]

    def current_version(self):
        container = self.current_container()
        return self.spec.version_of(container.name) if container is not None else None

    def logs_of(self, container, lines=LOG_LINES_ON_FAILURE):
        try:
            data = container.logs(stdout=True, stderr=True, timestamps=True, tail=lines)
        except Exception as exc:  # pylint: disable=broad-except
            return "(could not read the logs: %s)" % exc
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)

    def stop_container(self, container, timeout, why="", name=None):
        action = "docker stop%s %s%s" % (" -t %d" % timeout if timeout is not None else "", name or container.name, why)
        if timeout is None:
            self._do(action, container.stop)
        else:
            self._do(action, container.stop, timeout=timeout)

    # -- the proxy
    def ensure_proxy(self, boot_args):
        """Kamal's ``proxy boot`` before the app's, in this call: what ``kamal_proxy command=boot`` does (the
        backend's ProxyContainer), its operations first in ``actions``. Its ``changed`` is its own: the
        caller adds it to the boot's (so the audit line says what the app did)."""
        backend = self._need_proxy()
        container = backend.ProxyContainer(self.client, self.spec.home, self.check_mode)
        try:
            return container.boot(**boot_args)
        finally:
            self.actions.extend(container.actions)
            if self.check_mode and "create network %s" % backend.NETWORK in container.actions:
                self.planned_networks.add(backend.NETWORK)

    # -- image
    def ensure_app_image(self, pull="missing", check_label=True):
        """``<image>:<version>`` on this host; Kamal refuses an image without the ``service`` label."""
        ref = self.spec.image()
        image = self.ensure_image(ref, pull)
        if check_label and image is not None:
            labels = (image.attrs.get("Config") or {}).get("Labels") or {}
            if labels.get("service") != self.spec.service:
                raise AppError("Image %s is missing the 'service' label (service=%s): build it with"
                               " --label service=%s, or set check_service_label=false"
                               % (ref, self.spec.service, self.spec.service))
        return image

    # -- the boot
    def boot(self, pull="missing", check_service_label=True, stop_stale=False, tag_latest=True):
        spec = self.spec
        name = spec.container_name()
        timings = {}
        mark = [self.clock()]

        def lap(phase):
            now = self.clock()
            timings[phase] = round(now - mark[0], 3)
            mark[0] = now

        image = self.ensure_app_image(pull, check_service_label)
        image_id = image.id if image is not None else None
        lap("image")
        self.ensure_env_file()
        self.ensure_error_pages()
        want_hash = spec.spec_hash(image_id) if image_id else None
        # In check mode a proxy boot of this call may have planned the network already: plan it once.
        if spec.network not in self.planned_networks and _docker.ensure_network(
                self.client, spec.network, check_mode=self.check_mode):
            self.actions.append("docker network create %s" % spec.network)
            self.changed = True

        current = self.current_container()
        before = self._state(current)
        route_info = {}

        # A canary rollout of this version becomes the live container (no new boot); any other rollout ends first.
        promoted = self._settle_rollout(name, want_hash) if spec.proxied and self.proxy is not None else None
        if promoted is not None:
            return self._promote(promoted, current, image, before, timings, stop_stale, tag_latest)

        if stop_stale:
            self._stop_stale(current)

        up_to_date = (current is not None and current.name == name and image_id is not None
                      and current.attrs.get("Image") == image_id
                      and (current.attrs.get("State") or {}).get("Status") == "running"
                      and current.labels.get(SPEC_LABEL) == want_hash)
        if up_to_date:
            self._healthy()
            if spec.proxied:
                route_info = self.route_to(current, old=None)
            if tag_latest:
                self._tag_latest(image)
            lap("route")
            return self.result(container=self.summarize(current), version=spec.version, old_version=None,
                               route=route_info, diff={"before": before, "after": self._state(current, route_info)},
                               timings=timings, role=spec.role, serving_version=spec.version)

        old = current
        old_name = old.name if old is not None else None
        assets = _assets.AssetBridge(self) if spec.assets else None
        if assets is not None:
            # Before anything runs: the serving container gets the new files too, the new one the old files.
            assets.prepare(spec.version_of(old_name) if old is not None else None)
            lap("assets")
        renamed = self._rename_clashing(name)
        if renamed and old is not None and old.id == renamed[0]:
            old_name = renamed[1]
        new, booted_at = self._run_new(name, want_hash, role=spec.role,
                                       serving_version=spec.version_of(old_name) if old is not None else None)
        started_at = (new.attrs.get("State") or {}).get("StartedAt") if new is not None else None

        lap("run")
        if new is not None:
            self.progress.phase("health", container=name, timeout=spec.params.get("deploy_timeout", 30))
        health_info = self._wait_healthy(new, name, old_name if old is not None else None)
        self._healthy()
        lap("health")
        if spec.proxied:
            route_info = self.route_to(new, old)
            lap("route")
        if old is not None:
            self.stop_container(old, spec.stop_timeout(), name=old_name)
            if assets is not None:
                assets.clean_up(self._mounted())
            self._clean_up_error_pages()
            lap("stop_old")
        previous_latest = self._tag_latest(image) if tag_latest else None
        uptime_info = None
        if new is not None:
            if spec.params.get("min_uptime"):
                self.progress.phase("uptime", container=name, min_uptime=spec.params["min_uptime"])
            uptime_info = self._confirm_up(new, started_at, booted_at, old, image if tag_latest else None,
                                           previous_latest)
            lap("uptime")
        after = self._state(new, route_info) if new is not None else {
            "container": name, "version": spec.version, "image": spec.image(), "status": "running"}
        if spec.proxied and new is None:
            after["live_target"] = "<ip of %s>" % name
        return self.result(container=self.summarize(new) if new is not None else {"name": name},
                           version=spec.version, old_version=spec.version_of(old_name) if old is not None else None,
                           health=health_info, uptime=uptime_info, route=route_info,
                           diff={"before": before, "after": after}, timings=timings, role=spec.role,
                           serving_version=spec.version)

    # -- canary rollouts (kamal-proxy's `rollout deploy|set|stop`, which Kamal does not expose)
    def _need_route(self, what):
        if not self.spec.proxied:
            raise AppError("%s: the role %s does not run the proxy on %s, so it has no traffic to split"
                           % (what, self.spec.role, self.spec.host))
        return self._need_proxy()

    def rollout(self):
        """The role's rollout on this host (None: none), from the proxy's files."""
        return self._need_route("rollout").rollout(self.spec.home, self.spec.route_name)

    def rollout_deploy(self, pull="missing", check_service_label=True):
        """Boot the version next to the live one as the route's rollout target: run, health check (it gets no
        traffic before it is healthy), then the rollout's DNS answer; a rollout container it replaces drains
        and stops. The live container and the split stay as they are."""
        spec = self.spec
        proxy = self._need_route("rollout deploy")
        name = spec.container_name()
        current = self.current_container()
        if current is not None and current.name == name:
            raise AppError("rollout deploy: version %s is the live version of the role %s on %s; deploy another "
                           "version as the rollout" % (spec.version, spec.role, spec.host))
        image = self.ensure_app_image(pull, check_service_label)
        image_id = image.id if image is not None else None
        self.ensure_env_file()
        want_hash = spec.spec_hash(image_id) if image_id else None
        ensured = proxy.ensure_route(spec.home, spec.route(), check_mode=self.check_mode)
        if ensured.get("changed"):
            self.actions.append("proxy ensure route %s" % spec.route_name)
            self.changed = True
        before = proxy.rollout(spec.home, spec.route_name)
        existing = self.container(name)
        if (existing is not None and before and before.get("container") == name and want_hash
                and existing.labels.get(SPEC_LABEL) == want_hash
                and (existing.attrs.get("State") or {}).get("Status") == "running"):
            return self.result(rollout=before, container=self.summarize(existing), version=spec.version)
        if existing is not None:
            self._rename_clashing(name, existing)
        if spec.assets:
            # The rollout and the live container each serve both versions' assets, as across a deploy's switch.
            _assets.AssetBridge(self).prepare(spec.version_of(current.name) if current is not None else None)
        new = self._run_new(name, want_hash)[0]
        health_info = self._wait_healthy(new, name, current.name if current is not None else None)
        ip = container_ip(new, spec.network) if new is not None else None
        self.actions.append("proxy rollout %s to %s (%s)" % (spec.route_name, ip or "<ip of %s>" % name, spec.version))
        self.changed = True
        after = dict(before or {"percent": 0, "list": []}, version=spec.version, container=name, ip=ip)
        if not self.check_mode:
            after = proxy.rollout_deploy(spec.home, spec.route_name, ip, name, spec.version)["after"]
        replaced = self.container(before["container"]) if before and before.get("container") not in (None, name) else None
        if replaced is not None and (replaced.attrs.get("State") or {}).get("Status") in ACTIVE_STATUSES:
            if before.get("ip") and not self.check_mode:
                proxy.drain(spec.home, "%s:%d" % (before["ip"], spec.app_port), spec.params.get("drain_timeout", 30))
            self.stop_container(replaced, spec.stop_timeout(), " (the rollout it replaces)")
        return self.result(rollout=after, container=self.summarize(new) if new is not None else {"name": name},
                           version=spec.version, health=health_info,
                           diff={"before": {"rollout": before}, "after": {"rollout": after}})

    def rollout_set(self, percent=0, allowlist=None):
        """The split: ``percent`` of the clients (by the proxy's kamal-split cookie) and every kamal-rollout cookie
        in ``allowlist`` go to the rollout target. A file write on the proxy: no reload, no request lost."""
        spec = self.spec
        proxy = self._need_route("rollout set")
        done = proxy.set_split(spec.home, spec.route_name, percent, allowlist, check_mode=self.check_mode)
        after = dict(proxy.rollout(spec.home, spec.route_name) or {}, **done["after"])
        if done["changed"]:
            self.actions.append("proxy split %s: %s" % (spec.route_name, proxy.describe_split(after)))
            self.changed = True
        return self.result(rollout=after, split=proxy.describe_split(after),
                           diff={"before": {"split": done["before"]}, "after": {"split": done["after"]}})

    def rollout_stop(self):
        """All traffic back to the live target, the rollout drained, its container stopped."""
        spec = self.spec
        proxy = self._need_route("rollout stop")
        before = proxy.rollout(spec.home, spec.route_name)
        ended = proxy.end_rollout(spec.home, spec.route_name, spec.app_port, spec.params.get("drain_timeout", 30),
                                  check_mode=self.check_mode)
        if ended["changed"]:
            self.actions.append("proxy end rollout %s (all traffic to the live target)" % spec.route_name)
            self.changed = True
        stopped = self.container(before["container"]) if before and before.get("container") else None
        if stopped is not None and (stopped.attrs.get("State") or {}).get("Status") in ACTIVE_STATUSES:
            self.stop_container(stopped, spec.stop_timeout(), " (rollout stopped)")
        return self.result(rollout=None, stopped=before, drain=ended.get("drain"),
                           diff={"before": {"rollout": before}, "after": {"rollout": None}})

    def _settle_rollout(self, name, want_hash):
        """Before a boot: the rollout container to promote (this version, this configuration, running), or None
        once any other rollout has ended (its traffic back to live, drained, its container stopped)."""
        spec = self.spec
        state = self.proxy.rollout(spec.home, spec.route_name)
        if not state:
            return None
        candidate = self.container(state["container"]) if state.get("container") else None
        if (candidate is not None and candidate.name == name and want_hash
                and candidate.labels.get(SPEC_LABEL) == want_hash
                and (candidate.attrs.get("State") or {}).get("Status") == "running"):
            return candidate
        self.rollout_stop()
        return None

    def _promote(self, promoted, current, image, before, timings, stop_stale, tag_latest):
        """The rollout container becomes live: the route switches to it and the old live one drains; then the
        rollout ends (both names answered the same container by then) and the old container stops."""
        spec = self.spec
        self.actions.append("promote the rollout %s (%s) to live" % (promoted.name, spec.version))
        self.changed = True
        route_info = self.route_to(promoted, current)
        ended = self.proxy.end_rollout(spec.home, spec.route_name, check_mode=self.check_mode)
        route_info["rollout"] = ended
        if stop_stale:
            self._stop_stale(promoted)
        elif current is not None and current.id != promoted.id:
            self.stop_container(current, spec.stop_timeout(), name=current.name)
        if spec.assets and current is not None:
            _assets.AssetBridge(self).clean_up(self._mounted())
        self._clean_up_error_pages()
        if tag_latest:
            self._tag_latest(image)
        return self.result(container=self.summarize(promoted), version=spec.version,
                           old_version=spec.version_of(current.name) if current is not None else None,
                           route=route_info, promoted=True, timings=timings, role=spec.role,
                           serving_version=spec.version,
                           diff={"before": before, "after": self._state(promoted, route_info)})

    def _rename_clashing(self, name, clashing=None):
        """Make way for a new container named ``name``: one of that name (``clashing``, else looked up) is renamed
        ``<name>_replaced_<hex>``, as Kamal does. ``(its id, its new name)``, or None when there was none."""
        clashing = clashing if clashing is not None else self.container(name)
        if clashing is None:
            return None
        renamed = self.spec.container_name(naming.replaced_version(self.spec.version, self.random_hex(8)))
        self._do("docker rename %s %s" % (name, renamed), clashing.rename, renamed)
        return clashing.id, renamed

    def _run_new(self, name, want_hash, **failure):
        """Create and start the role's container ``name`` (labelled with ``want_hash``, the spec it runs).
        ``(container, when it started)``; ``(None, None)`` in check mode. A container that fails to start is
        stopped, and the error carries ``failure`` (the role and the version still serving)."""
        spec = self.spec
        hostname = spec.hostname(self.random_hex(6))
        kwargs = spec.create_kwargs()
        if want_hash:
            kwargs["labels"][SPEC_LABEL] = want_hash
        self._do(render_run(spec, name, hostname, spec.image(), kwargs))
        if self.check_mode:
            return None, None
        new = None
        try:
            new = self.client.containers.create(spec.image(), hostname=hostname, name=name, detach=True, **kwargs)
            new.start()
            booted_at = self.clock()
            new.reload()
        except Exception as exc:  # pylint: disable=broad-except
            if new is not None:
                self._stop_quietly(new)
            raise AppError(_docker.error_message(exc, "running %s" % name), actions=list(self.actions), **failure)
        return new, booted_at

    def _state(self, container, route_info=None):
        state = {"container": None, "version": None, "image": None, "status": None}
        if container is not None:
            state = {"container": container.name, "version": self.spec.version_of(container.name),
                     "image": (container.attrs.get("Config") or {}).get("Image"),
                     "status": (container.attrs.get("State") or {}).get("Status")}
        if self.spec.proxied and self.proxy is not None:
            if route_info and route_info.get("switch"):
                state["live_target"] = route_info["switch"].get("after")
            else:
                state["live_target"] = self.proxy.live_target(self.spec.home, self.spec.route_name)
        return state

    # -- the app's error pages (error_pages_path)
    def error_pages_directory(self, version=None):
        spec = self.spec
        base = os.path.join(spec.home, naming.proxy_error_pages_directory(spec.service, spec.destination))
        return os.path.join(base, version) if version else base

    def ensure_error_pages(self):
        """Kamal's upload of the version's pages to ``.kamal/proxy/apps-config/<svc[-dest]>/error_pages/<version>/``
        (directories 0700); a role behind the proxy then answers the proxy's errors with them (route_to)."""
        pages = self.spec.params.get("error_pages") or {}
        if self.spec.proxied:
            self.error_pages = pages  # none given: the route has no pages of its own (any earlier ones go)
        directory = self.error_pages_directory(self.spec.version)
        for name, content in sorted(pages.items()):
            path = os.path.join(directory, name)
            try:
                with open(path, "r", encoding="utf-8") as handle:
                    current = handle.read()
            except (IOError, OSError, UnicodeDecodeError):
                current = None
            if current != content:
                self._do("write %s" % path, _files.write_atomic, path, content, 0o600, 0o700)

    def _clean_up_error_pages(self):
        """The other versions' pages go once the old container stopped (Kamal's clean_up_error_pages)."""
        if not self.spec.params.get("error_pages"):
            return
        base = self.error_pages_directory()
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if name != self.spec.version:
                self._do("rm -rf %s" % os.path.join(base, name), shutil.rmtree, os.path.join(base, name), True)

    def prepare_assets(self, pull="missing", check_service_label=True):
        """Kamal's assets step alone, before a boot that spans several hosts: the version's image, its assets
        extracted and combined both ways with the running version's (a boot then finds them done)."""
        spec = self.spec
        if not spec.assets:
            return self.result(assets=None)
        self.ensure_app_image(pull, check_service_label)
        old = self.current_container()
        info = _assets.AssetBridge(self).prepare(spec.version_of(old.name) if old is not None else None)
        return self.result(assets=info, role=spec.role, version=spec.version)

    def _healthy(self):
        if self.on_healthy is not None:
            self.on_healthy()

    def _mounted(self):
        """Host paths the service's running containers mount (what asset clean-up must keep)."""
        if self.check_mode:
            return []
        return _assets.mounted_paths(self.list_containers(ACTIVE_STATUSES, role=False))

    def _stop_stale(self, current):
        for container in self.list_containers(ACTIVE_STATUSES):
            if current is not None and container.id == current.id:
                continue
            self.stop_container(container, self.spec.stop_timeout(), " (stale)")

    def _stop_quietly(self, container):
        try:
            container.stop()
        except Exception:  # pylint: disable=broad-except
            pass

    def _wait_healthy(self, new, name, old_name):
        spec = self.spec
        params = spec.params
        deploy_timeout = params.get("deploy_timeout", 30)
        if self.check_mode:
            if spec.proxied:
                check = spec.healthcheck()
                return {"planned": "GET http://<ip of %s>:%d%s until 2xx (deploy_timeout %s s)"
                                   % (name, check["port"], check["path"], deploy_timeout)}
            return {"planned": "wait until healthy or running for readiness_delay (deploy_timeout %s s)"
                               % deploy_timeout}
        serving = spec.version_of(old_name) if old_name else None
        left = self._still_serving(old_name)
        if spec.proxied:
            if not container_ip(new, spec.network):
                self._stop_quietly(new)
                raise AppError("Failed to get endpoint for %s on %s, did the container boot? (no address on the %s"
                               " network); %s" % (spec.role, spec.host, spec.network, left), actions=list(self.actions),
                               role=spec.role, serving_version=serving)
            result = self._probe_until_healthy(new)
            if not result.ok:
                message = health().http_failure_message(name, spec.host, result, deploy_timeout, self.logs_of(new),
                                                        left=left)
                self._fail_boot(new, message, result, serving)
            return result.to_dict()

        def status():
            new.reload()
            return health_status(new)

        def restarted():
            # Reloaded by status() just before.
            restarts = new.attrs.get("RestartCount") or 0
            return "it %s" % health().restarts_text(restarts) if restarts else None

        readiness_delay = params.get("readiness_delay", 7)
        result = health().wait_container(status, deploy_timeout, readiness_delay, abort=restarted, clock=self.clock,
                                         sleep=self.sleep)
        if not result.ok:
            health_log = None
            logs = ((new.attrs.get("State") or {}).get("Health") or {}).get("Log") or []
            if logs:
                health_log = (logs[-1].get("Output") or "").strip()
            message = health().container_failure_message(name, spec.host, result, deploy_timeout, readiness_delay,
                                                         self.logs_of(new), health_log, left=left)
            self._fail_boot(new, message, result, serving)
        return result.to_dict()

    def _probe_until_healthy(self, container):
        """The proxy's health check on ``container`` (2xx on the health path) until deploy_timeout; a container
        that exits or restarts meanwhile ends the wait at once."""
        spec = self.spec
        check = spec.healthcheck()
        url = "http://%s:%d%s" % (container_ip(container, spec.network), check["port"], check["path"])

        def abort():
            container.reload()
            state = container.attrs.get("State") or {}
            if state.get("Status") in ("exited", "dead"):
                return "the container %s (exit code %s)" % (state.get("Status"), state.get("ExitCode"))
            if container.attrs.get("RestartCount"):
                return "the container %s" % health().restarts_text(container.attrs["RestartCount"])
            return None

        return health().wait_http(url, spec.params.get("deploy_timeout", 30), interval=check["interval"],
                                  timeout=check["timeout"], abort=abort, probe=self.probe or health().http_probe,
                                  clock=self.clock, sleep=self.sleep)

    def _still_serving(self, old_name):
        """What a host is left with when a boot fails before the old container was touched."""
        if old_name:
            return "%s keeps serving on %s" % (old_name, self.spec.host)
        return self._not_running()

    def _not_running(self):
        return "the %s role is not running on %s (there was no previous container)" % (self.spec.role, self.spec.host)

    def _fail_boot(self, new, message, result, serving):
        self.actions.append("docker stop %s (failed health check)" % new.name)
        self._stop_quietly(new)
        raise AppError(message, health=result.to_dict(), actions=list(self.actions),
                       logs=self.logs_of(new).splitlines(), role=self.spec.role, serving_version=serving)

    # -- the end of the boot: is the new container still well?
    def _confirm_up(self, new, started_at, booted_at, old, tagged, previous_latest):
        """After the switch, the old container's stop and the tag: the new container must run as it was started
        (same StartedAt, RestartCount 0), and keep doing so until min_uptime seconds after its start (the
        health and stop phases count). A crash or a restart loop passes Kamal's readiness check; here it
        fails the boot and puts the previous container back (:meth:`_fail_not_up`)."""
        min_uptime = int(self.spec.params.get("min_uptime") or 0)
        while True:
            crash = self._not_up(new, started_at)
            if crash is not None:
                self._fail_not_up(new, old, crash, min_uptime, tagged, previous_latest)
            left = booted_at + min_uptime - self.clock()
            if left <= 0:
                return {"min_uptime": min_uptime, "up_for": round(self.clock() - booted_at, 3), "restarts": 0}
            self.sleep(min(UPTIME_POLL, left))

    def _not_up(self, new, started_at):
        """None while ``new`` runs as the boot started it (``started_at``: its StartedAt then), else what
        happened to it (see _health.crash_text)."""
        new.reload()
        state = new.attrs.get("State") or {}
        restarts = int(new.attrs.get("RestartCount") or 0)
        status = state.get("Status")
        if status == "running" and restarts == 0 and state.get("StartedAt") == started_at:
            return None
        crash = {"status": status, "restarts": restarts, "exit_code": None, "uptime": None,
                 "restarted_by_hand": status == "running" and restarts == 0}
        began = _docker.parse_time(started_at)
        exits = _docker.exits_since(self.client, new.id, (began or time.time() - 3600) - 1, time.time())
        if exits:
            when, crash["exit_code"] = exits[0]
            crash["uptime"] = round(when - began, 1) if began else None
        elif status in ("exited", "dead", "restarting"):
            crash["exit_code"] = state.get("ExitCode")
            finished = _docker.parse_time(state.get("FinishedAt"))
            crash["uptime"] = round(finished - began, 1) if began and finished else None
        return crash

    def _fail_not_up(self, new, old, crash, min_uptime, tagged, previous_latest):
        """Stop the new container (kept, for its logs), run the previous one again and route to it, move
        ``latest`` back; the error says what this host is left with."""
        spec = self.spec
        logs = self.logs_of(new)
        self.actions.append("docker stop %s (%s)" % (new.name, health().crash_text(crash)))
        self._stop_quietly(new)
        serving, left = self._start_again(old)
        if tagged is not None:
            self._untag_latest(tagged, previous_latest)
        message = health().not_up_message(new.name, spec.host, crash, min_uptime, left, logs)
        raise AppError(message, actions=list(self.actions), role=spec.role, serving_version=serving,
                       container=new.name, crash=crash, logs=logs.splitlines())

    def _start_again(self, old):
        """The previous container running again (``docker start``: the same container, not a new one) and, for
        a proxied role, healthy and routed to at its address now. Returns (version serving, what the host is
        left with)."""
        spec = self.spec
        if old is None:
            return None, self._not_running()
        try:
            old.reload()
            if _docker.container_state(old) != "running":
                self._do("docker start %s (the previous version, again)" % old.name, old.start)
                old.reload()
            state = _docker.container_state(old)
            if state != "running":
                return None, "%s did not start again (%s): the %s role is not running on %s" % (
                    old.name, state, spec.role, spec.host)
            note = ""
            if spec.proxied:
                probed = self._probe_until_healthy(old)
                if not probed.ok:
                    note = " (its health check did not pass yet: %s)" % (
                        probed.aborted or (probed.last.describe() if probed.last else "no probe"))
                old_ip = container_ip(old, spec.network)
                before_ip = self.proxy.live_target(spec.home, spec.route_name)
                self.proxy.switch_live_target(spec.home, spec.route_name, old_ip, container=old.name)
                self.actions.append("proxy switch %s back to %s (was %s)" % (spec.route_name, old_ip, before_ip))
        except Exception as exc:  # pylint: disable=broad-except
            return None, "starting %s again failed (%s): the %s role may not be running on %s" % (
                old.name, _docker.error_message(exc), spec.role, spec.host)
        return spec.version_of(old.name), "%s was started again and runs on %s%s" % (old.name, spec.host, note)

    def _untag_latest(self, failed, previous):
        """``latest`` back where it was before this boot tagged the failed version."""
        spec = self.spec
        latest_ref = spec.latest_image()
        if previous is not None and previous.id != failed.id:
            repo, tag = latest_ref.rsplit(":", 1)
            self._do("docker tag %s %s (back from %s)" % (previous.id[:19], latest_ref, spec.version),
                     previous.tag, repo, tag)
        elif previous is None:
            self._do("docker rmi %s (untag the failed %s)" % (latest_ref, spec.version), self.client.images.remove,
                     latest_ref)

    def _tag_latest(self, image):
        """Tag ``image`` as ``latest[-destination]``; returns the image the tag named before (or None)."""
        spec = self.spec
        latest_ref = spec.latest_image()
        current = self.image(latest_ref)
        if image is not None and current is not None and current.id == image.id:
            return current
        repo, tag = latest_ref.rsplit(":", 1)
        self._do("docker tag %s %s" % (spec.image(), latest_ref), image.tag if image is not None else None, repo, tag)
        return current

    # -- other commands
    def tag_latest(self):
        image = self.image(self.spec.image())
        if image is None:
            raise AppError("image %s is not on this host: nothing to tag" % self.spec.image())
        self._tag_latest(image)
        return self.result()

    def start(self):
        spec = self.spec
        name = spec.container_name()
        container = self.container(name)
        route_info = {}
        if container is None:
            # Kamal ignores errors of `docker start`; a missing container is worth saying though.
            return self.result(msg="no container named %s" % name, container=None)
        if (container.attrs.get("State") or {}).get("Status") != "running":
            self._do("docker start %s" % name, container.start)
            if not self.check_mode:
                container.reload()
        if spec.proxied:
            current = container if self.check_mode else self.current_container()
            if current is not None:
                route_info = self.route_to(current, None)
        return self.result(container=self.summarize(container), route=route_info)

    def stop(self):
        spec = self.spec
        current = self.current_container()
        route_info = {}
        if current is None:
            return self.result(container=None)
        if spec.proxied:
            route_info["remove"] = self.unroute()
        self.stop_container(current, spec.stop_timeout())
        return self.result(container=self.summarize(current), route=route_info)

    def remove(self, remove_images=False, remove_app_directory=False):
        stopped = self.stop()
        for container in self.list_containers():
            if (container.attrs.get("State") or {}).get("Status") in ACTIVE_STATUSES and container.name != (
                    (stopped.get("container") or {}).get("name")):
                self.stop_container(container, self.spec.stop_timeout())
        for container in self.list_containers():
            self._do("docker container rm %s" % container.name, container.remove, force=True)
        if remove_images:
            for image in self.client.images.list(filters={"label": "service=%s" % self.spec.service}):
                for ref in list(image.tags or [image.id]):
                    self._do("docker rmi %s" % ref, self.client.images.remove, ref, force=True)
        if remove_app_directory:
            for path in (naming.app_directory(self.spec.service, self.spec.destination),
                         naming.proxy_app_directory(self.spec.service, self.spec.destination)):
                full = os.path.join(self.spec.home, path)
                if os.path.exists(full):
                    self._do("rm -r %s" % full, shutil.rmtree, full, True)
        return self.result()

    def pull(self):
        """Kamal's ``build pull`` on this host: a fresh pull of the version's image (it must carry the service label)."""
        image = self.ensure_app_image(pull="always")
        return self.result(image=self.spec.image(), image_id=image.id if image is not None else None,
                           version=self.spec.version)

    def details(self):
        rollout = self.proxy.rollout(self.spec.home, self.spec.route_name) if self.spec.proxied and self.proxy else None
        return self.result(containers=[self.summarize(c) for c in self.list_containers(ACTIVE_STATUSES)],
                           rollout=rollout)

    def containers(self):
        return self.result(containers=[self.summarize(c) for c in self.list_containers(role=False)])

    def images(self):
        repo = self.spec.repository
        self.spec.need_image()
        found = []
        for image in self.client.images.list(name=repo):
            found.append({"id": image.id, "tags": list(image.tags or []),
                          "created": image.attrs.get("Created"), "size": image.attrs.get("Size")})
        return self.result(images=found)

    def version(self):
        return self.result(version=self.current_version())

    def versions(self):
        """Versions present as containers of this role (any state): what ``rollback`` can boot."""
        found = []
        for container in self.list_containers():
            version = self.spec.version_of(container.name)
            if "_replaced_" in version or "-exec-" in container.name:
                continue
            found.append({"version": version, "status": (container.attrs.get("State") or {}).get("Status"),
                          "image": (container.attrs.get("Config") or {}).get("Image")})
        return self.result(versions=[v["version"] for v in found], containers=found,
                           current=self.current_version())

    def stale_containers(self, stop=False):
        current = self.current_container()
        stale = [c for c in self.list_containers(ACTIVE_STATUSES) if current is None or c.id != current.id]
        if stop:
            for container in stale:
                self.stop_container(container, self.spec.stop_timeout(), " (stale)")
        return self.result(stale=[self.spec.version_of(c.name) for c in stale])

    def logs(self, lines=None, since=None, grep=None, timestamps=True, container_id=None):
        if container_id:
            container = _docker.get_container(self.client, container_id)
            if container is None:
                raise AppError("no container %s" % container_id)
        else:
            container = self.current_container()
        return self.logs_result(container, "Nothing found", lines=lines, since=since, grep=grep,
                                timestamps=timestamps)

    def run_exec(self, command, reuse=False, env=None, detach=False, raw=False):
        spec = self.spec
        argv = self.exec_argv(command, "['bin/rails', 'db:migrate']")
        if reuse:
            if detach:
                raise AppError("exec: reuse and detach cannot be combined (as in Kamal)")
            current = self.current_container()
            if current is None:
                raise AppError("exec reuse: no running container of %s on %s" % (spec.prefix, spec.host))
            return self.exec_in(current, argv, env, raw=raw)
        if not os.path.exists(spec.env_file):
            # Kamal's `docker run --env-file` fails on a host that never booted the role (kamal#1180): the role's
            # env file goes up first, as a boot writes it (one that is there is the running version's: kept).
            self.ensure_env_file()
        name = naming.exec_container_name(spec.service, spec.role, spec.version, spec.destination,
                                          suffix=self.random_hex(3))
        # Kamal's `app exec` container: role env, logging, volumes and options; no KAMAL_* env, hostname,
        # labels or restart policy.
        kwargs = spec.create_kwargs(kamal_env=False, exec_env=env)
        kwargs.pop("restart_policy", None)
        kwargs.pop("labels", None)
        # `docker run` pulls an image the host does not have (a host that never booted the role, after docker login).
        self.ensure_image(spec.image(), "missing")
        self._do(render_run(spec, name, None, spec.image(), dict(kwargs, command=argv), detach=detach,
                            remove=not detach))
        if self.check_mode:
            return self.result(container=name)
        kwargs.pop("command", None)
        return self.exec_new(name, spec.image(), argv, kwargs, detach=detach, timeout=spec.params.get("exec_timeout"),
                             raw=raw)

    def prune(self, retain=5, containers=True, images=True):
        """Kamal's ``prune all``, with retention per service AND destination (Kamal counts per service)."""
        if retain < 1:
            raise AppError("retain_containers must be at least 1")
        spec = self.spec
        removed_containers, removed_images = [], []
        if containers:
            dead = self.list_containers(("created", "exited", "dead"), role=False)
            for container in dead[retain:]:
                self._do("docker rm %s" % container.name, container.remove)
                removed_containers.append(container.name)
        if images:
            spec.need_image()
            label = "service=%s" % spec.service
            dangling = self.client.images.list(filters={"label": label, "dangling": True})
            if dangling:
                self._do("docker image prune --force --filter label=%s" % label, self.client.images.prune,
                         filters={"label": label, "dangling": True})
            service_containers = _docker.containers_by_labels(self.client, {"service": spec.service})
            in_use = set()
            for container in service_containers:
                if container.name in removed_containers:
                    continue
                in_use.add(container.attrs.get("Image"))
                in_use.add((container.attrs.get("Config") or {}).get("Image"))
            latest_prefix = spec.repository + ":latest"
            for image in self.client.images.list(filters={"label": label}):
                if image.id in in_use:
                    continue
                for tag in image.tags or []:
                    if tag in in_use or tag == latest_prefix or tag.startswith(latest_prefix + "-"):
                        continue
                    self._do("docker rmi %s" % tag, self.client.images.remove, tag)
                    removed_images.append(tag)
        return self.result(removed_containers=removed_containers, removed_images=removed_images)

    def maintenance(self, message=None):
        proxy = self._need_proxy()
        done = proxy.maintenance(self.spec.home, self.spec.route_name, message, check_mode=self.check_mode)
        if done.get("changed"):
            self.actions.append("proxy maintenance %s" % self.spec.route_name)
            self.changed = True
        return self.result(route=done)

    def live(self):
        proxy = self._need_proxy()
        done = proxy.live(self.spec.home, self.spec.route_name, check_mode=self.check_mode)
        if done.get("changed"):
            self.actions.append("proxy live %s" % self.spec.route_name)
            self.changed = True
        return self.result(route=done)


# Commands that always talk to the proxy backend (others only for a proxied role, or with proxy_boot).
PROXY_COMMANDS = ("maintenance", "live", "rollout_deploy", "rollout_set", "rollout_stop", "rollout")
COMMANDS = ("boot", "start", "stop", "remove", "details", "containers", "images", "version", "versions", "logs",
            "exec", "stale_containers", "prune", "tag_latest", "maintenance", "live", "rollout_deploy", "rollout_set",
            "rollout_stop", "rollout", "pull", "assets")


def run(app, params):
    """Dispatch ``params['command']`` to the manager; returns the module result."""
    command = params.get("command") or "boot"
    if command == "boot":
        return boot(app, params)
    if command == "remove":
        return app.remove(params.get("remove_images", False), params.get("remove_app_directory", False))
    if command == "logs":
        return app.logs(lines=params.get("lines"), since=params.get("since"), grep=params.get("grep"),
                        timestamps=params.get("timestamps", True), container_id=params.get("container_id"))
    if command == "exec":
        return app.run_exec(params.get("exec_command"), reuse=params.get("reuse", False),
                            env=params.get("exec_env"), detach=params.get("detach", False), raw=params.get("raw", False))
    if command == "stale_containers":
        return app.stale_containers(stop=params.get("stop", False))
    if command == "prune":
        only = params.get("prune_only")
        return app.prune(retain=params.get("retain_containers", 5), containers=only != "images",
                         images=only != "containers")
    if command == "maintenance":
        return app.maintenance(params.get("maintenance_message"))
    if command == "assets":
        return app.prepare_assets(pull=params.get("pull") or "missing",
                                  check_service_label=params.get("check_service_label", True))
    if command == "rollout_deploy":
        return app.rollout_deploy(pull=params.get("pull") or "missing",
                                  check_service_label=params.get("check_service_label", True))
    if command == "rollout_set":
        return app.rollout_set(params.get("rollout_percent") or 0, params.get("rollout_list") or [])
    if command == "rollout":
        return app.result(rollout=app.rollout())
    if command in COMMANDS:
        return getattr(app, command)()
    raise AppError("unknown command %s (one of %s)" % (command, ", ".join(COMMANDS)))


def boot(app, params):
    """``boot``, with the proxy ensured before it (``proxy_boot``) and prune after it (``prune``) in the same
    call: each costs no extra round trip to the server. ``boot_changed`` is the app's own change."""
    proxy_booted = None
    if params.get("proxy_boot"):
        proxy_booted = app.ensure_proxy(_proxy_boot.boot_args(params["proxy_boot"], app.spec.home))
    result = app.boot(pull=params.get("pull") or "missing",
                      check_service_label=params.get("check_service_label", True),
                      stop_stale=params.get("stop_stale", False), tag_latest=params.get("tag_latest", True))
    if params.get("prune"):
        # Kamal prunes after every deploy.
        pruned = app.prune(retain=params.get("retain_containers", 5))
        result["boot_changed"] = result["changed"]
        result["pruned"] = {"containers": pruned["removed_containers"], "images": pruned["removed_images"]}
        result["changed"] = result["changed"] or bool(pruned["removed_containers"] or pruned["removed_images"])
        result["actions"] = pruned["actions"]
    if proxy_booted is not None:
        result.setdefault("boot_changed", result["changed"])
        result["changed"] = result["changed"] or proxy_booted["changed"]
        result["proxy_boot"] = proxy_booted
        diff = result.get("diff") or {"before": {}, "after": {}}
        result["diff"] = {"before": dict(diff["before"] or {}, proxy=proxy_booted["diff"]["before"]),
                          "after": dict(diff["after"] or {}, proxy=proxy_booted["diff"]["after"])}
    return result


def boot_parallel(apps, params_list, barrier=False):
    """Kamal's ``boot.parallel_roles`` on one host: the roles of ``apps`` (``params_list``: each one's parameters)
    boot at the same time, each in its own thread with its own manager. With ``barrier`` the first is the primary
    role: the others start once its new container passed the health check (Kamal's barrier), and not at all when it
    failed. The proxy is ensured before (the main role's ``proxy_boot``) and the service pruned once after.

    Returns ``[(params, result or None, error or None)]`` in the order given, and the proxy's and prune's results."""
    import threading  # only a parallel boot needs it

    main, main_params = apps[0], params_list[0]
    proxy_booted = main.ensure_proxy(_proxy_boot.boot_args(main_params["proxy_boot"])) if main_params.get("proxy_boot") else None
    gate = {"event": threading.Event(), "open": not barrier}
    if not barrier:
        gate["event"].set()

    def opened():
        gate["open"] = True
        gate["event"].set()

    main.on_healthy = opened if barrier else None
    outcomes = [None] * len(apps)

    def work(index):
        app, params = apps[index], params_list[index]
        try:
            if index and barrier:
                gate["event"].wait()
                if not gate["open"]:
                    raise AppError("First %s container is unhealthy, not booting %s on %s"
                                   % (main.spec.role, app.spec.role, app.spec.host), role=app.spec.role,
                                   serving_version=app.current_version(), actions=[])
            outcomes[index] = (params, boot(app, dict(params, proxy_boot=None, prune=False)), None)
        except Exception as exc:  # pylint: disable=broad-except
            outcomes[index] = (params, None, exc)
        finally:
            if index == 0 and barrier and not gate["event"].is_set():
                gate["event"].set()  # closed: the main role failed before its container was healthy

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pruned = None
    if main_params.get("prune") and not any(error for _params, _result, error in outcomes):
        pruned = main.prune(retain=main_params.get("retain_containers", 5))
    return outcomes, proxy_booted, pruned


def audit_message(command, params, result):
    """Kamal's audit line for a command that changed something (None when there is nothing to record)."""
    if not result.get("boot_changed", result.get("changed")):
        return None
    version = result.get("version") or params.get("version")
    messages = {
        "boot": "Booted app version %s" % version,
        "start": "Started app version %s" % version,
        "stop": "Stopped app",
        "remove": "Removed app container with version %s" % version,
        "exec": "Executed cmd '%s' on app version %s" % (params.get("exec_command"), version),
        "prune": "Pruned containers and images",
        "pull": "Pulled image with version %s" % version,
        "maintenance": "Maintenance mode on",
        "live": "Maintenance mode off",
        "rollout_deploy": "Deployed app version %s as the rollout" % version,
        "rollout_stop": "Stopped the rollout of app version %s" % ((result.get("stopped") or {}).get("version")),
    }
    if command == "rollout_set":
        rollout = result.get("rollout") or {}
        return "Set the rollout split of app version %s to %s" % (rollout.get("version"), result.get("split"))
    return messages.get(command)
