# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which secrets files are read, in which order, and what a missing secret says.

Like Kamal: `<secrets_path>-common`, then `<secrets_path>` (or `<secrets_path>.<destination>`, in which
case the plain file is not read). Missing files are skipped, each file is parsed on its own, later files
win. Unlike Kamal, a file encrypted with Ansible Vault is decrypted first.
"""
from __future__ import annotations

import os
import re

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import dotenv
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import SecretNotFoundError, SecretsFormatError
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.runner import DEFAULT_TIMEOUT, CommandRunner

DEFAULT_SECRETS_PATH = ".kamal/secrets"
VAULT_HEADER = b"$ANSIBLE_VAULT"

# Only the keys of .env are read, for hints; its values and commands are never evaluated.
_DOTENV_KEY = re.compile(r"^\s*(?:export\s+)?([\w.]+)\s*(?:=|:\s)", re.M | re.A)


def secrets_filenames(secrets_path=DEFAULT_SECRETS_PATH, destination=None):
    """The files Kamal considers, in reading order (later wins)."""
    secrets_path = secrets_path or DEFAULT_SECRETS_PATH
    main = "%s.%s" % (secrets_path, destination) if destination else secrets_path
    return ["%s-common" % secrets_path, main]


def configured_vault_secrets():
    """Vault secrets from Ansible's configuration (vault_identity_list, vault_password_file), if any."""
    from ansible import constants as C
    from ansible.cli import CLI
    from ansible.parsing.dataloader import DataLoader

    password_files = [C.DEFAULT_VAULT_PASSWORD_FILE] if C.DEFAULT_VAULT_PASSWORD_FILE else []
    return CLI.setup_vault_secrets(
        DataLoader(),
        vault_ids=list(C.DEFAULT_VAULT_IDENTITY_LIST or []),
        vault_password_files=password_files,
        ask_vault_pass=False,
        auto_prompt=False,
        initialize_context=False,
    )


class KamalSecrets:
    """The secrets of one project and destination, read lazily and once.

    `project_dir` is what relative paths are relative to (Kamal: the working directory). `environ` is the
    environment for `$VAR` fallbacks and for commands (default: os.environ). `vault_secrets` (a list of
    (vault_id, secret) as Ansible's loader holds them) or `decrypt` (a callable bytes, path -> bytes)
    decrypt vaulted files; without either, Ansible's configured vault password files are used.
    """

    def __init__(self, project_dir=None, secrets_path=DEFAULT_SECRETS_PATH, destination=None, environ=None,
                 timeout=DEFAULT_TIMEOUT, vault_secrets=None, decrypt=None):
        self.project_dir = os.path.abspath(project_dir or os.getcwd())
        self.secrets_path = secrets_path or DEFAULT_SECRETS_PATH
        self.destination = destination or None
        self.environ = dict(os.environ if environ is None else environ)
        self.timeout = timeout
        self.filenames = secrets_filenames(self.secrets_path, self.destination)
        self.warnings = []
        self._vault_secrets = vault_secrets
        self._decrypt = decrypt
        self._secrets = None

    def path(self, filename):
        return filename if os.path.isabs(filename) else os.path.join(self.project_dir, filename)

    @property
    def files(self):
        """The secrets files that exist, as Kamal names them in errors."""
        return [name for name in self.filenames if os.path.exists(self.path(name))]

    def to_dict(self):
        """Every secret, in file order: what `kamal secrets print` shows."""
        if self._secrets is None:
            runner = CommandRunner(environ=self.environ, cwd=self.project_dir, timeout=self.timeout)
            secrets = {}
            for name in self.files:
                path = self.path(name)
                if not os.path.isfile(path):
                    continue
                values, warnings = dotenv.parse(self._read(name, path), runner, self.environ, filename=name)
                secrets.update(values)
                self.warnings.extend(warnings)
            self._secrets = secrets
        return dict(self._secrets)

    def __contains__(self, name):
        return name in self.to_dict()

    def __getitem__(self, name):
        return self.require([name])[0]

    def get(self, name, default=None):
        return self.to_dict().get(name, default)

    def require(self, names):
        """Values of `names`, in order; raises SecretNotFoundError naming every missing one."""
        secrets = self.to_dict()
        missing = []
        for name in names:
            if name not in secrets and name not in missing:
                missing.append(name)
        if missing:
            raise SecretNotFoundError(self.missing_message(missing), names=missing, files=self.files)
        return [secrets[name] for name in names]

    def missing_message(self, names):
        quoted = ", ".join("'%s'" % name for name in names)
        subject = "Secret %s" % quoted if len(names) == 1 else "Secrets %s" % quoted
        files = self.files
        if files:
            message = "%s not found in %s" % (subject, ", ".join(files))
        else:
            message = "%s not found, no secret files (%s) provided" % (subject, ", ".join(self.filenames))
        hints = []
        dotenv_keys = self._dotenv_keys()
        target = self.filenames[-1]
        for name in names:
            if name in dotenv_keys:
                hints.append(
                    "'%s' is set in .env, which Kamal does not read (nor does kamal.deploy): move it into %s, "
                    "or add `%s=$%s` to %s and load .env into the environment first (`set -a; . ./.env; set +a`, "
                    "or `export %s=...`)" % (name, target, name, name, target, name)
                )
            elif name in self.environ:
                hints.append("'%s' is set in the environment, but secrets come only from secrets files: add `%s=$%s` to %s"
                             % (name, name, name, target))
        return "\n".join([message] + hints)

    def _dotenv_keys(self):
        path = os.path.join(self.project_dir, ".env")
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return set()
        return set(_DOTENV_KEY.findall(text))

    def _read(self, name, path):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SecretsFormatError("cannot read %s: %s" % (name, exc.strerror or exc)) from exc
        if data.startswith(VAULT_HEADER):
            data = self._decrypt_vault(name, path, data)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SecretsFormatError("%s is not valid UTF-8 (byte %d)" % (name, exc.start)) from exc

    def _decrypt_vault(self, name, path, data):
        if self._decrypt is not None:
            try:
                return self._decrypt(data, path)
            except Exception as exc:
                raise SecretsFormatError("%s is encrypted with Ansible Vault and could not be decrypted: %s" % (name, exc)) from exc

        from ansible.parsing.vault import VaultLib

        vault_secrets = self._vault_secrets
        if not vault_secrets:
            try:
                vault_secrets = configured_vault_secrets()
            except Exception as exc:
                raise SecretsFormatError("%s is encrypted with Ansible Vault and the configured vault password could not be read: %s"
                                         % (name, exc)) from exc
        if not vault_secrets:
            raise SecretsFormatError(
                "%s is encrypted with Ansible Vault but no vault password is available: run with --ask-vault-pass, "
                "--vault-password-file or --vault-id (or set ANSIBLE_VAULT_PASSWORD_FILE)" % name
            )
        try:
            return VaultLib(vault_secrets).decrypt(data)
        except Exception as exc:
            raise SecretsFormatError("%s is encrypted with Ansible Vault and could not be decrypted: %s" % (name, exc)) from exc


def load_secrets(project_dir=None, secrets_path=DEFAULT_SECRETS_PATH, destination=None, environ=None,
                 timeout=DEFAULT_TIMEOUT, vault_secrets=None, decrypt=None):
    """Every secret as a dict, read as `kamal secrets print [-d destination]` would."""
    return KamalSecrets(project_dir=project_dir, secrets_path=secrets_path, destination=destination, environ=environ,
                        timeout=timeout, vault_secrets=vault_secrets, decrypt=decrypt).to_dict()
