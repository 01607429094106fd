# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""1Password through the `op` CLI.

Names are `op://Vault/Item/field` or `Vault/Item/field` (`--from Vault/Item` + `field`); the field defaults to
`password`. Without names, every field of the `--from` item is returned. Keys are the field references
without `op://` and without a trailing `/password`.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import blank, ruby_split, ruby_strip


def _strip_op(value):
    return value[len("op://"):] if value.startswith("op://") else value


class OnePasswordAdapter(Adapter):
    name = "1password"
    cli = "op"
    label = "1Password"

    def login(self, account):
        if self.run(["op", "account", "get", "--account", account], quiet=True).ok:
            return None
        result = self.run(["op", "signin", "--account", account, "--force", "--raw"])
        if not result.ok:
            raise self.error("Failed to login to 1Password")
        return ruby_strip(result.stdout)

    def fetch_secrets(self, secrets, from_, account, session):
        if not secrets:
            return self._fetch_all(from_, account, session)
        return self._fetch_named(self.prefixed(secrets, from_), account, session)

    def _fetch_named(self, secrets, account, session):
        vaults = {}
        for secret in secrets:
            parts = ruby_split(_strip_op(secret), "/")
            vault = parts[0] if parts else None
            item = parts[1] if len(parts) > 1 else None
            fields = parts[2:] or ["password"]
            vaults.setdefault(vault, {}).setdefault(item, []).append(".".join(fields))

        results = {}
        for vault, items in vaults.items():
            for item, fields in items.items():
                fields_json = self.parse_json(self._item_get(vault, item, account, session, fields), "op item get")
                if len(fields) == 1:
                    fields_json = [fields_json]
                results.update(self._fields_map(fields_json))
        return results

    def _fetch_all(self, from_, account, session):
        if blank(from_):
            raise self.error("1Password: give the secrets to fetch, or --from Vault/Item to fetch every field of an item")
        parts = ruby_split(_strip_op(from_), "/")
        vault = parts[0] if parts else None
        item = parts[1] if len(parts) > 1 else None
        if vault is None or item is None:
            raise self.error("1Password: --from must be Vault/Item")
        item_json = self.parse_json(self._item_get(vault, item, account, session), "op item get")
        if not isinstance(item_json, dict) or "fields" not in item_json:
            raise self.error("1Password: `op item get %s` returned no fields" % item)
        return self._fields_map(item_json["fields"])

    def _item_get(self, vault, item, account, session, fields=None):
        if vault is None or item is None:
            raise self.error("1Password: secret names must be Vault/Item[/field] or op://Vault/Item[/field]")
        argv = ["op", "item", "get", item, "--vault", vault, "--format", "json", "--account", account]
        if not blank(session):
            argv += ["--session", session]
        if fields:
            argv += ["--fields", ",".join("label=%s" % field for field in fields)]
        result = self.run(argv)
        if not result.ok:
            which = "%s " % ", ".join(fields) if fields else ""
            raise self.error("Could not read %sfrom %s in the %s 1Password vault" % (which, item, vault))
        return result.stdout

    def _fields_map(self, fields_json):
        results = {}
        if not isinstance(fields_json, list):
            raise self.error("1Password: `op item get` returned unexpected JSON")
        for field_json in fields_json:
            if not isinstance(field_json, dict):
                raise self.error("1Password: `op item get` returned unexpected JSON")
            reference = _strip_op(field_json.get("reference") or "")
            if reference.endswith("/password"):
                reference = reference[: -len("/password")]
            results[reference] = field_json.get("value")
        return results
