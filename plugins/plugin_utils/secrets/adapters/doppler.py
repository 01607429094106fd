# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Doppler through the `doppler` CLI.

Names are `project/config/NAME` (usually `--from project/config` + `NAME`); with a service token
(DOPPLER_TOKEN starting with `dp.st`) project and config come from the token. Keys are the bare names.
"""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import ruby_split


class DopplerAdapter(Adapter):
    name = "doppler"
    cli = "doppler"
    label = "Doppler"
    requires_account = False

    def login(self, account):
        if self.run(["doppler", "me", "--json"], quiet=True).ok:
            return None
        if not self.run(["doppler", "login", "-y"]).ok:
            raise self.error("Failed to login to Doppler")
        return None

    def fetch_secrets(self, secrets, from_, account, session):
        secrets = self.prefixed(secrets, from_)
        names = [(ruby_split(secret, "/") or [""])[-1] for secret in secrets]
        argv = ["doppler", "secrets", "get"] + names + ["--json"] + self._project_flags(secrets)
        result = self.run(argv)
        if not result.ok:
            raise self.error("Could not read %s from Doppler" % ", ".join(secrets))
        items = self.parse_json(result.stdout, "doppler secrets get")
        if not isinstance(items, dict):
            raise self.error("Doppler: `doppler secrets get` returned unexpected JSON")
        return {key: (value.get("computed") if isinstance(value, dict) else None) for key, value in items.items()}

    def _project_flags(self, secrets):
        token = self.runner.environ.get("DOPPLER_TOKEN")
        if token and token.startswith("dp.st"):
            return []
        parts = ruby_split(secrets[0], "/") if secrets else []
        if len(parts) < 2:
            raise self.error("Missing project or config from '--from=project/config' option")
        return ["-p", parts[0], "-c", parts[1]]
