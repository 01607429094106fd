# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's `test` adapter: no vault, each value is its name reversed (LPAREN/RPAREN become parentheses)."""
from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.adapters.base import Adapter


class KamalTestAdapter(Adapter):
    name = "test"
    label = "Test"

    def fetch_secrets(self, secrets, from_, account, session):
        return {
            secret: secret.replace("LPAREN", "(").replace("RPAREN", ")")[::-1]
            for secret in self.prefixed(secrets, from_)
        }
