"""This run's identity from the controller's Python: run id, ansible-playbook's pid, performer, live pids."""
import os
import subprocess
import sys
import uuid

from ansible_collections.kamal.deploy.plugins.plugin_utils import controller

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def git_runner(email=None, name=None):
    def run(args, cwd=None, env=None):
        if args[:2] == ["git", "config"]:
            value = {"user.email": email, "user.name": name}[args[2]]
            return (0, value + "\n", "") if value else (1, "", "")
        raise AssertionError(args)
    return run


def test_each_run_has_a_new_uuid():
    first, second = controller.run_id(), controller.run_id()
    assert first != second and str(uuid.UUID(first)) == first


def test_the_performer_is_gits_email_else_the_user(tmp_path):
    assert controller.identity(str(tmp_path), runner=git_runner(email="dev@example.test"))["performer"] == "dev@example.test"
    user = controller.identity(str(tmp_path), runner=git_runner())["performer"]
    assert user and "@" not in user


def test_the_lock_is_taken_by_gits_user_name_else_unknown(tmp_path):
    assert controller.locked_by(str(tmp_path), runner=git_runner(name="Dev Eloper")) == "Dev Eloper"
    assert controller.locked_by(str(tmp_path), runner=git_runner()) == "Unknown"


def test_live_pids_include_this_process_and_are_empty_when_ps_fails():
    assert os.getpid() in controller.live_pids()
    assert controller.live_pids(runner=lambda args: (1, "", "no ps")) == []


def test_the_resolved_run_in_a_playbook_names_the_ansible_playbook_process(tmp_path):
    """kamal_prepare (the command role's one controller task) runs in an ansible-playbook worker: the pid it
    records for the lock is ansible-playbook's own, so a lock whose owner is gone can be told from a live one."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: app\nimage: app\nservers: [127.0.0.1]\nregistry: {server: localhost:5555}\nbuilder: {arch: amd64}\n")
    play = tmp_path / "play.yml"
    play.write_text(f"""
- hosts: all
  gather_facts: false
  tasks:
    - kamal.deploy.kamal_prepare: {{command: app version}}
      register: run
      run_once: true
      delegate_to: localhost
    - ansible.builtin.copy: {{content: "{{{{ run.run_id }}}} {{{{ run.controller_pid }}}} {{{{ run.performer }}}}", dest: "{tmp_path}/out"}}
      run_once: true
      delegate_to: localhost
""")
    env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="kamal.deploy.kamal")
    proc = subprocess.Popen([ANSIBLE_PLAYBOOK, "-i", "config/deploy.yml", "-c", "local",
                             "-e", "ansible_python_interpreter=" + sys.executable, str(play)], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _err = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    run_id, pid, performer = (tmp_path / "out").read_text().split(" ", 2)
    assert str(uuid.UUID(run_id)) == run_id and int(pid) == proc.pid and performer
