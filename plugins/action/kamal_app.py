# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_app: given a ``role`` and the ``kamal`` variable of the kamal inventory, the
module's arguments come from the plan (plugin_utils/plan.py) for this host; arguments the task gives win.

The plan reads the command the command role resolved (``kamal_plan_run``): the command, the version, the secret
values, the performer, whether to prune, the command's own options (and per host, app remove's). Without
``kamal`` (an ad hoc call, another inventory) the task's arguments go to the module as they are. The result
gets ``output``: what the command prints (plugin_utils/output.py). A list of roles boots them in one call, at
once (boot.parallel_roles: plan.parallel_boot)."""

from __future__ import annotations

import base64

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
        # A list of roles: the host's roles boot in one call, at once (boot.parallel_roles, commands.boot_groups).
        roles = self.roles or [args["role"]]
        pages = plan.error_pages(kamal) if command == "boot" else {}
        planned = []
        for role in roles:
            role_args = plan.app_args(
                kamal, role, host, command,
                version=run.get("version"), secrets=run.get("secrets") or {}, needs_secrets=self.secrets_resolved(),
                performer=run.get("performer"), skip_prune=bool(run.get("skip_prune")), options=options, pages=pages)
            proxy_boot = plan.proxy_boot(kamal, run, host, role) if command == "boot" else None
            if proxy_boot:
                role_args["proxy_boot"] = proxy_boot
            planned.append(role_args)
        # A plan asks the registry for the version's image unless this run builds and pushes (or delivers) it first.
        if self._task.check_mode:
            for role_args in planned:
                role_args["check_registry"] = not (run.get("builds") or run.get("delivers"))
        if len(planned) == 1:
            return planned[0]
        primary = next((r["name"] for r in kamal["roles"] if r.get("primary")), None)
        # The proxy is ensured by the call, whichever of its roles the plan gave it to.
        boot = next((a["proxy_boot"] for a in planned if a.get("proxy_boot")), None)
        if boot:
            planned[0]["proxy_boot"] = boot
        return plan.parallel_boot(planned, barrier=roles[0] == primary)

    roles = None

    def run(self, tmp=None, task_vars=None):
        # A list of roles (a parallel boot): the module's ``role`` is the first, the plan adds the others.
        role = self._task.args.get("role")
        if isinstance(role, dict):
            # A role and its own command (the assets first, before a multi-host boot: commands.assets_first).
            self._task.args = dict(self._task.args, role=str(role["role"]), command=role["command"])
        elif isinstance(role, list) and role:
            self.roles = [str(r) for r in role]
            self._task.args = dict(self._task.args, role=self.roles[0])
        return super().run(tmp, task_vars)

    def output(self, command, result):
        raw_output = (self.resolved.get("options") or {}).get("raw_output")
        if command == "exec" and raw_output and "stdout_b64" in result:
            # Kamal's `app exec --raw`: the command's stdout as it wrote it, nothing added (the only one: commands
            # refuses raw_output for more than one host and role).
            with open(raw_output, "wb") as handle:
                handle.write(base64.b64decode(result["stdout_b64"]))
            return "%d bytes written to %s" % (len(base64.b64decode(result["stdout_b64"])), raw_output)
        return output.app_output(command, result)
