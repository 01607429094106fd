# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy.yml -> a validated, resolved KamalConfig (controller side).

    from ansible_collections.kamal.deploy.plugins.plugin_utils.config import load_config, KamalConfigError
    config = load_config("config/deploy.yml", destination="staging")
    config.inventory_groups(); config.host_vars("1.2.3.4"); config.to_dict()
"""

from __future__ import annotations

import os
import re

from ansible_collections.kamal.deploy.plugins.plugin_utils.config._errors import KamalConfigError
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._loader import load_raw
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._show import kamal_config, show as show_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._model import (
    Accessory, Boot, Builder, Env, KamalConfig, Logging, Proxy, ProxyRun, Registry, Role, Ssh, build_config,
)
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._validate import Reporter, validate_structure
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._version import git_version

__all__ = [
    "Accessory", "Boot", "Builder", "Env", "KamalConfig", "KamalConfigError", "Logging", "Proxy", "ProxyRun",
    "Registry", "Role", "Ssh", "DEPLOY_FILE", "default_project_dir", "kamal_config", "load_config", "load_raw_config",
    "show_config", "source_config",
]

# An inventory source that is a config itself: deploy.yml, or deploy.<destination>.yml (that destination over deploy.yml).
DEPLOY_FILE = re.compile(r"^deploy(?:\.(?P<destination>[^.]+))?\.ya?ml$")


def default_project_dir(config_file):
    """The app root Kamal would run in: the parent of ``config/`` for ``config/deploy.yml``."""
    directory = os.path.dirname(os.path.abspath(config_file))
    return os.path.dirname(directory) if os.path.basename(directory) == "config" else directory


def source_config(path, destination=None):
    """(base config file, destination) that the source ``path`` (deploy.yml or deploy.<destination>.yml) stands for:
    ``-i config/deploy.staging.yml`` is ``kamal -d staging``, the staging file over the deploy.yml next to it; a
    plain deploy.yml takes ``destination`` (``-d``, KAMAL_DESTINATION). None when the name is neither."""
    match = DEPLOY_FILE.match(os.path.basename(path))
    if match is None:
        return None
    return os.path.join(os.path.dirname(path), "deploy.yml"), match.group("destination") or destination or None


def load_raw_config(config_file, destination=None, environ=None):
    """The merged deploy.yml (+ deploy.<destination>.yml) after ERB, before validation."""
    raw, _files, _origins = load_raw(config_file, destination, environ)
    return raw


def load_config(config_file="config/deploy.yml", destination=None, version=None, environ=None, project_dir=None,
                resolve_version=True):
    """Load, validate and resolve a Kamal 2 config; raise KamalConfigError on any problem.

    ``version`` overrides the app version; otherwise ``VERSION`` from ``environ`` and then the git commit
    of ``project_dir`` (default: the directory holding ``config/``) are used, as Kamal does. With
    ``resolve_version=False`` and no explicit version, git is not consulted and ``version`` is None.
    ``environ`` (default ``os.environ``) is what ERB's ``ENV`` sees; ``KAMAL_DESTINATION`` is set in it.
    """
    environ = dict(os.environ if environ is None else environ)
    if destination == "":
        destination = None
    project_dir = project_dir or default_project_dir(config_file)
    raw, files, origins = load_raw(config_file, destination, environ)
    reporter = Reporter(files, origins)
    validate_structure(raw, reporter)
    if version in (None, "") and environ.get("VERSION"):
        version = environ["VERSION"]
    ctx = {
        "destination": destination, "project_dir": project_dir, "files": files, "version": version or None,
        "version_resolver": lambda builder: git_version(project_dir, build_from_clone=builder.git_clone),
    }
    return build_config(raw, ctx, reporter, resolve_version)
