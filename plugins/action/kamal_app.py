# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_app: given a ``role`` and the ``kamal`` variable of the kamal inventory, the
module's arguments come from the plan (plugin_utils/plan.py) for this host; arguments the task gives win.

The plan reads what the prepare role and the playbook set: kamal_version, kamal_secret_values,
kamal_needs_secrets, kamal_performer, kamal_skip_prune and kamal_app_options (the command's own options).
Without ``kamal`` (an ad hoc call, another inventory) the task's arguments go to the module as they are.
The result gets ``output``: what the command prints (plugin_utils/output.py)."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils import output, plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction


class ActionModule(PlannedAction):
    MODULE = "kamal.deploy.kamal_app"
    SUBJECT = "role"

    def planned_args(self, args, task_vars):
        def var(name, default=None):
            return self.task_var(task_vars, name, default)

        return plan.app_args(
            var("kamal"), args["role"], var("inventory_hostname"), self.command_of(args),
            version=var("kamal_version"), secrets=var("kamal_secret_values", {}),
            needs_secrets=self.secrets_resolved(task_vars), performer=var("kamal_performer"),
            skip_prune=bool(var("kamal_skip_prune", False)), options=var("kamal_app_options", {}))

    def output(self, command, result):
        return output.app_output(command, result)
