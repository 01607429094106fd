# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_accessory: given an accessory ``name`` and the ``kamal`` variable of the kamal
inventory, the module's arguments come from the plan (plugin_utils/plan.py) for this host, with the
accessory's files read (and ``.erb`` ones rendered) here on the controller; arguments the task gives win.

The plan reads what the prepare role and the playbook set: kamal_secret_values, kamal_needs_secrets and
kamal_accessory_options (the command's own options). Without ``kamal`` the task's arguments go to the module
as they are. The result gets ``output``: what the command prints (plugin_utils/output.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.kamal.deploy.plugins.plugin_utils import output, plan

from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction, action_boundary


class ActionModule(PlannedAction):

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if "name" in args and task_vars.get("kamal"):
            planned = self._planned(args, task_vars)
            if "state" in args:  # the alias of command
                planned.pop("command")
            args = dict(planned, **args)
        result.update(self._execute_module(module_name="kamal.deploy.kamal_accessory", module_args=args,
                                           task_vars=task_vars))
        if not result.get("failed"):
            # What the role prints (None: nothing).
            result["output"] = output.accessory_output(args.get("command", args.get("state", "boot")), result)
        return result

    def _planned(self, args, task_vars):
        def var(name, default=None):
            return self.task_var(task_vars, name, default)

        command = args.get("command", args.get("state", "boot"))
        try:
            return plan.accessory_args(
                var("kamal"), args["name"], var("inventory_hostname"), command,
                secrets=var("kamal_secret_values", {}), needs_secrets=self.secrets_resolved(task_vars),
                options=var("kamal_accessory_options", {}))
        except plan.PlanError as e:
            raise AnsibleActionFail(str(e)) from None
