"""kamal.deploy.kamal_lock as a module, on localhost (no lab): arguments, check mode, diff, warnings and failures.

Each test runs one playbook whose tasks are the module calls, and reads back every registered result."""
import json
import os
import re
import subprocess
import sys

import pytest

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"


@pytest.fixture
def run(tmp_path):
    """run([(args, {"check": bool, "diff": bool}), ...]) -> (results, ansible's output)."""
    def run_tasks(calls):
        out = tmp_path / "results.json"
        tasks = []
        for i, (args, flags) in enumerate(calls):
            tasks.append({"kamal.deploy.kamal_lock": dict({"service": "app", "home": str(tmp_path)}, **args),
                          "register": "r%d" % i, "ignore_errors": True,
                          "check_mode": bool(flags.get("check")), "diff": bool(flags.get("diff"))})
        results = "[%s]" % ", ".join("r%d" % i for i in range(len(calls)))
        tasks.append({"ansible.builtin.copy": {"content": "{{ %s | to_json }}" % results, "dest": str(out)}})
        (tmp_path / "play.yml").write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
               str(tmp_path / "play.yml")]
        env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1")
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
        if not out.exists():
            raise AssertionError(res.stdout + res.stderr)
        return json.loads(out.read_text()), (res.stdout + res.stderr).replace("\n", " ")

    return run_tasks


def test_acquire_with_diff_then_held_then_release(run, tmp_path):
    (taken, held, kept, released), output = run([
        ({"command": "acquire", "run_id": "r1", "version": "v1", "locked_by": "Jane"}, {"diff": True}),
        ({"command": "acquire", "run_id": "r2"}, {}),
        ({"command": "release", "run_id": "r2"}, {}),
        ({"command": "release", "run_id": "r1"}, {"diff": True}),
    ])
    assert taken["changed"] and taken["msg"] == "Acquired the deploy lock"
    assert taken["diff"]["before"] == "" and "Locked by: Jane at" in taken["diff"]["after"]

    assert held.get("failed") and held["locked"] is True and held["holder"]["run_id"] == "r1"
    assert held["msg"].startswith("Deploy lock already in place on ")

    assert kept["changed"] is False and kept["released"] is False and kept["locked"] is True
    assert "Did not release the deploy lock" in output

    assert released["changed"] and released["locked"] is False and "Version: v1" in released["diff"]["before"]
    assert not (tmp_path / ".kamal" / "lock-app").exists()


def test_force_warns_about_the_broken_holder_and_manual_needs_a_message(run):
    (_manual, forced, no_message), output = run([
        ({"command": "acquire", "run_id": "r1", "manual": True, "lock_message": "Frozen for the audit", "locked_by": "Ana"}, {}),
        ({"command": "acquire", "run_id": "r2", "force": True}, {}),
        ({"command": "acquire", "manual": True}, {}),
    ])
    assert forced["changed"] and forced["broken"]["message"] == "Frozen for the audit"
    assert re.search(r"Broke the deploy lock .*Ana.*\(forced\)", output)
    assert no_message.get("failed") and "lock_message" in no_message["msg"]


def test_check_mode_status_and_audit(run, tmp_path):
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "app-eu-audit.log").write_text("a\nb\nc\n")
    (planned, status, audit), _output = run([
        ({"command": "acquire", "run_id": "r1"}, {"check": True}),
        ({"command": "status"}, {}),
        ({"command": "audit", "destination": "eu", "lines": 2}, {}),
    ])
    assert planned["changed"] is True and planned["acquired"] is True
    assert status["locked"] is False and status["msg"] == "There is no deploy lock"
    assert audit["audit_lines"] == ["b", "c"] and audit["path"].endswith(".kamal/app-eu-audit.log")
