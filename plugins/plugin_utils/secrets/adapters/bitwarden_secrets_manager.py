# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bitwarden Secrets Manager through the `bws` CLI (access token in BWS_ACCESS_TOKEN).

Names are secret UUIDs, `all`, or `<project>/all`; result keys are the secrets' `key`s.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter


class BitwardenSecretsManagerAdapter(Adapter):
    name = "bitwarden-sm"
    cli = "bws"
    label = "Bitwarden Secrets Manager"
    requires_account = False

    def login(self, account):
        if not self.run(["bws", "project", "list"]).ok:
            raise self.error("Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?")

    def fetch_secrets(self, secrets, from_, account, session):
        if not secrets:
            raise self.error("You must specify what to retrieve from Bitwarden Secrets Manager")
        secrets = self.prefixed(secrets, from_)
        list_argv = self._list_command(secrets)

        results = {}
        if list_argv is None:
            for uuid in secrets:
                result = self.run(["bws", "secret", "get", uuid])
                if not result.ok:
                    raise self.error("Could not read %s from Bitwarden Secrets Manager" % uuid)
                item = self.parse_json(result.stdout, "bws secret get")
                self._store(results, [item])
        else:
            result = self.run(list_argv)
            if not result.ok:
                raise self.error("Could not read secrets from Bitwarden Secrets Manager")
            self._store(results, self.parse_json(result.stdout, "bws secret list"))
        return results

    @staticmethod
    def _list_command(secrets):
        if len(secrets) != 1:
            return None
        if secrets[0] == "all":
            return ["bws", "secret", "list"]
        if secrets[0].endswith("/all"):
            return ["bws", "secret", "list", secrets[0].split("/all")[0]]
        return None

    def _store(self, results, items):
        if not isinstance(items, list):
            raise self.error("Bitwarden Secrets Manager: `bws` returned unexpected JSON")
        for item in items:
            if not isinstance(item, dict):
                raise self.error("Bitwarden Secrets Manager: `bws` returned unexpected JSON")
            results[item.get("key")] = item.get("value")
