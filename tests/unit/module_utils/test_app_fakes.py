"""A fake Docker engine (the SDK's DockerClient surface kamal_app uses), a fake proxy backend and a clock.

Not tests: the helpers test_app*.py share. The engine records every mutating call in ``engine.calls``.
"""
import datetime
import io
import itertools
import posixpath
import tarfile
import types

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _app
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _health as health


class DockerException(Exception):
    pass


class APIError(DockerException):
    def __init__(self, message, status_code=500):
        super().__init__(message)
        self.status_code = status_code
        self.explanation = message


class NotFound(APIError):
    def __init__(self, message):
        super().__init__(message, 404)


class ImageNotFound(NotFound):
    pass


class BuildError(DockerException):
    pass


ERRORS = types.SimpleNamespace(DockerException=DockerException, APIError=APIError, NotFound=NotFound,
                               ImageNotFound=ImageNotFound, BuildError=BuildError)


@pytest.fixture(autouse=True)
def fake_docker_errors(monkeypatch):
    monkeypatch.setattr(_docker, "docker_errors", ERRORS)


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def docker_time(seconds):
    """Unix seconds as Docker writes times: RFC 3339 with nanoseconds."""
    moment = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % int(round((seconds - int(seconds)) * 1e9))


class FakeImage:
    def __init__(self, engine, image_id, labels=None):
        self.engine = engine
        self.id = image_id
        self.tags = []
        self.attrs = {"Id": image_id, "Config": {"Labels": dict(labels or {})}, "Created": "2026-01-01T00:00:00Z",
                      "Size": 1}

    @property
    def labels(self):
        return self.attrs["Config"]["Labels"]

    def tag(self, repository, tag=None):
        ref = "%s:%s" % (repository, tag)
        self.engine.calls.append(("tag", self.id, ref))
        self.engine.set_tag(ref, self)
        return True


class FakeContainer:
    def __init__(self, engine, cid, name, image, image_ref, kwargs):
        self.engine = engine
        self.id = cid
        self.kwargs = kwargs
        self.logs_text = b""
        self.exec_results = []
        self.reloads = 0
        self.started = None
        labels = dict(kwargs.get("labels") or {})
        self.attrs = {
            "Id": cid, "Name": "/" + name, "Image": image.id, "Created": "2026-01-01T00:00:%02d.%09dZ" % (
                engine.tick // 10**9, engine.tick % 10**9),
            "Config": {"Image": image_ref, "Labels": labels, "Env": list(kwargs.get("environment") or []),
                       "Hostname": kwargs.get("hostname")},
            "State": {"Status": "created", "ExitCode": 0},
            "NetworkSettings": {"Networks": {}},
            "Mounts": [{"Source": v.split(":")[0], "Destination": v.split(":")[1], "RW": not v.endswith(":ro")}
                       for v in kwargs.get("volumes") or [] if ":" in v],
        }
        engine.tick += 1

    @property
    def name(self):
        return self.attrs["Name"].lstrip("/")

    @property
    def labels(self):
        return self.attrs["Config"]["Labels"]

    @property
    def status(self):
        return self.attrs["State"]["Status"]

    def reload(self):
        behaviour = self.engine.behaviour(self)
        self.reloads += 1
        if behaviour.get("on_reload"):
            behaviour["on_reload"](self)
        # A crash: on the Nth reload since its start, or once it has run crash_after seconds (the engine's clock).
        if self.status == "running" and self.started is not None and (
                self.reloads == behaviour.get("crash_on_reload")
                or self.engine.clock() >= self.started + behaviour.get("crash_after", float("inf"))):
            self.crash(behaviour)

    def crash(self, behaviour):
        """The process exits with the behaviour's exit_code; with ``restarts`` the restart policy runs it again."""
        now = self.engine.clock()
        code = behaviour.get("exit_code", 1)
        self.engine.events_log.append({"Type": "container", "Action": "die", "id": self.id, "time": int(now),
                                       "timeNano": int(now * 1e9), "Actor": {"ID": self.id, "Attributes": {
                                           "exitCode": str(code), "name": self.name}}})
        state = self.attrs["State"]
        if behaviour.get("restarts"):
            self.attrs["RestartCount"] = self.attrs.get("RestartCount", 0) + 1
            self.started = now
            self.reloads = 0
            state.update(Status="running", ExitCode=0, StartedAt=docker_time(now))  # Docker resets ExitCode
        else:
            state.update(Status="exited", ExitCode=code, FinishedAt=docker_time(now))

    def start(self):
        self.engine.calls.append(("start", self.name))
        behaviour = self.engine.behaviour(self)
        self.started = self.engine.clock()
        self.reloads = 0
        self.attrs["RestartCount"] = 0
        self.attrs["State"]["StartedAt"] = docker_time(self.started)
        self.attrs["State"]["Status"] = behaviour.get("state", "running")
        if behaviour.get("health"):
            self.attrs["State"]["Health"] = {"Status": behaviour["health"], "Log": [{"Output": "probe said no"}]}
        if self.attrs["State"]["Status"] == "running":
            network = self.kwargs.get("network")
            if network:
                self.attrs["NetworkSettings"]["Networks"][network] = {"IPAddress": self.engine.next_ip()}
        self.logs_text = behaviour.get("logs", b"booting\n")

    def stop(self, timeout=None):
        self.engine.calls.append(("stop", self.name, timeout))
        self.attrs["State"]["Status"] = "exited"
        self.attrs["NetworkSettings"]["Networks"] = {}

    def rename(self, name):
        self.engine.calls.append(("rename", self.name, name))
        self.attrs["Name"] = "/" + name

    def remove(self, force=False):
        self.engine.calls.append(("rm", self.name))
        self.engine.containers_by_id.pop(self.id, None)

    def logs(self, stdout=True, stderr=True, timestamps=False, tail="all", since=None):
        lines = self.logs_text.decode().splitlines(True)
        if tail != "all":
            lines = lines[-tail:] if tail else []
        return "".join(lines).encode()

    def exec_run(self, cmd, environment=None, demux=False):
        self.engine.calls.append(("exec", self.name, list(cmd), list(environment or [])))
        return 0, (b"exec out\n", b"")

    def wait(self, timeout=None):
        return {"StatusCode": self.engine.behaviour(self).get("exit_code", 0)}

    def attach(self, stdout=True, stderr=True, stream=False, demux=False, logs=False):
        """The container's (stdout, stderr) frames, as Docker streams them once it started: its behaviour's
        ``output`` (bytes, exact), else its logs."""
        self.engine.calls.append(("attach", self.name))

        def frames():
            behaviour = self.engine.behaviour(self)
            yield (behaviour.get("output", self.logs_text), behaviour.get("errors"))
        return frames()

    def get_archive(self, path):
        """Docker's archive of ``path`` in the image (its behaviour's ``files``: path -> bytes, or ("link", target)),
        members named after the directory's base name; stat with ``linkTarget`` when ``path`` is a link."""
        self.engine.calls.append(("archive", self.name, path))
        files = self.engine.behaviour(self).get("files") or {}
        entry = files.get(path)
        if isinstance(entry, tuple):
            return iter([b""]), {"name": posixpath.basename(path), "linkTarget": entry[1]}
        prefix = path.rstrip("/") + "/"
        members = sorted(k for k in files if k.startswith(prefix))
        if not members:
            raise NotFound("Could not find the file %s in container %s" % (path, self.name))
        base = posixpath.basename(path.rstrip("/"))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo(base)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
            for member in members:
                data = files[member]
                info = tarfile.TarInfo(base + "/" + member[len(prefix):])
                if isinstance(data, tuple):
                    info.type, info.linkname = tarfile.SYMTYPE, data[1]
                    archive.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o644
                    archive.addfile(info, io.BytesIO(data))
        return iter([buffer.getvalue()]), {"name": base}


class FakeContainers:
    def __init__(self, engine):
        self.engine = engine

    def get(self, id_or_name):
        for container in self.engine.containers_by_id.values():
            if container.id == id_or_name or container.name == id_or_name:
                return container
        raise NotFound("No such container: %s" % id_or_name)

    def list(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        found = []
        for container in self.engine.containers_by_id.values():
            if not all and container.status != "running":
                continue
            labels = container.labels
            ok = True
            wanted = (filters or {}).get("label", [])
            for item in [wanted] if isinstance(wanted, str) else wanted:
                key, sep, value = item.partition("=")
                if key not in labels or (sep and labels[key] != value):
                    ok = False
            if ok:
                found.append(container)
        return found

    def create(self, image, command=None, name=None, hostname=None, detach=False, **kwargs):
        if any(c.name == name for c in self.engine.containers_by_id.values()):
            raise APIError("Conflict. The container name \"/%s\" is already in use" % name, 409)
        img = self.engine.images.get(image)
        kwargs = dict(kwargs, hostname=hostname, command=command)
        cid = "%064x" % next(self.engine.ids)
        container = FakeContainer(self.engine, cid, name, img, image, kwargs)
        self.engine.containers_by_id[cid] = container
        self.engine.calls.append(("create", name, image, kwargs))
        return container

    def prune(self, filters=None):
        raise AssertionError("not used")


class FakeImages:
    def __init__(self, engine):
        self.engine = engine

    def get(self, ref):
        if ref in self.engine.tags:
            return self.engine.tags[ref]
        for image in self.engine.all_images():
            if image.id == ref:
                return image
        raise ImageNotFound("No such image: %s" % ref)

    def pull(self, repository, tag=None):
        ref = "%s:%s" % (repository, tag)
        self.engine.calls.append(("pull", ref))
        if ref not in self.engine.registry:
            raise NotFound("manifest for %s not found: manifest unknown" % ref)
        image = self.engine.registry[ref]
        self.engine.set_tag(ref, image)
        return image

    def list(self, name=None, filters=None):
        found = []
        for image in self.engine.all_images():
            if name and not any(t.rsplit(":", 1)[0] == name for t in image.tags):
                continue
            label = (filters or {}).get("label")
            if label:
                key, _sep, value = label.partition("=")
                if image.labels.get(key) != value:
                    continue
            if (filters or {}).get("dangling") and image.tags:
                continue
            found.append(image)
        return found

    def remove(self, image=None, force=False):
        self.engine.calls.append(("rmi", image))
        target = self.engine.tags.pop(image, None)
        if target is not None:
            target.tags.remove(image)

    def prune(self, filters=None):
        self.engine.calls.append(("image prune", filters))


class FakeAPI:
    def __init__(self, engine):
        self.engine = engine

    def networks(self, names=None):
        return [{"Name": n} for n in self.engine.network_names if not names or n in names]

    def inspect_distribution(self, ref):
        """The registry's answer about ``ref`` (a plan asks it; nothing is pulled)."""
        self.engine.calls.append(("inspect distribution", ref))
        if ref not in self.engine.registry:
            raise NotFound("manifest for %s not found: manifest unknown" % ref)
        return {"Descriptor": {"digest": self.engine.registry[ref].id}}

    def pull(self, repository, tag=None, stream=False, decode=False):
        """The streamed pull: two layers' progress events, then the image is here."""
        ref = "%s:%s" % (repository, tag)
        self.engine.calls.append(("pull", ref))
        if ref not in self.engine.registry:
            yield {"error": "manifest for %s not found: manifest unknown" % ref}
            return
        for layer, total in (("l1", 60000000), ("l2", 40000000)):
            yield {"id": layer, "status": "Downloading", "progressDetail": {"current": total // 2, "total": total}}
            yield {"id": layer, "status": "Pull complete", "progressDetail": {}}
        self.engine.set_tag(ref, self.engine.registry[ref])

    def containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        import re
        pattern = re.compile((filters or {}).get("name", ".*"))
        return [{"Id": c.id, "Names": ["/" + c.name]} for c in self.engine.containers_by_id.values()
                if pattern.search("/" + c.name)]


class Engine:
    """One server's Docker engine: images in a registry, local tags, containers and their behaviours."""

    def __init__(self):
        self.calls = []
        self.ids = itertools.count(1)
        self.tick = 0
        self.ips = itertools.count(2)
        self.registry = {}
        self.tags = {}
        self.containers_by_id = {}
        self.behaviours = {}
        self.containers = FakeContainers(self)
        self.images = FakeImages(self)
        self.api = FakeAPI(self)
        self.network_names = ["bridge", "kamal"]
        self.networks = types.SimpleNamespace(create=self._create_network)
        self.clock = lambda: 1000.0
        self.events_log = []

    def events(self, since=None, until=None, filters=None, decode=False):
        """The SDK's events(): recorded events of the container in filters, since ``since``."""
        wanted = (filters or {}).get("container")
        return [e for e in self.events_log if (wanted is None or e["id"] == wanted)
                and (since is None or e["timeNano"] / 1e9 >= float(since))]

    def _create_network(self, name, driver=None):
        self.calls.append(("network create", name))
        self.network_names.append(name)

    def next_ip(self):
        return "172.18.0.%d" % next(self.ips)

    def publish(self, ref, labels=None, behaviour=None):
        """Put an image in the registry (with the behaviour of its containers)."""
        image = FakeImage(self, "sha256:%064x" % (len(self.registry) + 100), labels)
        self.registry[ref] = image
        self.behaviours[image.id] = behaviour or {}
        return image

    def set_tag(self, ref, image):
        previous = self.tags.get(ref)
        if previous is not None and ref in previous.tags:
            previous.tags.remove(ref)
        self.tags[ref] = image
        if ref not in image.tags:
            image.tags.append(ref)

    def all_images(self):
        seen = {}
        for image in list(self.tags.values()):
            seen[image.id] = image
        return list(seen.values())

    def behaviour(self, container):
        return self.behaviours.get(container.attrs["Image"], {})

    def by_ip(self, ip):
        for container in self.containers_by_id.values():
            for net in container.attrs["NetworkSettings"]["Networks"].values():
                if net.get("IPAddress") == ip:
                    return container
        return None

    def named(self, name):
        return next((c for c in self.containers_by_id.values() if c.name == name), None)

    def mutations(self):
        return [c[0] for c in self.calls]


class FakeProxy:
    """The proxy contract (docs/dev/proxy-contract.md), recording calls."""

    class ProxyError(Exception):
        pass

    def __init__(self):
        self.calls = []
        self.routes = {}
        self.targets = {}
        self.followed = {}
        self.pages = {}
        self.rollouts = {}

    def rollout(self, home, route_name):
        return self.rollouts.get(route_name)

    def rollout_deploy(self, home, route_name, ip, container, version, check_mode=False):
        self.calls.append(("rollout_deploy", route_name, ip, container, version))
        before = self.rollouts.get(route_name)
        after = dict(before or {"percent": 0, "list": []}, ip=ip, container=container, version=version)
        if not check_mode:
            self.rollouts[route_name] = after
        return {"changed": before != after, "before": before, "after": after}

    def set_split(self, home, route_name, percent, allowlist, check_mode=False):
        self.calls.append(("set_split", route_name, percent, list(allowlist or []), check_mode))
        state = self.rollouts[route_name]
        before = {"percent": state["percent"], "list": state["list"]}
        after = {"percent": percent, "list": list(allowlist or [])}
        if not check_mode:
            state.update(after)
        return {"changed": before != after, "before": before, "after": after}

    def end_rollout(self, home, route_name, app_port=None, drain_timeout=0, check_mode=False):
        self.calls.append(("end_rollout", route_name, drain_timeout, check_mode))
        before = self.rollouts.get(route_name)
        if not check_mode:
            self.rollouts.pop(route_name, None)
        return {"changed": before is not None, "before": before}

    @staticmethod
    def describe_split(state):
        return "%d%%" % state["percent"] + (" and kamal-rollout=%s" % ",".join(state["list"]) if state["list"] else "")

    def ensure_route(self, home, route, check_mode=False, error_pages=None):
        self.calls.append(("ensure_route", route["name"], check_mode))
        before = self.routes.get(route["name"])
        changed = before != route or (error_pages is not None and self.pages.get(route["name"]) != error_pages)
        if changed and not check_mode:
            self.routes[route["name"]] = route
            if error_pages is not None:
                self.pages[route["name"]] = error_pages
        return {"changed": changed, "diff": {"before": before, "after": route}}

    def live_target(self, home, route_name):
        return self.targets.get(route_name)

    def switch_live_target(self, home, route_name, ip, check_mode=False, container=None):
        self.calls.append(("switch", route_name, ip, check_mode))
        before = self.targets.get(route_name)
        changed = before != ip or self.followed.get(route_name) != container
        if not check_mode:
            self.targets[route_name] = ip
            self.followed[route_name] = container
        return {"changed": changed, "before": before, "after": ip}

    def drain(self, home, address, timeout):
        self.calls.append(("drain", address, timeout))
        return {"drained": True, "waited": 0.1, "in_flight": 0}

    def maintenance(self, home, route_name, message, check_mode=False):
        self.calls.append(("maintenance", route_name, message, check_mode))
        return {"changed": True}

    def live(self, home, route_name, check_mode=False):
        self.calls.append(("live", route_name, check_mode))
        return {"changed": True}

    def remove_route(self, home, route_name, check_mode=False):
        self.calls.append(("remove_route", route_name, check_mode))
        existed = route_name in self.routes
        if not check_mode:
            self.routes.pop(route_name, None)
            self.targets.pop(route_name, None)
        return {"changed": existed}


def probe_for(engine, clock):
    """An HTTP probe answering from the container behind the IP: its behaviour's ``http`` (status or error)."""

    def probe(url, timeout=5):
        ip = url.split("//", 1)[1].split(":", 1)[0]
        container = engine.by_ip(ip)
        clock.now += 0.01
        if container is None:
            return health.ProbeResult(url, error="connection refused")
        answer = engine.behaviour(container).get("http", 200)
        if isinstance(answer, tuple):
            return health.ProbeResult(url, status=answer[0], location=answer[1])
        if isinstance(answer, str):
            if answer.startswith("timed out"):
                clock.now += timeout
            return health.ProbeResult(url, error=answer)
        return health.ProbeResult(url, status=answer)

    return probe


REPO = "registry.test/app"


def params(**overrides):
    base = {
        "command": "boot", "service": "app", "role": "web", "destination": None, "version": "v1", "image": REPO,
        "host": "vm1.example.com", "home": None, "network": "kamal", "env": {}, "secret_env": {}, "logging": {},
        "volumes": [], "labels": {}, "options": {}, "cmd": None, "proxy": None, "readiness_delay": 7,
        "deploy_timeout": 30, "drain_timeout": 30, "stop_timeout": None, "retain_containers": 5, "pull": "missing",
        "check_service_label": True, "stop_stale": False, "tag_latest": True,
    }
    base.update(overrides)
    return base


class World:
    """An engine with v1, v2 and broken images published, a proxy, a clock and a home directory."""

    def __init__(self, tmp_path):
        self.engine = Engine()
        self.proxy = FakeProxy()
        self.clock = Clock()
        self.engine.clock = self.clock
        self.home = str(tmp_path)
        self.hex = itertools.count(0xA0)
        labels = {"service": "app"}
        self.engine.publish(REPO + ":v1", labels)
        self.engine.publish(REPO + ":v2", labels)
        self.engine.publish(REPO + ":broken", labels, {"http": 404, "logs": b"boot error: never answers /up\n"})

    def random_hex(self, nbytes):
        return ("%0" + str(nbytes * 2) + "x") % next(self.hex)

    def app(self, check_mode=False, **overrides):
        overrides.setdefault("home", self.home)
        spec = _app.RoleSpec(params(**overrides), environ={"HOME": self.home, "GREETING": "hello"})
        return _app.App(self.engine, spec, check_mode=check_mode, proxy=self.proxy, random_hex=self.random_hex,
                        clock=self.clock, sleep=self.clock.sleep, probe=probe_for(self.engine, self.clock))

    def run(self, check_mode=False, **overrides):
        app = self.app(check_mode=check_mode, **overrides)
        return _app.run(app, app.spec.params)
