# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_hook: runs one of Kamal's hooks on the controller."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils import hooks
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction, resolved_command

display = Display()

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True, "choices": list(hooks.HOOKS)},
    "project_dir": {"type": "path", "required": True},
    "hooks_path": {"type": "str", "default": hooks.DEFAULT_HOOKS_PATH},
    "service": {"type": "str", "required": True},
    "version": {"type": "str"},
    "destination": {"type": "str"},
    "hosts": {"type": "list", "elements": "str", "default": []},
    "roles": {"type": "list", "elements": "str"},
    "command": {"type": "str"},
    "subcommand": {"type": "str"},
    "lock": {"type": "bool", "default": False},
    "runtime": {"type": "float"},
    "performer": {"type": "str"},
    "recorded_at": {"type": "str"},
    "secrets": {"type": "dict", "default": {}, "no_log": True},
    "skip_hooks": {"type": "bool", "default": False},
    "hooks_output": {"type": "raw"},
}


class ActionModule(ControllerAction):
    """On the controller: hooks are the project's executables, run from its root."""

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(self, args, task_vars):
        name = args["name"]
        try:
            level = hooks.output_level(args["hooks_output"], name)
            outcome = hooks.run_hook(
                name, project_dir=args["project_dir"], service=args["service"], hooks_path=args["hooks_path"],
                version=args["version"], destination=args["destination"], hosts=args["hosts"], roles=args["roles"],
                command=args["command"], subcommand=args["subcommand"], lock=args["lock"], runtime=args["runtime"],
                performer_name=args["performer"], recorded_at=args["recorded_at"], secrets=args["secrets"],
                skip=args["skip_hooks"], check_mode=self._task.check_mode)
        except hooks.HookError as e:
            failed = dict(getattr(e, "result", {}) or {})
            failed.pop("changed", None)
            raise AnsibleActionFail(str(e), result=failed) from None
        if outcome["ran"] and level == "verbose":
            for stream in ("stdout", "stderr"):
                if outcome[stream].strip():
                    display.display("hook %s %s:\n%s" % (name, stream, outcome[stream].rstrip("\n")))
        outcome["output_shown"] = bool(outcome["ran"] and level == "verbose")
        if not outcome["ran"]:
            outcome["skipped"] = outcome["skipped_reason"] == "skip_hooks"
            outcome["msg"] = "Hook %s not run: %s" % (name, outcome["skipped_reason"])
        else:
            outcome["msg"] = "Ran hook %s" % name
        return outcome

    def defaults(self, task_vars):
        """In a kamal inventory's run: the project and the service from the config; this run's version, secrets,
        command, selected roles and skip_hooks from the resolved command (hooks.py gives the secrets only to the
        hooks that get them); the play's hosts."""
        if not task_vars.get("kamal"):
            return {}
        kamal = self._templar.template(task_vars["kamal"])
        run = resolved_command(self, task_vars)
        found = {"project_dir": kamal["project_dir"], "hooks_path": kamal["hooks_path"], "service": kamal["service"],
                 "version": run["version"] if run else kamal.get("version"), "secrets": run.get("secrets") or {},
                 "hosts": list(task_vars.get("ansible_play_hosts_all") or [])}
        for key in ("hooks_output", "destination"):
            if kamal.get(key):
                found[key] = kamal[key]
        if run:
            found.update(command=run["hook_command"], skip_hooks=run["skip_hooks"])
            if run.get("hook_subcommand"):
                found["subcommand"] = run["hook_subcommand"]
            if run.get("selected_roles"):
                found["roles"] = run["selected_roles"]
            if run.get("started_at") and self._task.args.get("name") == "post-deploy":
                found["runtime"] = time.time() - run["started_at"]
        return found
