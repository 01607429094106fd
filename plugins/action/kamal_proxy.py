# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_proxy: in a resolved command's run (the command role's ``kamal_plan_run``), the
module's arguments are the command's and ``plan.proxy_args`` (the image or the role's Dockerfile, run, ACME,
takeover, force, keep_in_use, resolved in Python); arguments the task gives win. Without it (an ad hoc call) the
task's arguments go to the module as they are. The result gets ``output``: what the command prints."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils.action import PlannedAction


class ActionModule(PlannedAction):
    MODULE = "kamal.deploy.kamal_proxy"

    def planned(self, args, task_vars):
        return self.resolved.get("proxy_args") is not None

    def command_of(self, args):
        # deploy boots the proxy; the proxy commands are their own action (reboot, logs...).
        return args.get("command", self.resolved["action"] if self.resolved.get("scope") == "proxy" else "boot")

    def planned_args(self, args, task_vars):
        planned = dict(self.resolved["proxy_args"], command=self.command_of(args))
        # Kamal's proxy audit lines (Rebooted proxy, Removed proxy container) go to the service's audit log.
        kamal = self._templar.template(task_vars["kamal"])
        planned.update(service=kamal["service"], performer=self.resolved.get("performer"))
        if kamal.get("destination"):
            planned["destination"] = kamal["destination"]
        if planned["command"] == "logs":
            planned["lines"] = self.resolved["proxy_log_lines"]
        return planned

    def output(self, command, result):
        return result.get("lines", result.get("proxy", result.get("actions", [])))
