"""The server_bootstrap role on the lab's bare server (Debian without Docker), as a non-root SSH user with sudo.

The bare server is shared and keeps Docker once a run installed it, so the test is safe to run again: each run
uses a fresh user (the docker-group step runs every time) and asserts the second run changes nothing."""
import json
import os
import re
import subprocess
import sys
import time
import uuid

_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = _BIN if os.path.exists(_BIN) else "ansible-playbook"


def run_role(lab, tmp_path, user):
    """Run the role as ``user``; returns (recap counters, names of the changed tasks, seconds)."""
    playbook = tmp_path / "bootstrap.yml"
    playbook.write_text("- hosts: lab_bare\n  gather_facts: false\n  roles:\n    - role: kamal.deploy.server_bootstrap\n")
    start = time.monotonic()
    res = subprocess.run([ANSIBLE_PLAYBOOK, "-i", lab.inventory, "-u", user, str(playbook)], env=lab.ansible_env(),
                         capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr
    changed, task = [], None
    for line in res.stdout.splitlines():
        match = re.match(r"^TASK \[(?:[^:\]]+ : )?(.*)\] \**$", line)
        if match:
            task = match.group(1)
        elif line.startswith("changed: ["):
            changed.append(task)
    recap = re.search(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", res.stdout, re.M)
    stats = dict(zip(("ok", "changed", "unreachable", "failures"), map(int, recap.groups())))
    return stats, changed, took


def test_bootstrap_installs_docker_for_a_non_root_user_and_is_idempotent(lab, tmp_path):
    bare = lab.extra("bare")["ip"]
    user = "kb" + uuid.uuid4().hex[:8]
    had_docker = lab.ssh(bare, "command -v docker", check=False).returncode == 0
    lab.ssh(bare, "useradd -m -s /bin/bash {u} && install -d -m 700 -o {u} -g {u} /home/{u}/.ssh && "
                  "install -m 600 -o {u} -g {u} /root/.ssh/authorized_keys /home/{u}/.ssh/authorized_keys && "
                  "echo '{u} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{u} && chmod 440 /etc/sudoers.d/{u}".format(u=user))
    try:
        stats, changed, first = run_role(lab, tmp_path, user)
        assert stats["failures"] == 0 and stats["unreachable"] == 0
        assert "Let the SSH user use Docker without sudo" in changed
        if not had_docker:
            assert "Install Docker and the Docker SDK for Python from the distribution" in changed

        # the user reaches the engine without sudo, from a new login, and the SDK works
        check = subprocess.run(["ssh", "-F", lab.ssh_config, "-l", user, bare,
                                "docker info --format '{{.ServerVersion}}' && python3 -c "
                                "'import docker; print(docker.from_env().ping())'"],
                               capture_output=True, text=True, check=False)
        assert check.returncode == 0 and check.stdout.split()[-1] == "True", check.stdout + check.stderr

        stats, changed, second = run_role(lab, tmp_path, user)
        assert stats["changed"] == 0 and changed == [], changed
        print("figures:", json.dumps({"had_docker": had_docker, "first_run_s": round(first, 2),
                                      "second_run_s": round(second, 2)}))
    finally:
        lab.ssh(bare, "userdel -f -r {u} 2>/dev/null; rm -f /etc/sudoers.d/{u}".format(u=user), check=False)
