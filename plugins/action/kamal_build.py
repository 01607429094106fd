# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_build: builds and pushes on the controller, like Kamal's `build push`."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils.build import Build, BuildError
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction, resolved_command

display = Display()  # build steps and pushed layers show as they happen, not only when the task ends

ARGUMENT_SPEC = {
    "service": {"type": "str", "required": True},
    "repository": {"type": "str", "required": True},
    "version": {"type": "str", "required": True},
    "latest_tag": {"type": "str", "default": "latest"},
    "project_dir": {"type": "path", "required": True},
    "builder": {"type": "dict", "required": True},
    "registry": {"type": "dict", "default": {}, "no_log": True},
    "secret_values": {"type": "dict", "default": {}, "no_log": True},
    "push": {"type": "bool", "default": True},
    "no_cache": {"type": "bool", "default": False},
    "local_registry_image": {"type": "str", "default": "registry:3"},
}


class ActionModule(ControllerAction):
    """On the controller: the build needs the app's source and the local Docker engine."""

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def defaults(self, task_vars):
        """In a resolved command's run: the builder, registry credentials and builder secrets it resolved."""
        return resolved_command(self, task_vars).get("build") or {}

    def act(self, args, task_vars):
        build = Build(service=args["service"], repository=args["repository"], version=args["version"],
                      latest_tag=args["latest_tag"], project_dir=args["project_dir"], builder=args["builder"],
                      registry=args["registry"], secret_values=args["secret_values"],
                      local_registry_image=args["local_registry_image"], progress=display.display, no_cache=args["no_cache"])
        self.actions = build.actions  # what a build that fails half-way reports as done
        try:
            # A local registry (localhost:PORT) must run before the plan asks it what it has.
            started = args["push"] and not self._task.check_mode and build.setup_local_registry()
            outcome = build.execute(push=args["push"], check_mode=self._task.check_mode)
        except BuildError as e:
            raise AnsibleActionFail(str(e)) from None
        if started:
            outcome["changed"] = True
            outcome["actions"] = build.actions
        if self._task.diff and outcome["changed"]:
            outcome["diff"] = {"before": "", "after": f"build: {outcome['built']}\npush: {outcome['pushed']}\nimage: {outcome['image']}\n"}
        return outcome
