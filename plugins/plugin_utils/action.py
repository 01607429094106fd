# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error boundary of kamal.deploy's action plugins (controller only): the twin of the modules'
``module_utils/_module.run_module``.

Ansible's own errors (a failure or skip an action raised on purpose, an unreachable host, bad arguments)
pass through untouched: Ansible already makes results of them. Anything else would end as Ansible's
``Unexpected failure during task execution: <text>``; here it fails with one line naming the task, and the
exception is chained, so Ansible shows its traceback when asked (``ANSIBLE_DISPLAY_TRACEBACK=error``).
"""

from __future__ import annotations

import functools

import uuid

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, failure
from ansible_collections.kamal.deploy.plugins.plugin_utils import commands, plan, progress
from ansible_collections.kamal.deploy.plugins.plugin_utils.payload_cache import CachedPayloads


display = Display()


def resolved_command(action, task_vars):
    """The command this run resolved (the command role's ``kamal_plan_run``), {} before it or outside a kamal run."""
    resolved = task_vars.get(commands.PLAN_VAR)
    return (action._templar.template(resolved) or {}) if resolved else {}  # pylint: disable=protected-access


def describe_task(action):
    """What an action plugin was doing, for a human: ``kamal_lock acquire (task 'Take the deploy lock')``."""
    task = action._task  # pylint: disable=protected-access
    name = (task.action or "").rsplit(".", 1)[-1]
    command = (task.args or {}).get("command")
    task_name = task.get_name()
    return "%s%s%s" % (name, " %s" % command if command else "",
                       " (task %r)" % task_name if task_name and task_name != task.action else "")


def action_boundary(run):
    """Decorates ``ActionModule.run``: any exception that is not Ansible's own fails the task in one line.

    ``self.actions`` (when the plugin keeps one) is reported as the operations done so far."""

    @functools.wraps(run)
    def guarded(self, tmp=None, task_vars=None):
        try:
            return run(self, tmp, task_vars)
        except AnsibleError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            fields = failure(exc, describe_task(self), getattr(self, "actions", None))
            fields.pop("exception", None)  # chained below: Ansible keeps the traceback and shows it when asked
            message = fields.pop("msg")
            raise AnsibleActionFail(message, result=fields) from (None if isinstance(exc, KamalError) else exc)

    return guarded


class PlannedAction(CachedPayloads, ActionBase):
    """The action in front of kamal_app, kamal_accessory and kamal_proxy: when the task names its ``SUBJECT`` (a
    role, an accessory; none for the proxy) and the kamal inventory's ``kamal`` variable is there, the module's
    arguments come from the plan (plugin_utils/plan.py, pure) for this host and the resolved command
    (``kamal_plan_run``); arguments the task gives win. The result gets ``output``, what the command prints.
    Subclasses name the module, the subject and how to call the plan and the output."""

    MODULE = None   # the module this action runs
    SUBJECT = None  # the task argument that names what the plan is for
    PROGRESS_COMMANDS = ()  # the commands that may wait long on the server (a pull, a health wait): progress shown

    def command_of(self, args):
        return args.get("command", self.resolved.get("action", "boot"))

    def planned_args(self, args, task_vars):
        raise NotImplementedError

    def planned(self, args, task_vars):
        """Whether the plan gives this task's arguments."""
        return (self.SUBJECT is None or self.SUBJECT in args) and bool(task_vars.get("kamal"))

    def output(self, command, result):
        raise NotImplementedError

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        self.resolved = resolved_command(self, task_vars)
        if self.planned(args, task_vars):
            try:
                planned = self.planned_args(args, task_vars)
            except plan.PlanError as e:
                raise AnsibleActionFail(str(e)) from None
            args = dict(planned, **args)
        progress_file = self.progress_file(args, task_vars)
        if progress_file:
            args["progress_file"] = progress_file
        label = "%s %s" % (task_vars.get("inventory_hostname"), args.get(self.SUBJECT) or "")
        with progress.watching(self._connection, progress_file, label.strip(), display.display):
            result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        if not result.get("failed"):
            result["output"] = self.output(self.command_of(args), result)
        return result

    resolved = {}

    def progress_file(self, args, task_vars):
        """Where a long call writes how far it got (plugin_utils/progress.py), or None: only in a resolved command's
        run, not in check mode, not for a command that never waits long, not with -e kamal_progress=false."""
        if (not self.resolved or self._task.check_mode or self.command_of(args) not in self.PROGRESS_COMMANDS or "service" not in args
                or not boolean(task_vars.get("kamal_progress", True), strict=False)):
            return None
        return naming.progress_file(args["service"], args.get("destination"), args.get(self.SUBJECT) or "call",
                                    self.resolved.get("run_id") or uuid.uuid4().hex[:12])

    def secrets_resolved(self):
        """Commands that boot nothing read no secret: the plan then passes none."""
        return bool(self.resolved.get("needs_secrets"))


class ControllerAction(ActionBase):
    """An action that runs on the controller only, in an ansible-playbook worker: no connection, no file
    transfer, its arguments checked against ``ARGUMENT_SPEC`` behind the one error boundary. Subclasses give
    ``act(args, task_vars)`` (what goes into the result) and, when a kamal inventory's run knows some
    arguments, ``defaults(task_vars)`` (the task's own arguments win)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}

    def defaults(self, task_vars):  # pylint: disable=unused-argument
        return {}

    def act(self, args, task_vars):
        raise NotImplementedError

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        found = self.defaults(task_vars)
        if found:
            self._task.args = dict(found, **self._task.args)
        _spec, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        result.update(self.act(args, task_vars))
        return result
