# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: kamal_rollback_version
author:
  - kamal.deploy developers (@kamal-deploy)
version_added: 0.1.0
short_description: The version a rollback without one goes back to
description:
  - The newest version present as a container on every targeted host and role, other than a version running now
    (the versions come from C(kamal.deploy.kamal_app) with C(command=versions), newest container first).
  - Fails, listing what each host has, when there is none.
options:
  _input:
    description: Host name to the C(results) of its C(kamal_app versions) loop (one per role).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Choose the version to roll back to
  ansible.builtin.set_fact:
    version: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['kamal_present', 'results'])))
         | kamal.deploy.kamal_rollback_version }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The version.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.kamal.deploy.plugins.plugin_utils import rollback


def kamal_rollback_version(present):
    try:
        return rollback.choose_version(dict(present or {}))
    except rollback.RollbackError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"kamal_rollback_version": kamal_rollback_version}
