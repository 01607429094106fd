"""Integration tests run against the lab (tests/lab/lab.py up, or `make lab`).

Without a lab they fail in CI (CI=true) and are skipped elsewhere, so a laptop without Docker can still
run the rest."""
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))
IN_CI = os.environ.get("CI", "").lower() == "true"


class Lab:
    def __init__(self, state):
        self.state = state
        self.servers = state["servers"]
        self.ips = [s["ip"] for s in self.servers]
        self.registry = state["registry"]
        self.registry_push = state["registry_push"]
        self.images = state["images"]
        self.ssh_config = state["ssh_config"]
        self.ansible_cfg = state["ansible_cfg"]
        self.inventory = state["inventory"]

    def extra(self, role):
        return next(s for s in self.state["extra_servers"] if s.get("role") == role)

    def ssh(self, ip, command, check=True, input=None, timeout=60):  # pylint: disable=redefined-builtin
        """Run a shell command on a lab server over real SSH."""
        res = subprocess.run(["ssh", "-F", self.ssh_config, ip, command], input=input, text=True,
                             capture_output=True, timeout=timeout, check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"ssh {ip} {command!r} failed ({res.returncode}): {res.stdout}{res.stderr}")
        return res

    def ansible_env(self):
        return dict(os.environ, ANSIBLE_CONFIG=self.ansible_cfg)


@pytest.fixture(scope="session")
def lab():
    path = os.path.join(LAB_STATE, "lab.json")
    if not os.path.exists(path):
        msg = f"the lab is not up ({path} missing): run `make lab`"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    with open(path, encoding="utf-8") as f:
        return Lab(json.load(f))
