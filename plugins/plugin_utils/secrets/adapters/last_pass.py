# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LastPass through the `lpass` CLI; `--account` is the login email, names are item full names."""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import ruby_strip


class LastPassAdapter(Adapter):
    name = "lastpass"
    cli = "lpass"
    label = "LastPass"

    def login(self, account):
        status = self.run(["lpass", "status", "--color", "never"])
        if ruby_strip(status.stdout) == "Logged in as %s." % account:
            return None
        if not self.run(["lpass", "login", account]).ok:
            raise self.error("Failed to login to LastPass")
        return None

    def fetch_secrets(self, secrets, from_, account, session):
        secrets = self.prefixed(secrets, from_)
        result = self.run(["lpass", "show"] + secrets + ["--json"])
        if not result.ok:
            raise self.error("Could not read %s from LastPass" % ", ".join(secrets))
        items = self.parse_json(result.stdout, "lpass show")
        if not isinstance(items, list):
            raise self.error("LastPass: `lpass show` returned unexpected JSON")
        results = {}
        for item in items:
            if isinstance(item, dict):
                results[item.get("fullname")] = item.get("password")
        missing = [secret for secret in secrets if secret not in results]
        if missing:
            raise self.error("Could not find %s in LastPass" % ", ".join(missing))
        return results
