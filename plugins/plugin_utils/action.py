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

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, failure


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


class PlannedAction(ActionBase):
    """What the actions in front of kamal_app and kamal_accessory share: reading the play's variables the plan needs.

    The plan itself (plugin_utils/plan.py) is pure; this only fetches its inputs from task_vars."""

    def task_var(self, task_vars, name, default=None):
        value = self._templar.template(task_vars.get(name, default))
        return default if value is None else value

    def secrets_resolved(self, task_vars):
        """Before the prepare role (rollback's version listing) no secret was read: the plan then passes none,
        as for commands that need none."""
        return "kamal_secret_values" in task_vars and bool(self.task_var(task_vars, "kamal_needs_secrets", True))
