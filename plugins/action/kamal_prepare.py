# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_prepare: one task on the controller resolves the playbook's command from the
command table (plugin_utils/commands.py) with the kamal inventory's ``kamal`` variable and this run: its identity,
version, secret values, hooks present, lock host, the roles or accessories per host, the boot groups, the
build's and the proxy's arguments. The command role registers the result as ``kamal_plan_run``."""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils import commands, controller, plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import ControllerAction
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import KamalSecrets, KamalSecretsError

display = Display()

# The user's variables every command may read, besides its own options and the proxy's settings.
RUN_OPTIONS = ("version", "roles", "skip_hooks", "lock_wait", "force_unlock")


def hooks_present(kamal):
    """The hook files that exist (the others are skipped without running a task)."""
    path = kamal["hooks_path"]
    directory = path if os.path.isabs(path) else os.path.join(kamal["project_dir"], path)
    try:
        return sorted(name for name in os.listdir(directory) if os.path.isfile(os.path.join(directory, name)))
    except OSError:
        return []


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = {
        "command": {"type": "str"},
    }

    def act(self, args, task_vars):
        if not task_vars.get("kamal"):
            raise AnsibleActionFail("kamal_prepare needs the kamal inventory's kamal variable (-i config/deploy.yml)")
        name = args["command"] or self._templar.template(task_vars.get("kamal_command"))
        kamal = self._templar.template(task_vars["kamal"])
        for warning in kamal.get("warnings") or []:  # the config's, once per run
            display.warning(warning)
        try:
            cmd = commands.lookup(name)
            wanted = RUN_OPTIONS + tuple(o.name for o in cmd.options) + tuple(v for v, _d in commands.PROXY_SETTINGS.values())
            given = {var: self._templar.template(task_vars[var]) for var in wanted if var in task_vars}
            hostvars = task_vars.get("hostvars") or {}
            play_hosts = list(task_vars.get("ansible_play_hosts") or [])
            resolved = commands.resolve(
                name, kamal, given, play_hosts,
                {host: list((hostvars.get(host) or {}).get("kamal_roles") or []) for host in play_hosts},
                controller.identity(kamal["project_dir"]), hooks_present(kamal), secrets=self._secrets(kamal),
                environ=dict(os.environ), limit=task_vars.get("ansible_limit"), started_at=time.time(),
                forward_dir=os.path.join(os.path.expanduser("~"), ".ansible", "kamal-fwd"))
        except (commands.CommandError, plan.PlanError) as e:
            raise AnsibleActionFail(str(e)) from None
        # The secret values are in the result: never shown, even with -v (failures above carry no value).
        return dict(resolved, changed=False, _ansible_no_log=True)

    def _secrets(self, kamal):
        vault = getattr(self._loader, "_vault", None)

        def read(names):
            secrets = KamalSecrets(project_dir=kamal["project_dir"], secrets_path=kamal["secrets_path"],
                                   destination=kamal.get("destination"), environ=dict(os.environ),
                                   vault_secrets=getattr(vault, "secrets", None) or None)
            try:
                values = secrets.require(names)
            except KamalSecretsError as exc:
                raise commands.CommandError("kamal_secrets: %s" % exc) from None
            for warning in secrets.warnings:
                display.warning("kamal_secrets: %s" % warning)
            return dict(zip(names, values))

        return read
