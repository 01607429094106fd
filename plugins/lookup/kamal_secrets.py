# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: kamal_secrets
author:
  - kamal.deploy developers (@kamal-deploy)
version_added: 0.1.0
short_description: Read secrets from Kamal's C(.kamal/secrets) files
description:
  - Reads the secrets files of a Kamal 2 project exactly as C(kamal secrets print) does, on the controller.
  - Reads C(<secrets_path>-common), then C(<secrets_path>), or C(<secrets_path>.<destination>) when O(destination)
    is set (the plain file is then not read). Missing files are skipped; later files win.
  - >-
    Each file uses Kamal's dotenv format (dotenv 3.2) - C(export), C(KEY=value) and C(KEY: value), comments,
    literal single quotes, double quotes with substitution (C(\n) stays a backslash and an C(n)), C($VAR) and C(${VAR})
    from keys defined earlier in the same file then from the environment, C(\$) escapes, and command substitution
    (C($) and a command in parentheses) run on the controller through C(/bin/sh) with a timeout.
  - C(kamal secrets fetch) and C(kamal secrets extract) in a command substitution run in-process, without Kamal installed,
    calling the same vendor CLIs as Kamal (C(op), C(bw), C(bws), C(aws), C(lpass), C(doppler), C(gcloud),
    C(passbolt), C(enpass-cli)).
  - A secrets file encrypted with Ansible Vault is decrypted with the play's vault secrets (Kamal cannot do this).
  - C(.env) is not read, as in Kamal; when a missing secret is set there, the error says how to load it.
  - Returned values are never templated, and this plugin never displays them. Use them in tasks with C(no_log=true).
  - Every call reads the files and runs their commands again; read the secrets once (for example with
    M(ansible.builtin.set_fact) and C(no_log=true)) when a file calls a vault.
options:
  _terms:
    description:
      - Names of the secrets to return.
      - Without any name, the lookup returns one dictionary of every secret.
    type: list
    elements: str
    required: false
  destination:
    description:
      - Kamal destination (C(kamal -d)); selects C(<secrets_path>.<destination>) instead of C(<secrets_path>).
    type: str
  secrets_path:
    description:
      - Path of the secrets file without the C(-common) or C(.<destination>) suffix, as the C(secrets_path) key of
        C(config/deploy.yml).
      - A relative path is relative to O(project_dir).
    type: str
    default: .kamal/secrets
  project_dir:
    description:
      - The Kamal project root (the directory holding C(config/deploy.yml) and C(.kamal/)); commands run there.
      - When not set, the current working directory is used, as Kamal does; if it holds neither C(config/deploy.yml)
        nor a secrets file but the playbook directory does, the playbook directory is used.
    type: path
  timeout:
    description:
      - Seconds each command substitution or vendor CLI call may take.
    type: int
    default: 300
notes:
  - Errors are raised as lookup errors and name the files read and every missing secret, never a value.
  - Commands inherit the controller environment, stdin and stderr, so a vendor CLI can prompt for a password.
seealso:
  - name: Kamal secrets
    description: Kamal's documentation of C(.kamal/secrets) and C(kamal secrets).
    link: https://kamal-deploy.org/docs/commands/secrets/
"""

EXAMPLES = r"""
- name: Read the registry password
  ansible.builtin.set_fact:
    registry_password: "{{ lookup('kamal.deploy.kamal_secrets', 'KAMAL_REGISTRY_PASSWORD') }}"
  no_log: true

- name: Read several secrets of the staging destination as a list
  ansible.builtin.set_fact:
    db_secrets: "{{ query('kamal.deploy.kamal_secrets', 'DB_USER', 'DB_PASSWORD', destination='staging') }}"
  no_log: true

- name: Read every secret once, as a dictionary
  ansible.builtin.set_fact:
    kamal_secrets: "{{ lookup('kamal.deploy.kamal_secrets', project_dir=playbook_dir ~ '/..') }}"
  no_log: true

- name: Use a custom secrets_path from deploy.yml
  ansible.builtin.set_fact:
    api_key: "{{ lookup('kamal.deploy.kamal_secrets', 'API_KEY', secrets_path='config/secrets') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - With names, one string per name, in the order given.
    - Without a name, a single dictionary of every secret (secret name to value).
  type: list
  elements: raw
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import KamalSecrets, KamalSecretsError, secrets_filenames


def _looks_like_project(directory, filenames):
    if not directory or not os.path.isdir(directory):
        return False
    if os.path.isfile(os.path.join(directory, "config", "deploy.yml")):
        return True
    return any(os.path.exists(name if os.path.isabs(name) else os.path.join(directory, name)) for name in filenames)


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        destination = self.get_option("destination") or None
        secrets_path = self.get_option("secrets_path") or ".kamal/secrets"

        names = []
        for term in terms or []:
            if not isinstance(term, str) or not term:
                raise AnsibleLookupError("kamal_secrets: secret names must be non-empty strings")
            names.append(term)

        secrets = KamalSecrets(
            project_dir=self._project_dir(secrets_path, destination),
            secrets_path=secrets_path,
            destination=destination,
            environ=dict(os.environ),
            timeout=self.get_option("timeout"),
            vault_secrets=self._vault_secrets(),
        )
        try:
            if names:
                result = secrets.require(names)
            else:
                result = [secrets.to_dict()]
        except KamalSecretsError as exc:
            raise AnsibleLookupError("kamal_secrets: %s" % exc) from None

        for warning in secrets.warnings:
            self._display.warning("kamal_secrets: %s" % warning)
        return wrap_var(result)

    def _project_dir(self, secrets_path, destination):
        explicit = self.get_option("project_dir")
        if explicit:
            return explicit
        cwd = os.getcwd()
        filenames = secrets_filenames(secrets_path, destination)
        if _looks_like_project(cwd, filenames):
            return cwd
        basedir = self._loader.get_basedir() if self._loader is not None else None
        if basedir and _looks_like_project(basedir, filenames):
            return basedir
        return cwd

    def _vault_secrets(self):
        vault = getattr(self._loader, "_vault", None)
        return getattr(vault, "secrets", None) or None
