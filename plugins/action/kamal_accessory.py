# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_accessory: given an accessory ``name`` and the ``kamal`` variable of the kamal
inventory, the module's arguments come from the plan (plugin_utils/plan.py) for this host, with the
accessory's files read (and ``.erb`` ones rendered) here on the controller; arguments the task gives win.

The plan reads the command the command role resolved (``kamal_plan_run``): the command, the secret values and
the command's own options. Without ``kamal`` the task's arguments go to the module
as they are. The result gets ``output``: what the command prints (plugin_utils/output.py)."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils import output, plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction


class ActionModule(PlannedAction):
    MODULE = "kamal.deploy.kamal_accessory"
    SUBJECT = "name"
    PROGRESS_COMMANDS = ("boot", "reboot")

    def command_of(self, args):
        # state: the module's alias of command
        return args.get("command", args.get("state", self.resolved.get("action", "boot")))

    def planned_args(self, args, task_vars):
        planned = plan.accessory_args(
            self._templar.template(task_vars["kamal"]), args["name"], task_vars["inventory_hostname"],
            self.command_of(args), secrets=self.resolved.get("secrets") or {}, needs_secrets=self.secrets_resolved(),
            options=self.resolved.get("options") or {}, performer=self.resolved.get("performer"))
        if "state" in args:  # the task spells the command with the alias: the module takes one of the two
            planned.pop("command")
        return planned

    def output(self, command, result):
        return output.accessory_output(command, result)  # None: nothing to print
