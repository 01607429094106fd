# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_app: given a ``role`` and the ``kamal`` variable of the kamal inventory, the
module's arguments come from the plan (plugin_utils/plan.py) for this host; arguments the task gives win.

The plan reads the command the command role resolved (``kamal_plan_run``): the command, the version, the secret
values, the performer, whether to prune, the command's own options (and per host, app remove's). Without
``kamal`` (an ad hoc call, another inventory) the task's arguments go to the module as they are. The result
gets ``output``: what the command prints (plugin_utils/output.py)."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils import output, plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction


class ActionModule(PlannedAction):
    MODULE = "kamal.deploy.kamal_app"
    SUBJECT = "role"
    PROGRESS_COMMANDS = ("boot", "pull", "rollout_deploy")

    def planned_args(self, args, task_vars):
        run = self.resolved
        host = task_vars["inventory_hostname"]
        options = dict(run.get("options") or {}, **((run.get("hosts") or {}).get(host) or {}).get("options", {}))
        kamal = self._templar.template(task_vars["kamal"])
        command = self.command_of(args)
        planned = plan.app_args(
            kamal, args["role"], host, command,
            version=run.get("version"), secrets=run.get("secrets") or {}, needs_secrets=self.secrets_resolved(),
            performer=run.get("performer"), skip_prune=bool(run.get("skip_prune")), options=options)
        proxy_boot = plan.proxy_boot(kamal, run, host, args["role"]) if command == "boot" else None
        if proxy_boot:
            planned["proxy_boot"] = proxy_boot
        # A plan asks the registry for the version's image unless this run builds and pushes (or delivers) it first.
        if self._task.check_mode:
            planned["check_registry"] = not (run.get("builds") or run.get("delivers"))
        return planned

    def output(self, command, result):
        return output.app_output(command, result)
