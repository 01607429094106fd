# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bitwarden through the `bw` CLI.

`--account` is the login email. Names are `item` (the login password, or every custom field when the item
has no password) or `item/field` (a custom field, key `item/field`). The session from `bw unlock --raw` is
passed as BW_SESSION, as Kamal does.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import blank, ruby_split, ruby_strip


class BitwardenAdapter(Adapter):
    name = "bitwarden"
    cli = "bw"
    label = "Bitwarden"

    def _bw(self, args, session=None):
        extra_env = {"BW_SESSION": session} if session else None
        result = self.run(["bw"] + args, extra_env=extra_env)
        return result, ruby_strip(result.stdout)

    def _status(self, session=None):
        _result, out = self._bw(["status"], session)
        status = self.parse_json(out, "bw status")
        return status.get("status") if isinstance(status, dict) else None

    def login(self, account):
        session = None
        status = self._status()
        if status == "unauthenticated":
            self._bw(["login", account])
            status = self._status()
        if status == "locked":
            _result, out = self._bw(["unlock", "--raw"])
            session = None if blank(out) else out
            status = self._status(session)
        if status != "unlocked":
            raise self.error("Failed to login to and unlock Bitwarden")
        result, _out = self._bw(["sync"], session)
        if not result.ok:
            raise self.error("Failed to sync Bitwarden")
        return session

    def fetch_secrets(self, secrets, from_, account, session):
        items = {}
        for secret in self.prefixed(secrets, from_):
            parts = ruby_split(secret, "/")
            item = parts[0] if parts else ""
            items.setdefault(item, []).append(parts[1] if len(parts) > 1 else None)

        results = {}
        for item, fields in items.items():
            result, out = self._bw(["get", "item", item], session)
            if not result.ok:
                raise self.error("Could not read %s from Bitwarden" % item)
            item_json = self.parse_json(out, "bw get item")
            if not isinstance(item_json, dict):
                raise self.error("Bitwarden: `bw get item %s` returned unexpected JSON" % item)
            login = item_json.get("login") if isinstance(item_json.get("login"), dict) else {}
            if any(field is not None for field in fields):
                results.update(self._from_fields(fields, item, item_json))
            elif login.get("password"):
                results[item] = login["password"]
            elif item_json.get("fields"):
                names = [field.get("name") for field in item_json["fields"]]
                results.update(self._from_fields(names, item, item_json))
            else:
                raise self.error("Item %s is not a login type item and no fields were specified" % item)
        return results

    def _from_fields(self, fields, item, item_json):
        values = {}
        item_fields = item_json.get("fields") or []
        for field in fields:
            found = next((f for f in item_fields if isinstance(f, dict) and f.get("name") == field), None)
            if found is None:
                raise self.error("Could not find field %s in item %s in Bitwarden" % ("" if field is None else field, item))
            values["%s/%s" % (item, "" if field is None else field)] = found.get("value")
        return values
