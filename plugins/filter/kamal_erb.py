# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: kamal_erb
author:
  - kamal.deploy developers (@kamal-deploy)
version_added: 0.1.0
short_description: Render a Kamal accessory file template (C(.erb)) with the accessory's env
description:
  - Kamal renders accessory C(files) whose name ends in C(erb) with the accessory's env loaded into C(ENV).
    This filter does the same for the tags such templates use, C(<%= ENV["NAME"] %>) and
    C(<%= ENV.fetch("NAME"[, "default"]) %>), and C(<%# comments %>).
  - Any other Ruby fails with the tag and the file named, rather than uploading a half-rendered file.
  - The accessory's env wins over the controller's environment, as in Kamal.
positional: env
options:
  _input:
    description: The template's text.
    type: str
    required: true
  env:
    description: The accessory's env (clear and secret values).
    type: dict
    required: true
  where:
    description: The file's name, for error messages.
    type: str
"""

EXAMPLES = r"""
- name: Render a MySQL configuration template for upload
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'config/mysql/production.cnf.erb') | kamal.deploy.kamal_erb({'MYSQL_PORT': '3306'}) }}"
"""

RETURN = r"""
_value:
  description: The rendered text.
  type: str
"""

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.kamal.deploy.plugins.plugin_utils import erb


def kamal_erb(text, env, where="template"):
    try:
        return erb.render(str(text), dict(os.environ, **{str(k): str(v) for k, v in (env or {}).items()}), where)
    except erb.ErbError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"kamal_erb": kamal_erb}
