# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every name Kamal derives from a deploy.yml, in one place.

Controller plugins and modules running on servers import this file, so it stays pure stdlib
(Python 3.9+). All paths on a server are relative to the SSH user's home directory, as Kamal's are:
Kamal hard-codes its run directory as ``.kamal``.
"""

from __future__ import annotations

import secrets as _random

RUN_DIRECTORY = ".kamal"
PROXY_CONTAINER_NAME = "kamal-proxy"
PROXY_APPS_CONTAINER_DIRECTORY = "/home/kamal-proxy/.apps-config"
DEFAULT_NETWORK = "kamal"
RESERVED_LABELS = ("destination", "role", "service")


def _join(*parts):
    """Join the parts that are set with '-', the way Kamal builds its names."""
    return "-".join(str(part) for part in parts if part is not None and part != "")


def random_hex(nbytes):
    """Lower-case hex of nbytes random bytes (Kamal's SecureRandom.hex)."""
    return _random.token_hex(nbytes)


def service_with_destination(service, destination=None):
    """``<service>[-<destination>]``: names the app directory, lock, audit log and proxy config dir."""
    return _join(service, destination)


def service_with_version(service, version):
    return "%s-%s" % (service, version)


def container_prefix(service, role, destination=None):
    """``<service>-<role>[-<destination>]``: what every app container name of a role starts with."""
    return _join(service, role, destination)


def container_name(service, role, version, destination=None):
    """``<service>-<role>[-<destination>]-<version>``."""
    return "%s-%s" % (container_prefix(service, role, destination), version)


def proxy_service_name(service, role, destination=None):
    """The name a role is deployed under in kamal-proxy: ``<service>-<role>[-<destination>]``."""
    return container_prefix(service, role, destination)


def replaced_version(version, suffix=None):
    """``<version>_replaced_<16 hex>``: the version a clashing container is renamed to before a re-boot."""
    return "%s_replaced_%s" % (version, suffix if suffix is not None else random_hex(8))


def replaced_container_name(service, role, version, destination=None, suffix=None):
    return container_name(service, role, replaced_version(version, suffix), destination)


def exec_container_name(service, role, version, destination=None, suffix=None):
    """``<service>-<role>[-<dest>]-exec-<version>-<6 hex>``: a one-off ``app exec`` container."""
    return _join(container_prefix(service, role, destination), "exec", version,
                 suffix if suffix is not None else random_hex(3))


def app_labels(service, role, destination=None):
    """The labels Kamal puts on every app container.

    ``destination`` is always present; it is empty when there is no destination, so filters on
    ``label=destination=`` keep apps with and without destinations apart.
    """
    return {"service": str(service), "role": str(role), "destination": destination or ""}


def app_label_filters(service, role=None, destination=None):
    """Docker ``label=`` filters matching :func:`app_labels` (role optional)."""
    labels = app_labels(service, role or "", destination)
    if role is None:
        del labels["role"]
    return ["%s=%s" % (key, value) for key, value in labels.items()]


def accessory_service_name(service, name, accessory_service=None):
    """Container name and ``service`` label of an accessory: its ``service`` key or ``<service>-<name>``."""
    return str(accessory_service) if accessory_service else "%s-%s" % (service, name)


def accessory_labels(service_name):
    return {"service": service_name}


def apps_directory():
    return RUN_DIRECTORY + "/apps"


def app_directory(service, destination=None):
    """``.kamal/apps/<service>[-<destination>]``."""
    return "%s/%s" % (apps_directory(), service_with_destination(service, destination))


def env_directory(service, destination=None):
    return app_directory(service, destination) + "/env"


def role_env_directory(service, destination=None):
    return env_directory(service, destination) + "/roles"


def role_env_file(service, role, destination=None):
    """``.kamal/apps/<svc[-dest]>/env/roles/<role>.env`` (secret env, mode 0600)."""
    return "%s/%s.env" % (role_env_directory(service, destination), role)


def accessory_env_directory(service, destination=None):
    return env_directory(service, destination) + "/accessories"


def accessory_env_file(service, accessory, destination=None):
    """``.kamal/apps/<svc[-dest]>/env/accessories/<name>.env``."""
    return "%s/%s.env" % (accessory_env_directory(service, destination), accessory)


def assets_directory(service, destination=None):
    return app_directory(service, destination) + "/assets"


def asset_volume_directory(service, role, version, destination=None):
    """Host side of the asset-bridging volume of a role and version."""
    return "%s/volumes/%s-%s" % (assets_directory(service, destination), role, version)


def asset_extracted_directory(service, role, version, destination=None):
    return "%s/extracted/%s-%s" % (assets_directory(service, destination), role, version)


def lock_dir(service, destination=None):
    """``.kamal/lock-<service>[-<destination>]``: the deploy lock is this directory (mkdir is atomic)."""
    return "%s/lock-%s" % (RUN_DIRECTORY, service_with_destination(service, destination))


def lock_details_path(service, destination=None):
    return lock_dir(service, destination) + "/details"


def audit_log_path(service, destination=None):
    """``.kamal/<service>[-<destination>]-audit.log``."""
    return "%s/%s-audit.log" % (RUN_DIRECTORY, service_with_destination(service, destination))


def progress_file(service, destination, subject, run_id):
    """``.kamal/progress/<service>[-<destination>]-<role or accessory>-<run id>.json``: how far a long module call got
    (ours, not Kamal's; removed when the call ends)."""
    return "%s/progress/%s-%s-%s.json" % (RUN_DIRECTORY, service_with_destination(service, destination), subject, run_id)


def proxy_directory():
    return RUN_DIRECTORY + "/proxy"


def proxy_apps_directory():
    return proxy_directory() + "/apps-config"


def proxy_app_directory(service, destination=None):
    """``.kamal/proxy/apps-config/<svc[-dest]>`` on the host (mounted into kamal-proxy)."""
    return "%s/%s" % (proxy_apps_directory(), service_with_destination(service, destination))


def proxy_app_container_directory(service, destination=None):
    return "%s/%s" % (PROXY_APPS_CONTAINER_DIRECTORY, service_with_destination(service, destination))


def proxy_tls_directory(service, role, destination=None, in_container=False):
    base = proxy_app_container_directory if in_container else proxy_app_directory
    return "%s/tls/%s" % (base(service, destination), role)


def proxy_error_pages_directory(service, destination=None, in_container=False):
    base = proxy_app_container_directory if in_container else proxy_app_directory
    return base(service, destination) + "/error_pages"


def repository(image, registry_server=None):
    """``[registry.server, image].join('/')``: no prefix for Docker Hub."""
    return "/".join(str(part) for part in (registry_server, image) if part)


def absolute_image(repo, version):
    """``<repository>:<version>``."""
    return "%s:%s" % (repo, version)


def latest_tag(destination=None):
    """``latest`` or ``latest-<destination>``."""
    return _join("latest", destination)


def latest_image(repo, destination=None):
    """``<repository>:latest[-<destination>]``."""
    return "%s:%s" % (repo, latest_tag(destination))


def is_local_registry(server):
    """Kamal's local registry mode: ``server`` is ``localhost:PORT``."""
    return isinstance(server, str) and (server.startswith("localhost:") or server.startswith("localhost$"))


def local_registry_port(server):
    if not is_local_registry(server):
        return None
    tail = server.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
