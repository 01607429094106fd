# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for kamal.deploy.kamal_deliver: the image goes from the controller's engine to the server's over
the SSH connection Ansible already has (``x-kamal-deploy: {image_delivery: ssh}``, our own key), with no registry."""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.plugin_utils.payload_cache import CachedPayloads

from ansible_collections.kamal.deploy.plugins.plugin_utils.build import BuildError, image_archive, local_image_id
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary, resolved_command

ARGUMENT_SPEC = {
    "image": {"type": "str", "required": True},
    "image_id": {"type": "str"},
    "archive": {"type": "path"},
    "compress_level": {"type": "int", "default": 1},
}


class ActionModule(CachedPayloads, ActionBase):
    """Compare image IDs on the server; when it lacks the image, save it here once, copy it, load it there."""

    TRANSFERS_FILES = True

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        run = resolved_command(self, task_vars)
        if "image" not in self._task.args and task_vars.get("kamal") and run.get("version"):
            # In a kamal inventory's run: the image the run boots (<repository>:<version>).
            kamal = self._templar.template(task_vars["kamal"])
            self._task.args = dict(self._task.args, image="%s:%s" % (kamal["repository"], run["version"]))
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        image, level = args["image"], args["compress_level"]
        image_id = local_image_id(image)
        probe = self._execute_module("kamal.deploy.kamal_deliver", module_args={"image": image, "image_id": image_id},
                                     task_vars=task_vars)
        if probe.get("failed") or not probe.get("needed") or self._task.check_mode:
            probe.pop("needed", None)
            result.update(probe)
            return result
        try:
            archive, save_seconds = image_archive(image, image_id, level)
        except BuildError as e:
            raise AnsibleActionFail(str(e)) from None
        t0 = time.monotonic()
        tmp_dir = self._make_tmp_path()
        remote = self._connection._shell.join_path(tmp_dir, os.path.basename(archive))
        self._transfer_file(archive, remote)
        copy_seconds = time.monotonic() - t0
        loaded = self._execute_module("kamal.deploy.kamal_deliver",
                                      module_args={"image": image, "image_id": image_id, "archive": remote, "compress_level": level},
                                      task_vars=task_vars)
        result.update(loaded)  # the module deleted the archive; ActionBase.cleanup removes tmp_dir
        if not loaded.get("failed"):
            result["seconds"] = {"save": round(save_seconds, 2), "copy": round(copy_seconds, 2),
                                 "load": round(time.monotonic() - t0 - copy_seconds, 2)}
            result["actions"] = ([f"docker save {image} | gzip -{level}"] if save_seconds else []) + \
                [f"copy {os.path.basename(archive)} to {remote}"] + list(loaded.get("actions") or [])
        return result
