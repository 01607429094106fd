# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_fleet: prints, once, what each host of the play runs after a failed deploy."""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils import fleet
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction

display = Display()


class ActionModule(ControllerAction):
    """Reads only what the play registered: no server round trip."""

    ARGUMENT_SPEC = {
        "command": {"type": "str", "default": "deploy"},
        "version": {"type": "str", "required": True},
        "hosts": {"type": "list", "elements": "str", "required": True},
    }

    def act(self, args, task_vars):
        hostvars = task_vars.get("hostvars") or {}
        hosts = []
        for host in args["hosts"]:
            host_vars = hostvars.get(host) or {}
            roles = [role["name"] for role in host_vars.get("kamal_boot_roles") or []]
            hosts.append((host, roles, host_vars.get("kamal_app_result")))
        rows = fleet.fleet_rows(hosts, args["version"])
        table = fleet.render(rows, args["command"], args["version"])
        display.display(table)
        return {"changed": False, "rows": rows, "msg": table}
