# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Passbolt through the `passbolt` CLI (go-passbolt-cli).

Names are `name` or `folder/.../name` (or `--from folder` + `name`). Folders are resolved level by level
with `passbolt list folders`, then one `passbolt list resources` call fetches every password. Keys are the
bare resource names. The `--filter` expressions quote names the way Kamal does (shell-escaped, then
Ruby-inspected), so the CLI sees exactly the filter Kamal would send.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import inspect, ruby_split, shellescape


def _quote(value):
    return inspect(shellescape("" if value is None else str(value)))


def _folder_path(folder, folders):
    path = []
    seen = set()
    while True:
        path.insert(0, str(folder.get("name")))
        parent_id = folder.get("folder_parent_id")
        if parent_id is None or str(parent_id) == "" or id(folder) in seen:
            break
        seen.add(id(folder))
        parent = next((f for f in folders if f.get("id") == parent_id), None)
        if parent is None:
            break
        folder = parent
    return "/".join(path)


class PassboltAdapter(Adapter):
    name = "passbolt"
    cli = "passbolt"
    label = "Passbolt"
    requires_account = False

    def login(self, account):
        if not self.run(["passbolt", "verify"]).ok:
            raise self.error("Failed to login to Passbolt")

    def fetch_secrets(self, secrets, from_, account, session):
        secrets = self.prefixed(secrets, from_)
        if not secrets:
            raise self.error("No secrets given to fetch")
        secret_names = [(ruby_split(secret, "/") or [""])[-1] for secret in secrets]
        folders = self._folders(secrets)

        conditions = []
        for secret in secrets:
            parts = ruby_split(secret, "/") or [""]
            secret_name = parts[-1]
            if len(parts) > 1:
                current = None
                current_path = []
                for folder_name in parts[:-1]:
                    current_path.append(folder_name)
                    wanted = "/".join(current_path)
                    matching = [folder for folder in folders if _folder_path(folder, folders) == wanted]
                    if matching:
                        current = matching[0]
                if current is not None:
                    conditions.append("(Name == %s && FolderParentID == %s)" % (_quote(secret_name), _quote(current.get("id"))))
            else:
                conditions.append("Name == %s" % _quote(secret_name))

        argv = ["passbolt", "list", "resources"]
        if conditions:
            argv += ["--filter", " || ".join(conditions)]
        for folder in folders:
            argv += ["--folder", "" if folder.get("id") is None else str(folder.get("id"))]
        argv += ["--column", "name", "--column", "password", "--json"]
        result = self.run(argv)
        if not result.ok:
            raise self.error("Could not read %s from Passbolt" % ", ".join(secrets))
        items = self._list(result.stdout, "passbolt list resources")
        found = [item.get("name") for item in items]
        missing = [name for name in secret_names if name not in found]
        if missing:
            raise self.error("Could not find the following secrets in Passbolt: %s" % ", ".join(missing))
        return {item.get("name"): item.get("password") for item in items}

    def _list(self, text, what):
        items = self.parse_json(text, what)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self.error("Passbolt: `%s` returned unexpected JSON" % what)
        return items

    def _folders(self, secrets):
        folder_paths = []
        for secret in secrets:
            if "/" in secret:
                path = ruby_split(secret, "/")[:-1]
                if path and path not in folder_paths:
                    folder_paths.append(path)
        if not folder_paths:
            return []

        parents = []
        for path in folder_paths:
            if path[0] not in parents:
                parents.append(path[0])
        result = self.run(["passbolt", "list", "folders", "--filter", " || ".join("Name == %s" % _quote(name) for name in parents), "--json"])
        if not result.ok:
            raise self.error("Could not read folders from Passbolt")
        parent_items = self._list(result.stdout, "passbolt list folders")
        folders = list(parent_items)

        for path in folder_paths:
            if len(path) <= 1:
                continue
            current = next((folder for folder in parent_items if folder.get("name") == path[0]), None)
            if current is None:
                continue
            for folder_name in path[1:]:
                condition = "Name == %s && FolderParentID == %s" % (_quote(folder_name), _quote(current.get("id")))
                nested = self.run(["passbolt", "list", "folders", "--filter", condition, "--json"])
                if not nested.ok:
                    continue
                nested_items = self._list(nested.stdout, "passbolt list folders")
                if not nested_items:
                    break
                folders.extend(nested_items)
                current = nested_items[0]

        found = [_folder_path(folder, folders) for folder in folders]
        missing = ["/".join(path) for path in folder_paths if "/".join(path) not in found]
        if missing:
            raise self.error("Could not find the following folders in Passbolt: %s" % ", ".join(missing))
        return folders
