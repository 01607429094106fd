"""Benchmark callback: each task's wall time (summed over loops and includes of the same name), how many
hosts ran it and how many tasks each host ran (skipped ones excepted), written as JSON to $KAMAL_BENCH_TIMES
when the playbook ends."""
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kamal_bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks, self.current, self.t0, self.started = {}, None, None, time.monotonic()
        self.per_host = {}

    def _close(self):
        if self.current is not None:
            self.tasks.setdefault(self.current, {"seconds": 0.0, "ran": 0})["seconds"] += time.monotonic() - self.t0
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current, self.t0 = task.get_name(), time.monotonic()
        self.tasks.setdefault(self.current, {"seconds": 0.0, "ran": 0})

    def _ran(self, result):
        self.tasks.setdefault(result.task.get_name(), {"seconds": 0.0, "ran": 0})["ran"] += 1
        host = result.host.get_name()
        self.per_host[host] = self.per_host.get(host, 0) + 1

    v2_runner_on_ok = v2_runner_on_failed = _ran

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["KAMAL_BENCH_TIMES"], "w", encoding="utf-8") as f:
            json.dump({"tasks": self.tasks, "tasks_per_host": self.per_host,
                       "playbook_seconds": time.monotonic() - self.started}, f)
