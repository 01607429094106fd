# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Kamal's `.kamal/secrets` files on the controller (controller-only; never shipped to hosts).

Public API:

* `load_secrets(project_dir, secrets_path, destination, environ, ...) -> dict`: every secret;
* `KamalSecrets(...)`: the same, lazily, with `.require(names)`, `.files`, `.filenames`, `.warnings`;
* `format_print(secrets) -> str`: the `kamal secrets print` text;
* errors: `KamalSecretsError` and its subclasses `SecretNotFoundError` (`.names`, `.files`),
  `SecretsFormatError`, `SecretsCommandError`, `SecretsAdapterError`.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.cli import format_print
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import (
    KamalSecretsError,
    SecretNotFoundError,
    SecretsAdapterError,
    SecretsCommandError,
    SecretsFormatError,
)
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.loader import (
    DEFAULT_SECRETS_PATH,
    KamalSecrets,
    load_secrets,
    secrets_filenames,
)
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.runner import DEFAULT_TIMEOUT

__all__ = [
    "DEFAULT_SECRETS_PATH",
    "DEFAULT_TIMEOUT",
    "KamalSecrets",
    "KamalSecretsError",
    "SecretNotFoundError",
    "SecretsAdapterError",
    "SecretsCommandError",
    "SecretsFormatError",
    "format_print",
    "load_secrets",
    "secrets_filenames",
]
