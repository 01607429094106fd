# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_run: this run's id, ansible-playbook's pid and Kamal's performer."""

from __future__ import annotations

from ansible_collections.kamal.deploy.plugins.plugin_utils import controller
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = {
        "project_dir": {"type": "path", "required": True},
    }

    def act(self, args, task_vars):
        return dict(controller.identity(args["project_dir"]), changed=False)
