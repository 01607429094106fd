# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_server: in a resolved command's run (``kamal_plan_run``), the module's arguments
come from the plan (``plan.server_args``: the service, the performer, the registry's credentials for a login, the
command's options); arguments the task gives win. The result gets ``output``: what the command prints."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils import output, plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction


class ActionModule(PlannedAction):
    MODULE = "kamal.deploy.kamal_server"

    def planned(self, args, task_vars):
        return bool(self.resolved) and bool(task_vars.get("kamal"))

    def planned_args(self, args, task_vars):
        kamal = self._templar.template(task_vars["kamal"])
        return plan.server_args(kamal, task_vars["inventory_hostname"], self.command_of(args),
                                secrets=self.resolved.get("secrets") or {}, performer=self.resolved.get("performer"),
                                options=self.resolved.get("options") or {})

    def output(self, command, result):
        return output.server_output(command, result)
