# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a long step of a module call got, for the controller to show while it waits: a server-side pull
(bytes of its layers) or a health wait (seconds). A module call cannot stream to the controller, so the call
writes its phase to a small JSON file in the SSH user's home (``_naming.progress_file``), replaced atomically
at most twice a second, and removes it when the call ends; the controller reads it only when the call has run
for a while (``plugin_utils/progress.py``), so a fast call costs nothing but, when it waits at all, one small
write.

A call without a ``progress_file`` gets :data:`NONE`, which does nothing. Stdlib only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

MIN_INTERVAL = 0.5  # seconds between two writes of the file


class NoProgress:
    """Progress that goes nowhere (no ``progress_file``)."""

    def phase(self, name, **detail):
        pass

    def pull(self, event):
        pass

    def tick(self):
        pass

    def close(self):
        pass

    def sleeping(self, sleep):
        return sleep


NONE = NoProgress()


class Progress(NoProgress):
    """Writes ``{"phase", "elapsed", ...}`` to ``path``: the phase (``pull``, ``health``), its own details (the image;
    bytes done and total over the layers seen so far) and the seconds since it began."""

    def __init__(self, path, clock=time.monotonic):
        self.path = path
        self.clock = clock
        self.state = None
        self.started = self.written = 0.0
        self.layers = {}

    def phase(self, name, **detail):
        self.state = dict(detail, phase=name)
        self.started = self.clock()
        self.layers = {}
        self._write(force=True)

    def pull(self, event):
        """One event of the engine's pull stream (``{"id", "status", "progressDetail": {"current", "total"}}``)."""
        layer = event.get("id")
        detail = event.get("progressDetail") or {}
        status = event.get("status") or ""
        if not layer or self.state is None:
            return
        done, total = self.layers.get(layer, (0, 0))
        if status.startswith("Downloading") and detail.get("total"):
            done, total = detail.get("current") or 0, detail["total"]
        elif status in ("Download complete", "Pull complete", "Already exists") and total:
            done = total
        self.layers[layer] = (done, total)
        self._write()

    def tick(self):
        self._write()

    def sleeping(self, sleep):
        """``sleep`` that first records the seconds so far (health waits sleep between probes)."""
        def wrapped(seconds):
            self.tick()
            sleep(seconds)
        return wrapped

    def _write(self, force=False):
        now = self.clock()
        if self.state is None or (not force and now - self.written < MIN_INTERVAL):
            return
        self.written = now
        state = dict(self.state, elapsed=round(now - self.started, 1))
        if self.layers:
            state.update(layers=len(self.layers), current=sum(d for d, _t in self.layers.values()),
                         total=sum(t for _d, t in self.layers.values()))
        partial = self.path + ".partial"
        try:
            directory = os.path.dirname(self.path)
            if directory and not os.path.isdir(directory):
                os.makedirs(directory)
            with open(partial, "w") as handle:
                handle.write(json.dumps(state))
            os.rename(partial, self.path)
        except (IOError, OSError):
            pass  # progress is a courtesy: it never fails a call

    def close(self):
        for path in (self.path, self.path + ".partial"):
            try:
                os.remove(path)
            except (IOError, OSError):
                pass


def option_spec():
    """``progress_file`` of kamal_app and kamal_accessory (documented once: ``kamal.deploy.container.progress``)."""
    return dict(progress_file=dict(type="str"))


def for_params(params, home):
    """The progress of a module call: a file when the controller asked for one (``progress_file``), else none."""
    path = params.get("progress_file")
    if not path:
        return NONE
    return Progress(path if os.path.isabs(path) else os.path.join(home, path))
