# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller.

DOCUMENTATION = r"""
module: kamal_prepare
short_description: Resolve a Kamal command for this run, from the command table, on the controller
version_added: 0.1.0
description:
  - Looks the command up in the collection's command table (whether it takes the deploy lock, where it acts, whether it
    needs secrets or a version, whether it builds, the hooks around it, the user options it takes) and resolves it with
    the kamal inventory's C(kamal) variable and this run, in one task.
  - Returns this run's identity (run id, the ansible-playbook process, Kamal's performer), the version, the secret values
    the config refers to (only for commands that boot something; a missing one fails here, naming all of them), the hooks
    present, the lock's host, the roles or accessories to act on per host, the boot groups, and the build's and the
    proxy's arguments.
  - The user options are read from the play's variables by their names (C(-e version=V), C(-e lines=50)...); the result
    is meant to be registered as C(kamal_plan_run), a name no user option shares.
  - The result is never displayed, since it holds secret values.
author: kamal.deploy developers (@kamal-deploy)
options:
  command:
    description: The command, as in the table (C(deploy), C(app logs), C(accessory boot), C(proxy reboot)...); default the
      play's C(kamal_command) variable.
    type: str
extends_documentation_fragment:
  - kamal.deploy.controller_action
"""

EXAMPLES = r"""
- name: Resolve the command
  kamal.deploy.kamal_prepare:
    command: app logs
  register: kamal_plan_run
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
command:
  description: The command resolved.
  returned: always
  type: str
locked:
  description: Whether the command runs under the deploy lock.
  returned: always
  type: bool
version:
  description: The version booted (C(-e version), else the config's, except for commands that boot the latest tag).
  returned: always
  type: str
run_id:
  description: A new UUID for this run.
  returned: always
  type: str
hosts:
  description: Per host, the roles (or accessories) the command acts on.
  returned: always
  type: dict
"""
