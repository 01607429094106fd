# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Secrets Manager through the `aws` CLI; `--account` is the AWS profile.

A secret whose SecretString is a JSON object expands to `name/key` entries (non-string values as JSON);
any other SecretString is returned under the secret's name (Kamal 2.12 behaviour).
"""
from __future__ import annotations

import json

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter, _reject_constant


def _stringify(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class AwsSecretsManagerAdapter(Adapter):
    name = "aws_secrets_manager"
    cli = "aws"
    label = "AWS"
    requires_account = False

    def fetch_secrets(self, secrets, from_, account, session):
        results = {}
        for secret in self._batch_get(self.prefixed(secrets, from_), account):
            if not isinstance(secret, dict):
                raise self.error("AWS Secrets Manager returned unexpected JSON")
            name = secret.get("Name")
            raw = secret.get("SecretString")
            if raw is None:
                raise self.error("AWS Secrets Manager secret %s has no SecretString (binary secrets are not supported)" % name)
            try:
                parsed = json.loads(raw, parse_constant=_reject_constant)
            except ValueError:
                results[name] = raw
                continue
            if isinstance(parsed, dict):
                for key, value in parsed.items():
                    results["%s/%s" % (name, key)] = _stringify(value)
            else:
                results[name] = _stringify(parsed)
        return results

    def _batch_get(self, secrets, account):
        argv = ["aws", "secretsmanager", "batch-get-secret-value", "--secret-id-list"] + secrets
        if account is not None:
            argv += ["--profile", account]
        argv += ["--output", "json"]
        result = self.run(argv)
        if not result.ok:
            raise self.error("Could not read %s from AWS Secrets Manager" % ", ".join(secrets))
        response = self.parse_json(result.stdout, "aws secretsmanager batch-get-secret-value")
        if not isinstance(response, dict):
            raise self.error("AWS Secrets Manager returned unexpected JSON")
        errors = response.get("Errors")
        if errors:
            raise self.error(" ".join("%s: %s" % (error.get("SecretId"), error.get("Message")) for error in errors))
        return response.get("SecretValues") or []
