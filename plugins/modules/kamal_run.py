# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller.

DOCUMENTATION = r"""
module: kamal_run
short_description: This run's identity on the controller, for the deploy lock and the audit log
version_added: 0.1.0
description:
  - Returns a new run id (a UUID), the pid of the ansible-playbook process and Kamal's performer (C(git config user.email)
    in O(project_dir), else the name of the user running Ansible).
  - Computed in Python on the controller, with no shell, so the controller may be any POSIX system.
  - The prepare role runs it once per run; the lock uses the run id and the pid to tell a live owner from a dead one.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.container.controller
options:
  project_dir:
    description: The app's root, where C(git config user.email) is read.
    type: path
    required: true
attributes:
  check_mode:
    description: Returns the same in check mode; it changes nothing either way.
    support: full
"""

EXAMPLES = r"""
- name: This run's identity
  kamal.deploy.kamal_run:
    project_dir: "{{ kamal.project_dir }}"
  register: kamal_run
  run_once: true
"""

RETURN = r"""
run_id:
  description: A new UUID for this run.
  returned: always
  type: str
controller_pid:
  description: The pid of the ansible-playbook process.
  returned: always
  type: int
performer:
  description: Kamal's performer, git's user.email, else the local user name.
  returned: always
  type: str
"""
