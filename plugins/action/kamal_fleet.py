# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_fleet: prints, once, what each host of the play runs after a failed deploy."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils import fleet
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary

display = Display()

ARGUMENT_SPEC = {
    "command": {"type": "str", "default": "deploy"},
    "version": {"type": "str", "required": True},
    "hosts": {"type": "list", "elements": "str", "required": True},
}


class ActionModule(ActionBase):
    """Runs on the controller and reads only what the play registered: no connection, no server round trip."""

    TRANSFERS_FILES = False
    _requires_connection = False

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hostvars = (task_vars or {}).get("hostvars") or {}
        hosts = []
        for host in args["hosts"]:
            host_vars = hostvars.get(host) or {}
            roles = [role["name"] for role in host_vars.get("kamal_boot_roles") or []]
            hosts.append((host, roles, host_vars.get("kamal_app_result")))
        rows = fleet.fleet_rows(hosts, args["version"])
        table = fleet.render(rows, args["command"], args["version"])
        display.display(table)
        result.update(changed=False, rows=rows, msg=table)
        return result
