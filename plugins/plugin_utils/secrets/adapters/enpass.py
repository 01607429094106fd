# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Enpass through `enpass-cli`; `--from` is the vault path (no account).

Names are `Title` (every password of the item, keyed `Title/label`) or `Title/label`.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import blank, ruby_strip


class EnpassAdapter(Adapter):
    name = "enpass"
    cli = "enpass-cli"
    label = "Enpass"
    version_args = ("version",)
    requires_account = False

    def fetch_secrets(self, secrets, from_, account, session):
        if blank(from_):
            raise self.error("Enpass: --from must give the vault path")
        titles = []
        for secret in secrets:
            head, _sep, tail = secret.rpartition("/")
            title = tail if head == "" else head
            if title not in titles:
                titles.append(title)
        result = self.run(["enpass-cli", "-json", "-vault", from_, "show"] + titles)
        items = self.parse_json(ruby_strip(result.stdout), "enpass-cli show")
        if not isinstance(items, list):
            raise self.error("Enpass: `enpass-cli show` returned unexpected JSON")

        results = {}
        for item in items:
            if not isinstance(item, dict):
                continue
            title, label, password = item.get("title"), item.get("label"), item.get("password")
            if title and not blank(password):
                key = "/".join(part for part in (title, label) if part)
                if title in secrets or key in secrets:
                    if key in results:
                        raise self.error("%s is present more than once" % key)
                    results[key] = password
        return results
