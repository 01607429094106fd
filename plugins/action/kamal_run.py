# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_run: this run's id, ansible-playbook's pid and Kamal's performer."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.plugin_utils import controller
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary

ARGUMENT_SPEC = {
    "project_dir": {"type": "path", "required": True},
}


class ActionModule(ActionBase):
    """Runs on the controller, in an ansible-playbook worker: no connection."""

    TRANSFERS_FILES = False
    _requires_connection = False

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result.update(controller.identity(args["project_dir"]), changed=False)
        return result
