# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Secret Manager through the `gcloud` CLI.

`--account` is `USER` or `USER|SERVICE_ACCOUNT[,DELEGATE...]` (USER may be `default`). Names are
`[project/]name[/version]`; the project defaults to `default` (gcloud's configured one) and the version to
`latest`. Keys are `project/name`.
"""
from __future__ import annotations

import base64
import binascii
import json

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import ruby_split, ruby_strip


def _decode64(data):
    # Ruby's Base64.decode64 is lenient: it skips characters outside the alphabet and missing padding
    cleaned = "".join(ch for ch in str(data or "") if ch.isalnum() and ch.isascii() or ch in "+/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        raw = b""
    return raw.decode("utf-8", errors="replace")


class GcpSecretManagerAdapter(Adapter):
    name = "gcp"
    cli = "gcloud"
    label = "gcloud"

    def _logged_in(self):
        result = self.run(["gcloud", "auth", "list", "--format=json"])
        try:
            return bool(json.loads(result.stdout))
        except ValueError:
            return False

    def login(self, account):
        if not self._logged_in():
            self.run(["gcloud", "auth", "login"])
            if not self._logged_in():
                raise self.error("could not login to gcloud")
        return None

    def fetch_secrets(self, secrets, from_, account, session):
        user, _sep, service_account = account.partition("|")
        if not _sep:
            service_account = None

        wanted = {}
        for secret in self.prefixed(secrets, from_):
            parts = ruby_split(secret, "/")
            if len(parts) == 1:
                parts.insert(0, "default")
            project = parts[0] if parts else ""
            secret_name = parts[1] if len(parts) > 1 else ""
            version = parts[2] if len(parts) > 2 else "latest"
            wanted[secret] = (project, secret_name, version)

        results = {}
        for project, secret_name, version in wanted.values():
            item_name = "%s/%s" % (project, secret_name)
            argv = ["gcloud", "secrets", "versions", "access", version, "--secret=%s" % secret_name]
            if project != "default":
                argv.append("--project=%s" % project)
            if user != "default":
                argv.append("--account=%s" % user)
            if service_account is not None:
                argv.append("--impersonate-service-account=%s" % service_account)
            argv.append("--format=json")
            result = self.run(argv)
            if not result.ok:
                raise self.error("Could not read %s from Google Secret Manager" % item_name)
            payload = self.parse_json(ruby_strip(result.stdout), "gcloud secrets versions access")
            data = payload.get("payload", {}).get("data") if isinstance(payload, dict) and isinstance(payload.get("payload"), dict) else None
            if data is None:
                raise self.error("Could not read %s from Google Secret Manager: no payload.data in gcloud's JSON" % item_name)
            results[item_name] = _decode64(data)
        return results
