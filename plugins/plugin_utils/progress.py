# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of a long module call, on the controller (controller only).

While a server pulls an image or waits for a container to be healthy, its module call writes how far it got to a
file (``module_utils/_progress.py``). Here a thread beside the call waits; if the call is still running after
``FIRST`` seconds it reads that file over its own copy of the host's connection every ``EVERY`` seconds and shows
one line per host: ``vm1 web: pulling r/app:v2, 45.1 of 100.0 MB (6 s)``. A call that ends sooner (a fast deploy)
never reads anything: no round trip, and the thread is gone with the call.

``-e kamal_progress=false`` turns it off (bench/progress.py measures both)."""

from __future__ import annotations

import contextlib
import copy
import json
import shlex
import threading

FIRST = 2.0   # seconds a call runs before its progress is first read
EVERY = 2.0   # seconds between two reads


def describe(label, state):
    """One line for a progress state (the JSON the module writes), or None when there is nothing to say."""
    if not state or not state.get("phase"):
        return None
    seconds = "%d s" % int(state.get("elapsed") or 0)
    phase = state["phase"]
    if phase == "pull":
        if state.get("total"):
            size = "%.1f of %.1f MB" % (state.get("current", 0) / 1e6, state["total"] / 1e6)
            return "%s: pulling %s, %s in %s layer(s) (%s)" % (label, state.get("image", "the image"), size, state.get("layers"), seconds)
        return "%s: pulling %s (%s)" % (label, state.get("image", "the image"), seconds)
    if phase == "health":
        return "%s: waiting for %s to be healthy (%s of %s s)" % (label, state.get("container", "the new container"), seconds,
                                                                  state.get("timeout", "?"))
    if phase == "uptime":
        return "%s: watching %s stay up (%s of %s s)" % (
            label, state.get("container", "the new container"), seconds, state.get("min_uptime", "?"))
    return "%s: %s (%s)" % (label, phase, seconds)


def reader(connection, path):
    """Reads ``path`` (relative to the SSH user's home) over a copy of ``connection``: the call itself keeps using
    the original, so the two never share a command's state. Returns the state dict, or None."""
    conn = copy.copy(connection)
    command = "cat %s 2>/dev/null || true" % shlex.quote(path)

    def read():
        try:
            _rc, out, _err = conn.exec_command(command, sudoable=False)
            text = out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)
            return json.loads(text) if text.strip() else None
        except Exception:  # pylint: disable=broad-except  # progress never fails a call
            return None
    return read


class Watcher:
    """Shows ``describe(label, read())`` every ``every`` seconds, from ``first`` seconds on, until stopped."""

    def __init__(self, read, show, label, first=FIRST, every=EVERY):
        self.read, self.show, self.label = read, show, label
        self.first, self.every = first, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kamal-progress", daemon=True)
        self.shown = 0

    def _run(self):
        wait = self.first
        while not self.stopped.wait(wait):
            line = describe(self.label, self.read())
            if line and not self.stopped.is_set():
                self.show(line)
                self.shown += 1
            wait = self.every

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=self.every + 1)


@contextlib.contextmanager
def watching(connection, path, label, show, first=FIRST, every=EVERY):
    """Around a module call: its progress shown while it runs long (nothing when ``path`` is None)."""
    if not path:
        yield None
        return
    watcher = Watcher(reader(connection, path), show, label, first, every).start()
    try:
        yield watcher
    finally:
        watcher.stop()
