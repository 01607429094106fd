"""Helpers for the secrets tests: project directories and stand-in vendor CLIs."""
import json
import os
import stat
import sys

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import load_secrets

_STAND_IN = r'''#!{python}
"""Stand-in for {name}: answers only the argv it was told to expect, and logs every call."""
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "{name}.json")) as handle:
    spec = json.load(handle)
argv = sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"cli": "{name}", "argv": argv, "env": {{k: os.environ.get(k) for k in spec.get("watch_env", [])}}}}) + "\n")
for answer in spec["answers"]:
    if answer["argv"] == argv and all(os.environ.get(k) == v for k, v in answer.get("env", {{}}).items()):
        sys.stdout.write(answer.get("stdout", ""))
        sys.exit(answer.get("rc", 0))
sys.stderr.write("{name} stand-in: unexpected argv %r\n" % (argv,))
sys.exit(99)
'''


class StandIns:
    """Writes stand-in CLIs into one bin directory and reads back the calls they received."""

    def __init__(self, root):
        self.bin = root / "bin"
        self.bin.mkdir()

    def add(self, name, answers, watch_env=()):
        """`answers`: [{"argv": [...], "stdout": str | object (JSON-encoded), "rc": int, "env": {...}}]."""
        for answer in answers:
            if not isinstance(answer.get("stdout", ""), str):
                answer["stdout"] = json.dumps(answer["stdout"])
        (self.bin / ("%s.json" % name)).write_text(json.dumps({"answers": answers, "watch_env": list(watch_env)}))
        script = self.bin / name
        script.write_text(_STAND_IN.format(python=sys.executable, name=name))
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def calls(self, name=None):
        log = self.bin / "calls.jsonl"
        if not log.exists():
            return []
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return [call["argv"] for call in calls if name is None or call["cli"] == name]

    def environ(self, **extra):
        env = {"PATH": "%s:/usr/bin:/bin" % self.bin, "HOME": os.environ.get("HOME", "/tmp")}
        env.update(extra)
        return env


@pytest.fixture
def stand_ins(tmp_path):
    return StandIns(tmp_path)


@pytest.fixture
def project(tmp_path):
    """A project directory with `.kamal/`; `project.write(name, text)` writes `.kamal/<name>`."""
    root = tmp_path / "project"
    (root / ".kamal").mkdir(parents=True)

    class Project:
        path = root

        @staticmethod
        def write(name, text, mode="w"):
            target = root / ".kamal" / name
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(text)
            return target

        @staticmethod
        def load(environ=None, **kwargs):
            env = {"PATH": "/usr/bin:/bin"} if environ is None else environ
            return load_secrets(project_dir=str(root), environ=env, **kwargs)

    return Project
