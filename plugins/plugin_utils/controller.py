# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who and where this run is, from the controller's own Python (no shell, so not only on Linux): the run's id,
the ansible-playbook process, the controller's host name and live pids (the lock tells a dead owner from a
live one with them), and Kamal's performer."""

from __future__ import annotations

import os
import socket
import uuid

from ansible_collections.kamal.deploy.plugins.plugin_utils import hooks


def run_id():
    return str(uuid.uuid4())


def playbook_pid():
    """The ansible-playbook process: plugins run in its forked workers, so it is their parent."""
    return os.getppid()


def host_name():
    return socket.gethostname()


def live_pids(runner=None):
    """Every pid alive on the controller now (``ps -e``, which Linux and macOS both have), [] when ps fails."""
    runner = runner or hooks.Runner()
    try:
        rc, out, _err = runner(["ps", "-e", "-o", "pid="])
    except OSError:
        return []
    return [int(pid) for pid in out.split() if pid.isdigit()] if rc == 0 else []


def identity(project_dir, runner=None):
    """This run's id, ansible-playbook's pid and Kamal's performer (git user.email, else the user)."""
    return {"run_id": run_id(), "controller_pid": playbook_pid(), "performer": hooks.performer(project_dir, runner=runner)}


def locked_by(project_dir, runner=None):
    """The lock's ``Locked by``: git user.name, else ``Unknown`` (what the lock always said without one)."""
    return hooks.locked_by(project_dir, runner=runner) or "Unknown"
