# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_lock: the module runs on the lock's host; with ``watchdog`` the controller
side starts the lock's watchdog before an acquire and stops it after a release, inside the same task (two
local tasks fewer per deploy). In a kamal inventory's run it fills, when the task does not give them, the service
and destination, and from the resolved command (kamal_plan_run) the version, the message of a manual lock and, for
a run's own lock (``watchdog``), the run id, the ansible-playbook pid, lock_wait and force_unlock; then what only
the controller knows: who locks (git user.name), the controller's host name and its live pids."""

from __future__ import annotations

import json
import os
import sys

from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.plugin_utils import controller, lock_watchdog
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary, resolved_command


class ActionModule(ActionBase):

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        command = args.get("command", "status")
        if task_vars.get("kamal"):
            args = dict(self._from_run(command, args, task_vars), **args)
        if task_vars.get("kamal") and command in ("acquire", "status"):
            args = dict(self._controller_args(command, args, task_vars), **args)
        watched = bool(args.get("watchdog")) and command in ("acquire", "release") and not self._task.check_mode
        prefix = None
        if watched:
            if not args.get("controller_pid") or not args.get("run_id"):
                result.update(failed=True, msg="watchdog needs run_id and controller_pid (the ansible-playbook process)")
                return result
            prefix = lock_watchdog.guard_prefix(args["service"], args.get("destination"), int(args["controller_pid"]))
        if watched and command == "acquire":
            # Before the acquire: no kill can fall between taking the lock and watching for the run's end.
            lock_watchdog.start(prefix, int(args["controller_pid"]), self._release_argv(args, task_vars))
        result.update(self._execute_module(module_name="kamal.deploy.kamal_lock", module_args=args, task_vars=task_vars))
        if watched and command == "release":
            lock_watchdog.stop(prefix)
        return result

    def _from_run(self, command, args, task_vars):
        kamal = self._templar.template(task_vars["kamal"])
        run = resolved_command(self, task_vars)
        found = {"service": kamal["service"]}
        if kamal.get("destination"):
            found["destination"] = kamal["destination"]
        if command == "audit" and run and run["options"].get("lines"):
            found["lines"] = run["options"]["lines"]
        if command == "acquire" and run:
            found["version"] = run["version"]
            if run["options"].get("lock_message"):
                found["lock_message"] = run["options"]["lock_message"]
        if args.get("watchdog") and command in ("acquire", "release") and run:
            found.update(run_id=run["run_id"], controller_pid=run["controller_pid"])
            if command == "acquire":
                found.update(wait=run["lock_wait"], force=run["force_unlock"])
        return found

    def _controller_args(self, command, args, task_vars):
        # A run's lock (run_id) and a status read tell a dead owner on this controller from a live one; a manual
        # lock has no owning process.
        found = {}
        if command == "status" or args.get("run_id"):
            found.update(controller_host=controller.host_name(), live_pids=controller.live_pids())
        if command == "acquire":
            found["locked_by"] = controller.locked_by(self._templar.template(task_vars["kamal"])["project_dir"])
        return found

    def _release_argv(self, args, task_vars):
        host = self._task.delegate_to or task_vars.get("inventory_hostname")
        release = {"command": "release", "service": args["service"], "run_id": args["run_id"]}
        if args.get("destination"):
            release["destination"] = args["destination"]
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible"), str(host)]
        for source in task_vars.get("ansible_inventory_sources") or []:
            argv += ["-i", source]
        return argv + ["-m", "kamal.deploy.kamal_lock", "-a", json.dumps(release)]
