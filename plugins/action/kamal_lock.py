# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_lock: the module runs on the lock's host; with ``watchdog`` the controller
side starts the lock's watchdog before an acquire and stops it after a release, inside the same task (two
local tasks fewer per deploy). In a kamal inventory's run it fills, when the task does not give them, the service
and destination, and from the resolved command (kamal_plan_run) the version, the message of a manual lock and, for
a run's own lock (``watchdog``), the run id, the ansible-playbook pid, lock_wait and force_unlock; then what only
the controller knows: who locks (git user.name), the controller's host name and its live pids.

A run's own lock (a ``run_id``, not manual) is first taken and released with one shell command and no Python on the
server (``_lock.quick_acquire_command``/``quick_release_command``): a free lock taken, our own lock released, in a
fifth of a module call's time. Whatever else it finds (a lock held, one not ours, a failure) goes to the module,
which waits, breaks or explains by the whole rule set. Check mode, --diff and become always use the module, and so
does every call with KAMAL_QUICK_LOCK=0 in the controller's environment."""

from __future__ import annotations

import json
import os
import posixpath
import sys
import time

from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.module_utils import _lock
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.plugin_utils import controller, lock_watchdog
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary, resolved_command
from ansible_collections.kamal.deploy.plugins.plugin_utils.payload_cache import CachedPayloads


class ActionModule(CachedPayloads, ActionBase):

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if "command" not in args:
            args.update(self._lock_command(task_vars))
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
        quick = self._quick(command, args, task_vars) if self._quick_allowed(command, args) else None
        result.update(quick if quick is not None else
                      self._execute_module(module_name="kamal.deploy.kamal_lock", module_args=args, task_vars=task_vars))
        if watched and command == "release":
            lock_watchdog.stop(prefix)
        return result

    def _lock_command(self, task_vars):
        """A task that names no command runs the resolved ``lock`` command (kamal lock acquire|release|status): an
        acquire from the command line is a manual lock."""
        run = resolved_command(self, task_vars)
        if run.get("flow") != "lock":
            return {}
        return {"command": run["action"], "manual": run["action"] == "acquire"}

    def _quick_allowed(self, command, args):
        return (command in ("acquire", "release") and bool(args.get("run_id")) and not args.get("manual")
                and not self._task.check_mode and not self._task.diff and not self._play_context.become
                and os.environ.get("KAMAL_QUICK_LOCK", "1") not in ("0", "false", "no"))

    def _quick(self, command, args, task_vars):
        """The lock command's result from one shell command, or None when the module must decide."""
        service, destination = args["service"], args.get("destination")
        if command == "acquire":
            record = _lock.lock_record(
                str(args.get("locked_by") or "Unknown"), str(args.get("version") or ""),
                args["lock_message"] if args.get("lock_message") is not None else _lock.AUTOMATIC_MESSAGE,
                str(args["run_id"]), args.get("controller_host"),
                int(args["controller_pid"]) if args.get("controller_pid") else None, False,
                int(args.get("ttl") or _lock.DEFAULT_TTL), args.get("performer"), now=time.time(), server=None)
            shell = _lock.quick_acquire_command(service, destination, record, args.get("home"))
        else:
            shell = _lock.quick_release_command(service, destination, str(args["run_id"]), args.get("home"))
        done = self._low_level_execute_command(shell, sudoable=False)
        (word, home), rest = _lock.quick_outcome(done.get("stdout"))
        if done.get("rc") != 0 or not home:
            return None
        path = posixpath.join(home, naming.lock_dir(service, destination))
        if word == "acquired":
            return {"changed": True, "acquired": True, "reentrant": False, "broken": None, "waited": 0,
                    "holder": _lock.record_holder(path, record), "locked": True, "path": path,
                    "msg": "Acquired the deploy lock"}
        if word == "absent":
            return {"changed": False, "released": False, "holder": None, "not_released_reason": None, "locked": False,
                    "path": path, "msg": "There is no deploy lock"}
        if word == "released" and rest:
            lock = _lock.DeployLock(home, service, destination, hostname=str(task_vars.get("inventory_hostname")))
            raw = {"identity": None, "mtime": time.time(), "details": "\n".join(rest[1:]).encode("utf-8"),
                   "extra": json.loads(rest[0])}
            return {"changed": True, "released": True, "holder": lock.holder(raw, int(args.get("ttl") or _lock.DEFAULT_TTL)),
                    "not_released_reason": None, "locked": False, "path": path, "msg": "Released the deploy lock"}
        return None

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
