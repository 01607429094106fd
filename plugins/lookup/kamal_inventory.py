# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: kamal_inventory
author:
  - kamal.deploy developers (@kamal-deploy)
version_added: 0.1.0
short_description: A play's host pattern, checked against the kamal.deploy.kamal inventory before anything runs
description:
  - Returns the host pattern it is given, after checking on the controller that the kamal.deploy.kamal inventory was
    loaded and that the C(--limit) names a role, accessory group or host of it. Otherwise it fails the run, before
    any SSH connection, naming the fix.
  - Every playbook of this collection uses it in the C(hosts) of its first play, which Ansible templates before it
    selects hosts, so the check runs whatever C(--limit) is given. Without it, a deploy.yml read by Ansible's own
    C(yaml) plugin (no C(ansible.cfg) enabling ours) or a misspelt C(-l) matches no host and the run exits 0 having
    done nothing.
options:
  _terms:
    description: The host pattern of the play, made of the kamal inventory's group names (C(kamal_app_hosts), ...).
    type: list
    elements: str
    required: true
  playbook_hosts:
    description:
      - The hosts of every play of the playbook, when later plays run on others (C(remove) also acts on accessory
        hosts); the C(--limit) must leave one of them. By default the pattern itself.
    type: str
notes:
  - A playbook imported by another one that already checked (C(setup) imports C(deploy)) sets
    C(kamal_inventory_checked=true) in the import's C(vars), so the limit is not held against the imported play alone.
"""

EXAMPLES = r"""
- name: Kamal deploy
  hosts: "{{ lookup('kamal.deploy.kamal_inventory', 'kamal_app_hosts') }}"
  gather_facts: false
  tasks: []
"""

RETURN = r"""
_raw:
  description: The host pattern, unchanged.
  type: list
  elements: str
"""

from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.kamal.deploy.plugins.plugin_utils.inventory_check import check_inventory


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        pattern = ":".join(str(term) for term in terms)
        if context.CLIARGS.get("syntax"):  # --syntax-check (ansible-lint runs it) reads the playbook, with no inventory
            return [pattern]
        variables = variables or {}
        limit = None if variables.get("kamal_inventory_checked") else variables.get("ansible_limit")
        problem = check_inventory(self.get_option("playbook_hosts") or pattern, variables.get("groups") or {}, limit,
                                  variables.get("ansible_config_file"), variables.get("ansible_inventory_sources"))
        if problem:
            raise AnsibleError(problem)
        return [pattern]
