# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every `kamal secrets fetch` adapter shares: account check, CLI check, login, fetch."""
from __future__ import annotations

import json

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import SecretsAdapterError
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.rubyisms import blank
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.runner import CliNotFound


class Adapter:
    """One vault backend. Subclasses set the class attributes and implement `login` and `fetch_secrets`."""

    #: the name given to `--adapter`
    name = ""
    #: the vendor CLI executable, or None when the adapter needs none
    cli = None
    #: how Kamal names the CLI in its "<label> CLI is not installed" error
    label = ""
    #: arguments that prove the CLI works (Kamal runs `<cli> --version 2> /dev/null`)
    version_args = ("--version",)
    requires_account = True

    def __init__(self, runner):
        self.runner = runner

    def fetch(self, secrets, account=None, from_=None):
        """Return {name: value} for the requested secrets, as `kamal secrets fetch` prints them."""
        if self.requires_account and blank(account):
            raise SecretsAdapterError("No value provided for required options '--account' (adapter %s)" % self.name)
        self.check_dependencies()
        try:
            session = self.login(account)
            return self.fetch_secrets(list(secrets), from_=from_, account=account, session=session)
        except CliNotFound as exc:
            raise self.not_installed() from exc

    def check_dependencies(self):
        if self.cli is None:
            return
        try:
            result = self.runner.run([self.cli] + list(self.version_args), quiet=True)
        except CliNotFound as exc:
            raise self.not_installed() from exc
        if not result.ok:
            raise self.not_installed()

    def not_installed(self):
        return SecretsAdapterError(
            "%s CLI is not installed: `%s` was not found on PATH or `%s %s` failed (needed by `kamal secrets fetch --adapter %s`)"
            % (self.label, self.cli, self.cli, " ".join(self.version_args), self.name)
        )

    def login(self, account):
        return None

    def fetch_secrets(self, secrets, from_, account, session):
        raise NotImplementedError

    # helpers

    def run(self, argv, quiet=False, extra_env=None):
        return self.runner.run(argv, quiet=quiet, extra_env=extra_env)

    @staticmethod
    def prefixed(secrets, from_):
        return ["%s/%s" % (from_, secret) if from_ is not None else secret for secret in secrets]

    def parse_json(self, text, what):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise SecretsAdapterError("%s: `%s` did not print valid JSON (%s)" % (self.label, what, exc.msg if hasattr(exc, "msg") else exc)) from exc

    def error(self, message):
        return SecretsAdapterError(message)


def _reject_constant(name):
    # Ruby's JSON parser rejects NaN/Infinity; so do we
    raise ValueError("invalid JSON constant %s" % name)
