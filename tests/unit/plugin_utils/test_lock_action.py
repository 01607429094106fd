"""The kamal_lock action through ansible-playbook (local connection): a run's own lock is taken and released by
one shell command with the module's result, and whatever the shell command cannot decide goes to the module."""
import json
import os
import subprocess
import sys

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"
# Ansible adds the file facts of a module result's ``path`` (the lock directory); the shell path has no module.
FILE_FACTS = {"uid", "gid", "owner", "group", "mode", "size", "state", "secontext"}
ORDER = ("acquired", "held", "not_ours", "released")


def play_the_lock(tmp_path, name, quick):
    home, out = tmp_path / name, tmp_path / (name + ".json")
    home.mkdir()

    def task(command, run_id, register):
        return {"kamal.deploy.kamal_lock": {
            "command": command, "service": "shop", "run_id": run_id, "controller_pid": os.getpid(), "home": str(home),
            "controller_host": "ctl", "locked_by": "Jane", "version": "v9"}, "register": register, "ignore_errors": True}

    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        task("acquire", "run-1", "acquired"), task("acquire", "run-2", "held"),
        task("release", "run-2", "not_ours"), task("release", "run-1", "released"),
        {"ansible.builtin.copy": {"dest": str(out), "content": "{{ [%s] | to_json }}" % ", ".join(ORDER)}}]}]
    (tmp_path / (name + ".yml")).write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1", KAMAL_QUICK_LOCK="1" if quick else "0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    res = subprocess.run([ANSIBLE_PLAYBOOK, "-vvv", "-i", "localhost,", "-c", "local", "-e",
                          "ansible_python_interpreter=" + sys.executable, str(tmp_path / (name + ".yml"))],
                         env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (home / ".kamal" / "lock-shop").exists()
    return dict(zip(ORDER, json.loads(out.read_text()))), res.stdout


def comparable(result, home):
    """The result without what differs between two runs (the home, the clock) and Ansible's file facts."""
    holder = dict(result.get("holder") or {}, locked_at=None, expires_at=None, details=None, age=None)
    found = dict({k: v for k, v in result.items() if k not in FILE_FACTS}, holder=holder if result.get("holder") else None)
    return json.loads(json.dumps(found).replace(str(home), "HOME"))


def test_the_quick_path_takes_and_releases_a_runs_own_lock_with_the_modules_result(tmp_path):
    quick, out = play_the_lock(tmp_path, "quick", quick=True)
    module, module_out = play_the_lock(tmp_path, "module", quick=False)
    # run-1's acquire and release went by one shell command each; run-2's found the lock held / not its own there
    # and went on to the module, which refused and left it in place, as the module alone does.
    assert out.count(".kamal/.lock-shop.extra.$$") == 2 and module_out.count(".kamal/.lock-shop.extra.$$") == 0
    assert quick["acquired"]["msg"] == "Acquired the deploy lock" and quick["acquired"]["holder"]["run_id"] == "run-1"
    assert quick["held"]["failed"] and "Deploy lock already in place" in quick["held"]["msg"]
    assert "not ours" in quick["not_ours"]["not_released_reason"]
    assert (quick["released"]["released"], quick["released"]["holder"]["run_id"]) == (True, "run-1")
    for step in ("acquired", "released"):
        assert comparable(quick[step], tmp_path / "quick") == comparable(module[step], tmp_path / "module"), step
    for step in ("held", "not_ours"):  # the module's own results both times: the same keys
        assert sorted(quick[step]) == sorted(module[step]), step
