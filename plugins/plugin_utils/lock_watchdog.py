# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock's watchdog, on the controller: a detached shell that waits for ansible-playbook to end and
then releases the lock by run id. ansible-playbook killed by SIGINT/SIGTERM never reaches a play's `always:`;
the watchdog does, and its release is a no-op when the run released the lock itself or never got it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile


def guard_prefix(service: str, destination: str | None, controller_pid: int, tmpdir: str | None = None) -> str:
    """Where one run's watchdog keeps its script, pid and log (one per service, destination and run)."""
    name = "kamal-lock-guard-%s%s-%d" % (service, "-" + destination if destination else "", controller_pid)
    return os.path.join(tmpdir or tempfile.gettempdir(), name)


def script(controller_pid: int, release_argv: list[str], prefix: str) -> str:
    release = " ".join(shlex.quote(a) for a in release_argv)
    files = "%s.sh %s.pid" % (shlex.quote(prefix), shlex.quote(prefix))
    return ("#!/bin/sh\n"
            "while kill -0 %d 2>/dev/null; do sleep 0.5; done\n"
            "%s\n"
            "rm -f %s\n" % (controller_pid, release, files))


def start(prefix: str, controller_pid: int, release_argv: list[str]) -> int:
    """Write and start the watchdog (in its own session, so the run's Ctrl-C does not reach it); its pid."""
    path = prefix + ".sh"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w") as f:
        f.write(script(controller_pid, release_argv, prefix))
    with open(prefix + ".log", "wb") as log:
        proc = subprocess.Popen([path], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    with open(prefix + ".pid", "w", encoding="utf-8") as f:
        f.write("%d\n" % proc.pid)
    proc.returncode = 0  # detached on purpose: no ResourceWarning for a child never waited for here
    return proc.pid


def stop(prefix: str) -> bool:
    """Stop the watchdog after a normal release and remove its files; whether one was running."""
    stopped = False
    try:
        with open(prefix + ".pid", encoding="utf-8") as f:
            os.kill(int(f.read().strip()), signal.SIGTERM)
        stopped = True
    except (OSError, ValueError):
        pass
    for suffix in (".pid", ".log", ".sh"):
        try:
            os.unlink(prefix + suffix)
        except OSError:
            pass
    return stopped
