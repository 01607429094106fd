"""kamal.deploy.kamal_hook through ansible-playbook on the controller (no lab needed)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from test_hooks import FIXTURE, read_records

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    common: &common
      project_dir: "{project}"
      service: app
      version: 0123456789abcdef0123456789abcdef01234567
      command: deploy
      secrets: {{SECRET_TOKEN: s3cr3t-value}}
      hooks_output: {{pre-deploy: verbose}}
  tasks:
    - kamal.deploy.kamal_hook: {{name: pre-connect, hosts: [10.0.0.1, 10.0.0.2], <<: *common}}
    - kamal.deploy.kamal_hook: {{name: pre-build, hosts: [10.0.0.1, 10.0.0.2], <<: *common}}
    - kamal.deploy.kamal_hook: {{name: pre-deploy, lock: true, hosts: [10.0.0.1, 10.0.0.2], <<: *common}}
    - kamal.deploy.kamal_hook: {{name: pre-app-boot, lock: true, hosts: [10.0.0.1], <<: *common}}
    - kamal.deploy.kamal_hook: {{name: post-deploy, runtime: 41.6, hosts: [10.0.0.1, 10.0.0.2], <<: *common}}
      register: post
    - kamal.deploy.kamal_hook: {{name: docker-setup, skip_hooks: true, hosts: [10.0.0.1, 10.0.0.2], <<: *common}}
      register: skipped
    - ansible.builtin.debug: {{var: post.env}}
    - ansible.builtin.assert:
        that:
          - skipped is skipped
          - post.ran and post.rc == 0
      when: not ansible_check_mode
"""


def run_playbook(tmp_path, playbook, extra_env=None, check=False):
    path = tmp_path / "play.yml"
    path.write_text(playbook)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", HOOK_LOG=str(tmp_path / "hooks.log"),
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.update(extra_env or {})
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(path)]
    cmd += ["--check"] if check else []
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path):
    hooks_dir = tmp_path / "app" / ".kamal" / "hooks"
    hooks_dir.mkdir(parents=True)
    for name in ("pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-deploy", "docker-setup"):
        shutil.copy(FIXTURE, hooks_dir / name)
    return tmp_path


def test_hooks_fire_in_order_with_kamals_variables(project):
    res = run_playbook(project, PLAYBOOK.format(project=project / "app"), {"HOOK_ECHO": "hello from $0 s3cr3t-value"})
    assert res.returncode == 0, res.stdout + res.stderr
    records = read_records(str(project / "hooks.log"))
    assert [r["hook"] for r in records] == ["pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-deploy"]
    by_name = {r["hook"]: r for r in records}
    assert by_name["pre-deploy"]["KAMAL_LOCK"] == "true" and by_name["post-deploy"]["KAMAL_LOCK"] == "false"
    assert by_name["pre-app-boot"]["KAMAL_HOSTS"] == "10.0.0.1" and by_name["pre-deploy"]["KAMAL_HOSTS"] == "10.0.0.1,10.0.0.2"
    assert by_name["post-deploy"]["KAMAL_RUNTIME"] == "42" and by_name["post-deploy"]["SECRET_TOKEN"] == "s3cr3t-value"
    assert "SECRET_TOKEN" not in by_name["pre-build"] and "SECRET_TOKEN" not in by_name["pre-app-boot"]
    assert all(r["KAMAL_SERVICE_VERSION"] == "app@0123456" and r["KAMAL_COMMAND"] == "deploy" for r in records)
    assert all(r["KAMAL_PERFORMER"] for r in records)
    # hooks_output verbose prints the pre-deploy output (masked); the secret never reaches ansible's output
    assert "hook pre-deploy stdout:\nhello from $0 ********" in res.stdout
    assert "hook pre-build stdout" not in res.stdout
    assert "s3cr3t-value" not in res.stdout + res.stderr


def test_a_failing_hook_fails_the_task_with_its_output(project):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kamal.deploy.kamal_hook:
        name: pre-deploy
        project_dir: "{project}"
        service: app
    - ansible.builtin.debug: {{msg: not reached}}
""".format(project=project / "app")
    res = run_playbook(project, playbook, {"HOOK_EXIT": "1", "HOOK_ECHO": "tests are red"})
    assert res.returncode == 2
    assert "Hook `pre-deploy` failed:" in res.stdout and "tests are red" in res.stdout
    assert "not reached" not in res.stdout


def test_check_mode_runs_no_hook(project):
    res = run_playbook(project, PLAYBOOK.format(project=project / "app"), check=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert read_records(str(project / "hooks.log")) == []


def test_result_of_a_missing_hook(project):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kamal.deploy.kamal_hook: {{name: post-proxy-reboot, project_dir: "{project}", service: app}}
      register: r
    - ansible.builtin.copy: {{content: "{{{{ r | to_json }}}}", dest: "{out}"}}
""".format(project=project / "app", out=project / "result.json")
    res = run_playbook(project, playbook)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads((project / "result.json").read_text())
    assert result["ran"] is False and result["changed"] is False and result["skipped_reason"].startswith("no hook file")
