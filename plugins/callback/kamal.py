# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: kamal
type: stdout
author:
  - kamal.deploy developers (@kamal-deploy)
version_added: 0.1.0
short_description: Output a person reads, for the kamal.deploy playbooks
description:
  - What kamal-ansible shows (it sets C(ANSIBLE_STDOUT_CALLBACK=kamal.deploy.kamal) unless C(-v) is given or
    C(KAMAL_ANSIBLE_OUTPUT=ansible) is set); usable with any playbook of the collection.
  - A command that reads (C(app details), C(lock status), C(audit) ...) prints only its result, per host. Skipped
    tasks and the steps that only prepare a run (resolving the command, the hooks that are not there, the lock) print
    nothing.
  - A command that changes servers prints one line per host and task that changed something, every failure with its
    message (and the log lines a failed boot carries), and a last line saying what changed where.
  - In check mode (C(--check), C(kamal-ansible plan)) each host's plan is printed from the modules' results, the
    images to pull and whether the registry has them, the containers to create and stop, the route change, the files
    and env files to upload (values masked) and what a prune would remove; the last line says what would change.
  - Live progress lines of long waits (a pull, a health check) come from the action plugins and show with any callback.
requirements:
  - set as the stdout callback (C(ANSIBLE_STDOUT_CALLBACK=kamal.deploy.kamal))
options:
  quiet:
    description:
      - Kamal's C(-q) (minimal logging), set by C(kamal-ansible -q). Results and failures only; no host heading above
        a host's result, no line per host and task that changed, no closing summary line.
    type: bool
    default: false
    env:
      - name: KAMAL_ANSIBLE_QUIET
"""

import time

import yaml

from ansible import constants as C
from ansible import context
from ansible.playbook.task_include import TaskInclude
from ansible.plugins.callback import CallbackBase

from ansible_collections.kamal.deploy.plugins.plugin_utils import output

DEBUG_ACTIONS = ("debug", "ansible.builtin.debug", "ansible.legacy.debug")
PLANNED_MODULES = ("kamal_app", "kamal_accessory", "kamal_proxy", "kamal_build", "kamal_server")


def _short(action):
    return (action or "").rsplit(".", 1)[-1]


def _task_name(task):
    """The task's own name, without its role's."""
    return task.get_name(include_role_fqcn=False).split(" : ", 1)[-1]


def _text(value):
    """A debug message as a person reads it: a list one item a line, a mapping as YAML, text as it is."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "\n".join(str(item) for item in value) if value else "(none)"
    if isinstance(value, dict):
        return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip()
    return str(value)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "kamal.deploy.kamal"

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.check_mode = False
        self.changed = {}     # host -> tasks that changed (would change, in check mode)
        self.failed = {}      # host -> the failures
        self.planned = set()  # hosts whose plan was printed
        self.accessories = False  # an accessory was planned (setup); deploy leaves them alone
        self.quiet = False

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.quiet = bool(self.get_option("quiet"))

    # -- the run
    def v2_playbook_on_start(self, playbook):
        self.started = time.monotonic()
        self.check_mode = bool((context.CLIARGS or {}).get("check"))

    def v2_playbook_on_no_hosts_matched(self):
        pass

    # -- results
    def v2_runner_on_ok(self, result):
        if isinstance(result.task, TaskInclude):
            return
        self._handle_warnings_and_exception(result)
        if result.task.loop and "results" in result.result:
            return  # each item was shown by v2_runner_item_on_ok
        self._ok(result, result.result, None)

    def v2_runner_item_on_ok(self, result):
        self._ok(result, result.result, self._get_item_label(result.result))

    def _ok(self, result, data, label):
        host = result.host.get_name()
        action = _short(result.task.action)
        if result.task.action in DEBUG_ACTIONS:
            self._show(host, label, data.get("msg"), result.task.run_once)
            return
        if self.check_mode and action in PLANNED_MODULES and (data.get("changed") or "image_plan" in data or "built" in data):
            self._plan(host, label, data, action)
            return
        if data.get("changed"):
            self.changed.setdefault(host, []).append(_task_name(result.task))
            if self.quiet:
                return
            self._display.display("%s%s: %s" % (host, " " + str(label) if label else "", _task_name(result.task)),
                                  color=C.COLOR_CHANGED)

    def _show(self, host, label, message, run_once):
        text = _text(message)
        if run_once or self.quiet:
            if text is None:
                return
            self._display.display(text)
            return
        self._display.display("%s%s" % (host, " (%s)" % label if label else ""), color=C.COLOR_HIGHLIGHT)
        self._display.display("(none)" if text is None else text)

    def _plan(self, host, label, data, action):
        self.planned.add(host)
        self.accessories = self.accessories or action == "kamal_accessory"
        if data.get("changed"):
            self.changed.setdefault(host, []).append(action)
        where = "%s%s" % (host, " " + str(label) if label else "")
        if action == "kamal_build":
            where = "the controller"
        self._display.display("Plan for %s:" % where, color=C.COLOR_HIGHLIGHT)
        for line in output.plan_lines(data):
            self._display.display("  " + line, color=C.COLOR_CHANGED if line != "nothing to change" else C.COLOR_OK)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._handle_warnings_and_exception(result)
        if ignore_errors:
            return
        if result.task.loop and "results" in result.result:
            return  # each failed item was shown by v2_runner_item_on_failed
        self._failed(result, result.result, None)

    def v2_runner_item_on_failed(self, result):
        if result.task.ignore_errors:
            return
        self._failed(result, result.result, self._get_item_label(result.result))

    def _failed(self, result, data, label):
        host = result.host.get_name()
        self.failed.setdefault(host, []).append(_task_name(result.task))
        where = "%s%s" % (host, " " + str(label) if label else "")
        self._display.display("FAILED on %s (%s): %s" % (where, _task_name(result.task), data.get("msg") or "failed"),
                              color=C.COLOR_ERROR, stderr=True)
        for key in ("logs", "stderr_lines", "stdout_lines"):
            lines = data.get(key) or []
            if isinstance(lines, list) and lines:
                self._display.display("\n".join("  " + str(line) for line in lines[-50:]), color=C.COLOR_ERROR, stderr=True)
        if self.check_mode and data.get("image_plan"):
            self._plan(host, label, dict(data, actions=[], changed=True), _short(result.task.action))

    def v2_runner_on_unreachable(self, result):
        host = result.host.get_name()
        self.failed.setdefault(host, []).append("unreachable")
        self._display.display("UNREACHABLE %s: %s" % (host, result.result.get("msg") or "unreachable"),
                              color=C.COLOR_UNREACHABLE, stderr=True)

    def v2_runner_on_skipped(self, result):
        pass

    def v2_runner_item_on_skipped(self, result):
        pass

    # -- the end
    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        seconds = time.monotonic() - self.started
        failed = [h for h in hosts if stats.failures.get(h) or stats.dark.get(h)]
        changed = [h for h in hosts if stats.changed.get(h) or h in self.changed]
        if self.check_mode:
            if self.planned and not self.accessories:
                self._display.display("Accessories: none affected", color=C.COLOR_OK)
            verdict = ("Plan: changes on %s; nothing was changed" % ", ".join(changed)) if changed else "Plan: nothing would change"
            if failed:
                verdict = "Plan: the run would fail on %s (above), before any change; nothing was changed" % ", ".join(failed)
            self._display.display(verdict, color=C.COLOR_ERROR if failed else C.COLOR_CHANGED if changed else C.COLOR_OK)
            return
        if failed:
            self._display.display("Failed on %s after %.1f s%s" % (", ".join(failed), seconds,
                                                                   "; changed on " + ", ".join(changed) if changed else ""),
                                  color=C.COLOR_ERROR, stderr=True)
        elif changed and not self.quiet:
            self._display.display("Done in %.1f s: changed on %s" % (seconds, ", ".join(changed)), color=C.COLOR_OK)
