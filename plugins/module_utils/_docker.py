# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Docker engine wrapper of kamal.deploy (runs on the servers, Docker SDK for Python).

Every module that drives Docker connects, looks containers and images up and translates Docker's
errors through this file, so a reader finds those rules in one place:

- names are exact: a container is found by ``/name`` or by labels, never by Docker's substring
  ``name=`` filter (``web`` must not find ``web-2``);
- every Docker error becomes one human sentence through :func:`error_message`;
- the SDK is optional at import time (``HAS_DOCKER``), so modules can report it through
  ``missing_required_lib('docker')`` instead of a traceback.

Works with Debian 12's python3-docker 5.0.3 (Docker API 1.41) and later; Python 3.9+ syntax.
"""

from __future__ import annotations

import datetime
import io
import re
import traceback

from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError

try:
    import docker
    from docker import errors as docker_errors
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised on servers without python3-docker
    docker = None
    docker_errors = None
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

try:
    import requests.exceptions as _requests_errors
except ImportError:  # pragma: no cover
    _requests_errors = None

DOCKER_LIBRARY = "docker"
DOCKER_LIBRARY_URL = "https://docker-py.readthedocs.io/"
DEFAULT_TIMEOUT = 60


class DockerError(KamalError):
    """A Docker failure, already phrased for a human (module: ``fail_json(msg=str(exc))``)."""


def error_message(exc, context=None):
    """The one place where Docker's exceptions become sentences.

    ``context`` says what we were doing ("pulling image x", "starting kamal-proxy") and leads the message.
    """
    prefix = "%s: " % context if context else ""
    if isinstance(exc, DockerError):
        return prefix + str(exc)
    if docker_errors is not None:
        if isinstance(exc, docker_errors.ImageNotFound):
            return prefix + "image not found (%s)" % _explanation(exc)
        if isinstance(exc, docker_errors.NotFound):
            return prefix + "not found (%s)" % _explanation(exc)
        if isinstance(exc, docker_errors.APIError):
            status = getattr(exc, "status_code", None)
            return prefix + "Docker engine answered %s: %s" % (status or "an error", _explanation(exc))
        if isinstance(exc, docker_errors.BuildError):
            tail = "".join(str(line.get("stream", line.get("error", ""))) for line in list(exc.build_log or [])[-20:])
            return prefix + "build failed: %s\n%s" % (exc.msg, tail.strip())
        if isinstance(exc, docker_errors.DockerException):
            return prefix + _connection_hint(str(exc))
    if _requests_errors is not None and isinstance(exc, _requests_errors.ConnectionError):
        return prefix + _connection_hint(str(exc))
    if _requests_errors is not None and isinstance(exc, _requests_errors.ReadTimeout):
        return prefix + "the Docker engine did not answer in time (%s)" % exc
    return prefix + "%s: %s" % (type(exc).__name__, exc)


def _explanation(exc):
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return (explanation or str(exc)).strip()


def _connection_hint(text):
    if "Permission denied" in text:
        return ("cannot talk to the Docker engine: permission denied on its socket. Run as root (become) or "
                "add the SSH user to the docker group. (%s)" % text)
    if "No such file" in text or "Connection refused" in text or "Error while fetching server API version" in text:
        return "cannot reach the Docker engine: is Docker installed and running on this server? (%s)" % text
    return "Docker error: %s" % text


def connect(timeout=DEFAULT_TIMEOUT):
    """A client for the local engine (``DOCKER_HOST`` and friends honoured, as the docker CLI does)."""
    if not HAS_DOCKER:
        raise DockerError("the Python library 'docker' is missing on this server (Debian: apt-get install python3-docker)")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as exc:  # pylint: disable=broad-except
        raise DockerError(error_message(exc, "connecting to Docker"))


def call(context, func, *args, **kwargs):
    """Run one SDK call, turning any failure into a DockerError phrased by :func:`error_message`."""
    try:
        return func(*args, **kwargs)
    except DockerError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise DockerError(error_message(exc, context))


class Operations:
    """The manager core every module shares: each Docker operation is recorded (the module's ``actions``,
    the plan in check mode) and performed only outside check mode, through :func:`call`."""

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.actions = []
        self.changed = False

    def _do(self, action, func=None, *args, **kwargs):
        """Record an operation and perform it unless in check mode (``func=None``: record only)."""
        self.actions.append(action)
        self.changed = True
        if self.check_mode or func is None:
            return None
        return call(action, func, *args, **kwargs)

    def result(self, **data):
        data.setdefault("changed", self.changed)
        data["actions"] = list(self.actions)
        return data


# --- containers -----------------------------------------------------------------------------------

def find_container(client, name):
    """The container named exactly ``name`` (any state), or None.

    Docker's ``name`` filter is a substring/regex match, and inspecting by name also accepts ID prefixes,
    so we anchor the filter and then keep only the container whose names include ``/name``."""
    wanted = "/" + name
    listed = call("listing containers named %s" % name, client.api.containers, all=True,
                  filters={"name": "^/%s$" % re.escape(name)})
    for entry in listed:
        if wanted in (entry.get("Names") or []):
            return get_container(client, entry["Id"])
    return None


def get_container(client, id_or_name):
    """Inspect a container by id; None when it vanished in between."""
    try:
        return client.containers.get(id_or_name)
    except Exception as exc:  # pylint: disable=broad-except
        if docker_errors is not None and isinstance(exc, docker_errors.NotFound):
            return None
        raise DockerError(error_message(exc, "inspecting container %s" % id_or_name))


def containers_by_labels(client, labels, all_states=True):
    """Containers carrying every ``labels`` item (a dict; a None value = label present with any value)."""
    filters = {"label": ["%s=%s" % (k, v) if v is not None else k for k, v in sorted(labels.items())]}
    return call("listing containers by labels %s" % filters["label"], client.containers.list,
                all=all_states, filters=filters)


def container_state(container):
    """``running`` / ``exited`` / ``created`` / ... from an inspected container."""
    return ((container.attrs or {}).get("State") or {}).get("Status", "unknown")


def container_ip(container, network):
    """The container's IPv4 address on ``network`` ('' when it is not attached or not running)."""
    networks = ((container.attrs or {}).get("NetworkSettings") or {}).get("Networks") or {}
    return (networks.get(network) or {}).get("IPAddress") or ""


def container_summary(container):
    """What a human needs to know about a container (never its environment)."""
    attrs = container.attrs or {}
    config = attrs.get("Config") or {}
    state = attrs.get("State") or {}
    return {
        "id": container.id,
        "name": (attrs.get("Name") or getattr(container, "name", "") or "").lstrip("/"),
        "image": config.get("Image"),
        "image_id": attrs.get("Image"),
        "state": container_state(container),
        "status": state.get("Status"),
        "health": (state.get("Health") or {}).get("Status"),
        "started_at": state.get("StartedAt"),
        "created": attrs.get("Created"),
        "networks": sorted((attrs.get("NetworkSettings") or {}).get("Networks") or {}),
        "labels": dict(config.get("Labels") or {}),
    }


def parse_time(text):
    """Docker's RFC 3339 time (``2026-12-04T18:36:18.123456789Z``, nanoseconds) as Unix seconds, or None."""
    match = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", str(text or ""))
    if not match or match.group(1) == "0001":  # 0001-01-01T00:00:00Z: never happened
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    offset = 0
    if match.group(8) != "Z":
        sign = -1 if match.group(8)[0] == "-" else 1
        offset = sign * (int(match.group(8)[1:3]) * 3600 + int(match.group(8)[4:6]) * 60)
    moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    return moment.timestamp() - offset + float("0." + (match.group(7) or "0"))


def exits_since(client, container_id, since, until):
    """``(unix time, exit code)`` of each time the container died between ``since`` and ``until`` (Unix
    seconds), oldest first: Docker's ``die`` events, which keep the exit code of a run the restart policy
    has already replaced (``State.ExitCode`` is reset when it runs again). Empty when events cannot be read."""
    try:
        events = client.events(since="%.9f" % since, until="%.9f" % until, decode=True,
                               filters={"container": container_id, "event": "die"})
        found = []
        for event in events:
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            when = event.get("timeNano")
            when = when / 1e9 if when else float(event.get("time") or 0)
            code = attributes.get("exitCode")
            found.append((when, int(code) if code not in (None, "") else None))
        return sorted(found)
    except Exception:  # pylint: disable=broad-except
        return []  # only the diagnostic loses a detail


def ensure_network(client, name, check_mode=False):
    """Create the bridge network ``name`` when missing. Returns True when it was (or would be) created."""
    existing = call("listing networks", client.api.networks, names=[name])
    if any(net.get("Name") == name for net in existing):
        return False
    if not check_mode:
        try:
            client.networks.create(name, driver="bridge")
        except Exception as exc:  # pylint: disable=broad-except
            # Another run created it concurrently: Docker says "already exists"; that is what we wanted.
            if "already exists" not in error_message(exc):
                raise DockerError(error_message(exc, "creating network %s" % name))
    return True


# --- images ---------------------------------------------------------------------------------------

def split_image(reference):
    """``(registry, repository, tag)`` of an image reference; registry '' means Docker Hub."""
    ref = reference.split("@", 1)[0]
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return first, name.split("/", 1)[1], tag
    return "", name, tag


def normalize_image(reference):
    """Compare images by a normal form: ``docker.io/library/`` dropped, ``:latest`` added."""
    registry, repository, tag = split_image(reference)
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = ""
    if not registry and repository.startswith("library/"):
        repository = repository[len("library/"):]
    return "%s%s:%s" % (registry + "/" if registry else "", repository, tag)


def find_image(client, reference):
    """The local image ``reference`` or None."""
    try:
        return client.images.get(reference)
    except Exception as exc:  # pylint: disable=broad-except
        if docker_errors is not None and isinstance(exc, (docker_errors.ImageNotFound, docker_errors.NotFound)):
            return None
        raise DockerError(error_message(exc, "inspecting image %s" % reference))


def _pull_streamed(client, name, tag, progress):
    """The engine's pull stream, each event passed to ``progress`` (bytes per layer); an error event raises."""
    for event in client.api.pull(name, tag=tag, stream=True, decode=True):
        if event.get("error"):
            raise DockerError(event["error"])
        progress(event)


def pull_image(client, reference, progress=None):
    """Pull ``reference``; the error names the image and the registry it came from. ``progress`` gets each event
    of the pull (module_utils/_progress)."""
    registry, repository, tag = split_image(reference)
    name = "%s/%s" % (registry, repository) if registry else repository
    try:
        if progress is None:
            client.images.pull(name, tag=tag)
        else:
            _pull_streamed(client, name, tag, progress)
    except Exception as exc:  # pylint: disable=broad-except
        where = registry or "Docker Hub"
        hint = ""
        text = error_message(exc)
        if "unauthorized" in text.lower() or "denied" in text.lower():
            hint = " Log in to %s first (registry username/password)." % where
        elif "not found" in text.lower() or "manifest unknown" in text.lower():
            hint = " Check the image name and tag: %s has no %s:%s." % (where, repository, tag)
        raise DockerError("cannot pull image %s from %s: %s.%s" % (reference, where, text, hint))
    image = find_image(client, reference)
    if image is None:
        raise DockerError("pulled image %s from %s but the engine does not list it" % (reference, registry or "Docker Hub"))
    return image


def registry_has(client, reference):
    """Whether the image's registry has ``reference`` (asked through the engine, with the login it holds), without
    pulling it: True, or False with the registry's answer when it has no such tag. A registry the engine cannot
    ask (unreachable, refused credentials) is an error naming it."""
    registry, repository, tag = split_image(reference)
    try:
        client.api.inspect_distribution(reference)
        return True, None
    except Exception as exc:  # pylint: disable=broad-except
        text = error_message(exc)
        lowered = text.lower()
        if any(word in lowered for word in ("manifest unknown", "not found", "no such", "404")):
            return False, text
        raise DockerError("cannot ask %s whether it has %s:%s: %s" % (registry or "Docker Hub", repository, tag, text))


def build_image(client, tag, dockerfile, buildargs=None, labels=None, pull=False):
    """Build ``tag`` from Dockerfile text alone (no build context), as the proxy image is built on servers."""
    try:
        image, _logs = client.images.build(fileobj=io.BytesIO(dockerfile.encode("utf-8")), tag=tag,
                                           buildargs=dict(buildargs or {}), labels=dict(labels or {}),
                                           rm=True, forcerm=True, pull=pull)
        return image
    except Exception as exc:  # pylint: disable=broad-except
        raise DockerError(error_message(exc, "building image %s on the server" % tag))


def image_labels(image):
    return ((image.attrs or {}).get("Config") or {}).get("Labels") or {}
