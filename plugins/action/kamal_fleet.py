# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_fleet: prints, once, what each host of the play runs after a failed deploy."""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils import fleet
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction, resolved_command

display = Display()


class ActionModule(ControllerAction):
    """Reads only what the play registered: no server round trip."""

    ARGUMENT_SPEC = {
        "command": {"type": "str", "default": "deploy"},
        "version": {"type": "str", "required": True},
        "hosts": {"type": "list", "elements": "str", "required": True},
    }

    def defaults(self, task_vars):
        """In a resolved command's run: its name (KAMAL_COMMAND), its version and the play's hosts."""
        run = resolved_command(self, task_vars)
        found = {key: run[name] for key, name in (("command", "hook_command"), ("version", "version")) if name in run}
        if run:
            found["hosts"] = list(task_vars.get("ansible_play_hosts_all") or [])
        return found

    def act(self, args, task_vars):
        hostvars = task_vars.get("hostvars") or {}
        hosts = []
        for host in args["hosts"]:
            host_vars = hostvars.get(host) or {}
            # The roles the command acted on there (kamal_plan_run, set on every host of the play).
            placed = ((host_vars.get("kamal_plan_run") or {}).get("hosts") or {}).get(host) or {}
            hosts.append((host, list(placed.get("roles") or []), fleet.last_app_result(host_vars)))
        rows = fleet.fleet_rows(hosts, args["version"])
        table = fleet.render(rows, args["command"], args["version"])
        # A plan (check mode) changed nothing: what each host runs is what it ran, and the failures say the rest.
        if not self._task.check_mode:
            display.display(table)
        return {"changed": False, "rows": rows, "msg": table}
