# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller.

DOCUMENTATION = r"""
module: kamal_fleet
short_description: Print what each host runs after a deploy or rollback that failed somewhere
version_added: 0.1.0
description:
  - Runs on the controller, once. For each host of O(hosts) and each of its roles (the resolved command's, C(kamal_plan_run)) it prints
    the version serving now and what happened, from the last M(kamal.deploy.kamal_app) result the host registered
    (C(kamal_app_primary) and C(kamal_app_others), kept when the boot failed). The roles before that result's role
    booted, the ones after it were not reached; a host without a result was not reached and serves what it served
    before.
  - A failed boot says whether the host is still on the previous version or the role is not running there
    (C(serving_version) of M(kamal.deploy.kamal_app)).
  - Asks no server anything (no connection). The deploy and rollback playbooks run it in the C(always) of their
    locked block, only when a host failed.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.controller_action
options:
  command:
    description: The command that ran, for the table's title (C(deploy), C(rollback)).
    type: str
    default: deploy
  version:
    description: The version the run booted.
    type: str
    required: true
  hosts:
    description: The play's hosts, in the order to print them (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    description: Prints the same table in check mode; it changes nothing either way.
    support: full
"""

EXAMPLES = r"""
- name: Show what each host runs now
  kamal.deploy.kamal_fleet:
    command: deploy
    version: "{{ kamal_version }}"
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
  when: ansible_play_hosts | length < ansible_play_hosts_all | length
"""

RETURN = r"""
rows:
  description: One per host and role.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host.
      type: str
    role:
      description: The role.
      type: str
    state:
      description: C(booted), C(failed) or C(not reached).
      type: str
    serving_version:
      description: The version running now (null when the role is not running there, or not known).
      type: str
    serving_known:
      description: Whether O(version) is known; a host not reached serves what it served before.
      type: bool
    detail:
      description: The first line of the failure, for a failed row.
      type: str
msg:
  description: The table, as printed.
  returned: always
  type: str
"""
