# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vault adapters of `kamal secrets fetch --adapter NAME`, by the names Kamal accepts."""
from __future__ import annotations

import re

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.aws_secrets_manager import AwsSecretsManagerAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.bitwarden import BitwardenAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.bitwarden_secrets_manager import BitwardenSecretsManagerAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.doppler import DopplerAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.enpass import EnpassAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.gcp_secret_manager import GcpSecretManagerAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.last_pass import LastPassAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.one_password import OnePasswordAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.passbolt import PassboltAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.test import KamalTestAdapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import SecretsAdapterError

# Kamal maps a few friendly names, then camelizes the rest into a class name; these are the class names
# (underscored) that exist in Kamal 2.11/2.12.
_ALIASES = {
    "1password": "one_password",
    "lastpass": "last_pass",
    "gcp": "gcp_secret_manager",
    "bitwarden-sm": "bitwarden_secrets_manager",
}

ADAPTERS = {
    "one_password": OnePasswordAdapter,
    "bitwarden": BitwardenAdapter,
    "bitwarden_secrets_manager": BitwardenSecretsManagerAdapter,
    "aws_secrets_manager": AwsSecretsManagerAdapter,
    "last_pass": LastPassAdapter,
    "doppler": DopplerAdapter,
    "gcp_secret_manager": GcpSecretManagerAdapter,
    "passbolt": PassboltAdapter,
    "enpass": EnpassAdapter,
    "test": KamalTestAdapter,
}


def _class_key(name):
    # ActiveSupport's camelize is case-insensitive on the first letter of each part and turns `_x` into
    # `X`, so `aws_secrets_manager`, `AwsSecretsManager` and `Aws_Secrets_Manager` find the same class.
    camel = re.sub(r"(?:^|_)([a-z\d]*)", lambda m: m.group(1)[:1].upper() + m.group(1)[1:], name)
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


_BY_CLASS = {_class_key(key): key for key in ADAPTERS}


def lookup_adapter(name, runner):
    """Return the adapter instance for `--adapter NAME`, or raise `Unknown secrets adapter: NAME`."""
    if not name:
        raise SecretsAdapterError("No value provided for required options '--adapter'")
    resolved = _ALIASES.get(name.lower(), name)
    key = _BY_CLASS.get(_class_key(resolved)) if re.match(r"^[A-Za-z][A-Za-z0-9_]*$", resolved) else None
    if key is None:
        raise SecretsAdapterError("Unknown secrets adapter: %s" % resolved)
    return ADAPTERS[key](runner)
