"""plugin_utils/action.py: an action plugin fails an unexpected exception in one line, never with Ansible's
'Unexpected failure during task execution' and a traceback in the message."""
import json
import os
import re
import subprocess
import sys

import pytest

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError
from ansible_collections.kamal.deploy.plugins.plugin_utils.action import action_boundary

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"


class Task:
    action = "kamal.deploy.kamal_lock"
    args = {"command": "acquire"}

    def get_name(self):
        return "Take the deploy lock"


class Action:
    def __init__(self, exc, actions=None):
        self._task = Task()
        self.exc = exc
        if actions is not None:
            self.actions = actions

    @action_boundary
    def run(self, tmp=None, task_vars=None):
        raise self.exc


def test_an_unexpected_exception_fails_in_one_line_naming_the_task_with_the_actions_and_its_cause():
    exc = KeyError("run_id")
    with pytest.raises(AnsibleActionFail) as failed:
        Action(exc, actions=["docker buildx build"]).run()
    assert failed.value.message == "kamal_lock acquire (task 'Take the deploy lock'): unexpected KeyError: 'run_id'"
    assert failed.value.result == {"failed": True, "msg": failed.value.message, "actions": ["docker buildx build"]}
    assert failed.value.__cause__ is exc  # Ansible shows its traceback when asked (ANSIBLE_DISPLAY_TRACEBACK=error)


def test_a_known_error_keeps_its_message_and_details_and_no_cause():
    with pytest.raises(AnsibleActionFail) as failed:
        Action(KamalError("no deploy.yml in /srv/app", path="/srv/app")).run()
    assert failed.value.result == {"failed": True, "msg": "no deploy.yml in /srv/app", "path": "/srv/app"}
    assert failed.value.__cause__ is None


@pytest.mark.parametrize("exc", [AnsibleActionFail("Hook `pre-deploy` failed"), AnsibleConnectionFailure("ssh: refused")],
                         ids=["a failure raised on purpose", "an unreachable host"])
def test_ansibles_own_errors_pass_through_untouched(exc):
    with pytest.raises(type(exc)) as raised:
        Action(exc).run()
    assert raised.value is exc


def test_through_ansible_playbook_the_result_is_the_one_line(tmp_path):
    # kamal_plan_run.hosts maps a host to {roles: [...]}; a number instead makes kamal_fleet trip over an AttributeError.
    out = tmp_path / "result.json"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.set_fact": {"kamal_plan_run": {"hosts": {"localhost": 5}}}},
        {"name": "Fleet", "kamal.deploy.kamal_fleet": {"version": "v1", "hosts": ["localhost"]},
         "register": "fleet", "ignore_errors": True},
        {"ansible.builtin.copy": {"content": "{{ fleet | to_json }}", "dest": str(out)}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1")
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
           str(tmp_path / "play.yml")]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.exists(), res.stdout + res.stderr
    result = json.loads(out.read_text())
    assert result["failed"] is True
    assert re.fullmatch(r"kamal_fleet \(task 'Fleet'\): unexpected AttributeError: '\w*Int' object has no attribute 'get'",
                        result["msg"]), result["msg"]
    assert "Unexpected failure" not in result["msg"] and "Traceback" not in result["msg"]
    assert "Traceback" not in res.stdout
