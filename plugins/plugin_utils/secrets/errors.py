# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised while reading `.kamal/secrets`.

Messages never contain secret values: they name files, keys, adapters and commands as written.
"""
from __future__ import annotations


class KamalSecretsError(Exception):
    """Base class: anything that stops the secrets from being read."""


class SecretsFormatError(KamalSecretsError):
    """A secrets file could not be parsed (dotenv syntax error, bad encoding, vault failure)."""


class SecretsCommandError(KamalSecretsError):
    """A `$(command)` in a secrets file could not be run (timeout, shell missing)."""


class SecretsAdapterError(KamalSecretsError):
    """`kamal secrets fetch/extract` failed: unknown adapter, vendor CLI missing or failing."""


class SecretNotFoundError(KamalSecretsError, KeyError):
    """One or more secrets are not defined by any secrets file.

    `names` lists every missing name, `files` the secrets files that were read.
    """

    def __init__(self, message, names=(), files=()):
        super().__init__(message)
        self.message = message
        self.names = list(names)
        self.files = list(files)

    def __str__(self):
        # KeyError would otherwise repr() the message
        return self.message
