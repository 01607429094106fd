"""The AWX path, without AWX: `ansible-runner run` (what AWX runs a job with) against the lab.

The private_data_dir is laid out as AWX lays out a job's: project/ is the project checkout (the project
playbooks of docs/examples/awx-project importing kamal.deploy.*, the app's config/deploy.yml with a
`*.kamal.yml` inventory source, a .kamal/secrets holding only $VAR references), env/envvars holds what
a custom credential injects (the secrets), env/ssh_key the Machine credential's key (ansible-runner
serves it through ssh-agent: the project names no key file), env/extravars the extra vars and survey
answers. The deploy.yml is not in a git repository, as in an AWX job: the version comes from the extra vars.

deploy v1 reads the `*.kamal.yml` source directly; deploy v2 and the rollback run on the inventory as
AWX stores it after an inventory sync (`ansible-inventory --list --export`, served back by a script).
"""
import configparser
import json
import os
import shutil
import stat
import subprocess
import sys
import urllib.request

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "docs", "examples", "awx-project")
BIN = os.path.dirname(sys.executable)
SERVICE = "awxapp"
HOST = "awxapp.lab.test"
SECRET = "awx-s3cr3t-from-envvars"
# Ansible settings from the test's environment would hide the project's own ansible.cfg.
DROPPED_ENV = ("ANSIBLE_CONFIG", "ANSIBLE_INVENTORY", "VERSION", "KAMAL_REGISTRY_PASSWORD", "APP_SECRET", "KAMAL_DESTINATION")


def tool(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else name


class AwxJob:
    """A private_data_dir for ansible-runner holding an AWX-style project for the lab."""

    def __init__(self, lab, root):
        self.lab, self.root = lab, root
        self.project = root / "project"
        self.repository = f"{lab.registry}/{SERVICE}"
        shutil.copytree(EXAMPLE, self.project, ignore=shutil.ignore_patterns("config", "ansible.cfg"))
        (self.project / "config").mkdir()
        config = {
            "service": SERVICE, "image": SERVICE, "servers": {"web": list(lab.ips)},
            "proxy": {"host": HOST, "app_port": 80},
            "registry": {"server": lab.registry, "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
            "builder": {"arch": "amd64"},
            "env": {"clear": {"GREETING": "from awx {{ not_templated }}"}, "secret": ["APP_SECRET"]},
            "ssh": {"user": "root"},
            "readiness_delay": 0, "deploy_timeout": 10, "drain_timeout": 5,
        }
        (self.project / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        # The lab's proxy image, next to the inventory source as a project's group_vars would be.
        (self.project / "group_vars").mkdir()
        (self.project / "group_vars" / "all.yml").write_text(
            yaml.safe_dump({"kamal_proxy_image": f"{lab.registry}/kamal-lab/proxy:2.11"}))
        self.write_ansible_cfg()
        env = root / "env"
        env.mkdir()
        (env / "envvars").write_text(yaml.safe_dump({"KAMAL_REGISTRY_PASSWORD": "lab-has-no-auth", "APP_SECRET": SECRET}))
        shutil.copy(lab.state["ssh_key"], env / "ssh_key")
        os.chmod(env / "ssh_key", stat.S_IRUSR | stat.S_IWUSR)

    def write_ansible_cfg(self):
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read(os.path.join(EXAMPLE, "ansible.cfg"))
        # What the EE or the AWX settings provide in a real job: the collection, the servers' python,
        # and the servers' host keys (checking stays on). No key file: the key comes from env/ssh_key.
        cfg["defaults"] = {"collections_path": os.environ["ANSIBLE_COLLECTIONS_PATH"], "interpreter_python": "/usr/bin/python3",
                           "forks": "20"}
        known_hosts = os.path.join(os.path.dirname(self.lab.ssh_config), "known_hosts")
        cfg["ssh_connection"] = {"pipelining": "True",
                                 "ssh_args": f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o BatchMode=yes"}
        with open(self.project / "ansible.cfg", "w", encoding="utf-8") as f:
            cfg.write(f)

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env["ANSIBLE_FORCE_COLOR"] = "0"
        return env

    def sync_inventory(self):
        """An AWX inventory sync: ansible-inventory on the project's source, stored as data; a job then
        reads it from a script that prints that data."""
        # AWX's command for a source sourced from a project (awx/main/tasks/jobs.py RunInventoryUpdate).
        res = subprocess.run([tool("ansible-inventory"), "--list", "--export", "-i", str(self.project / "production.kamal.yml"),
                              "--playbook-dir", str(self.project)], cwd=self.project,
                             env=self.env(), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        data = json.loads(res.stdout)
        inventory = self.root / "inventory"
        inventory.mkdir(exist_ok=True)
        (inventory / "awx.json").write_text(json.dumps(data))
        script = inventory / "hosts"
        script.write_text("#!/bin/sh\n# AWX's job inventory: the synced data\n"
                          f"[ \"$1\" = --list ] && exec cat {inventory / 'awx.json'}\necho '{{}}'\n")
        script.chmod(0o755)
        return data

    def run(self, playbook, extravars, ident, inventory=None):
        (self.root / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        cmd = [tool("ansible-runner"), "run", str(self.root), "-p", playbook, "--ident", ident]
        if inventory:
            cmd += ["--inventory", inventory]
        res = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
                             timeout=600)
        artifacts = self.root / "artifacts" / ident
        status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "no status"
        assert res.returncode == 0 and status == "successful", f"{ident}: {status}\n{res.stdout[-6000:]}{res.stderr[-3000:]}"
        command = " ".join(json.loads((artifacts / "command").read_text())["command"])
        # The key reached ssh through ssh-agent, and the job ran on the inventory meant: the source given,
        # else the private_data_dir's inventory/ (an AWX job's).
        assert command.startswith("ssh-agent ") and " ssh-add " in command, command
        assert f"ansible-playbook -i {inventory or self.root / 'inventory'} " in command, command
        return res.stdout

    def served(self):
        answers = {}
        for ip in self.lab.ips:
            req = urllib.request.Request(f"http://{ip}/", headers={"Host": HOST})
            with urllib.request.urlopen(req, timeout=5) as res:
                answers[ip] = res.read().decode().strip()
        return answers


@pytest.fixture(scope="module")
def job(lab, tmp_path_factory):
    push_repo = f"{lab.registry_push}/{SERVICE}"
    # Images as CI would have built them (the `service` label Kamal's builder adds): the job skips the build.
    for version in ("v1", "v2"):
        subprocess.run(["docker", "build", "-q", "--label", f"service={SERVICE}", "-t", f"{push_repo}:{version}", "-"],
                       input=f"FROM kamal-lab/demo-app:{version}\n", text=True, check=True, capture_output=True)
        subprocess.run(["docker", "push", "-q", f"{push_repo}:{version}"], check=True, capture_output=True)
    awx = AwxJob(lab, tmp_path_factory.mktemp("awx"))
    yield awx
    for version in ("v1", "v2"):
        subprocess.run(["docker", "rmi", f"{push_repo}:{version}"], check=False, capture_output=True)
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={SERVICE} | xargs -r docker rm -f; "
                    f"docker images -q {awx.repository} | sort -u | xargs -r docker rmi -f; rm -rf .kamal/apps/{SERVICE}",
                check=False)
    subprocess.run([tool("ansible"), "all", "-i", ",".join(lab.ips) + ",", "-m", "kamal.deploy.kamal_proxy",
                    "-a", f"command=remove_route name={SERVICE}-web"], env=lab.ansible_env(), capture_output=True, check=False)


def test_the_example_project_is_what_awx_is_given(job):
    # AWX lists the project's playbooks; each imports the collection's.
    for name, target in (("deploy.yml", "kamal.deploy.deploy"), ("rollback.yml", "kamal.deploy.rollback")):
        (play,) = yaml.safe_load((job.project / name).read_text())
        assert play["ansible.builtin.import_playbook"] == target
    secrets = (job.project / ".kamal" / "secrets").read_text()
    assert SECRET not in secrets and "=$APP_SECRET" in secrets
    assert not (job.project / ".git").exists()


def test_deploy_through_ansible_runner_with_secrets_from_the_credential_env(job, lab):
    job.run("deploy.yml", {"version": "v1", "skip_push": True}, "deploy-v1", inventory=str(job.project / "production.kamal.yml"))
    assert job.served() == {ip: "app v1" for ip in lab.ips}
    env = lab.ssh(lab.ips[0], f"docker exec {SERVICE}-web-v1 env").stdout.splitlines()
    assert f"APP_SECRET={SECRET}" in env
    assert "GREETING=from awx {{ not_templated }}" in env  # values from deploy.yml are never templated
    audit = lab.ssh(lab.ips[0], f"cat .kamal/{SERVICE}-audit.log").stdout
    assert "Booted app version v1" in audit and SECRET not in audit
    # The job's output (AWX's job log) never shows the secret.
    stdout = (job.root / "artifacts" / "deploy-v1" / "stdout").read_text()
    assert SECRET not in stdout


def test_deploy_then_rollback_on_the_inventory_as_awx_stores_it(job, lab):
    data = job.sync_inventory()
    assert sorted(data["kamal_app_hosts"]["hosts"]) == sorted(lab.ips)
    # ansible-inventory marks the config's values unsafe in its JSON ({"__ansible_unsafe": ...}); AWX stores
    # that JSON as it is and hands it back to the job.
    assert data["all"]["vars"]["kamal"]["service"] in (SERVICE, {"__ansible_unsafe": SERVICE})
    job.run("deploy.yml", {"version": "v2", "skip_push": True}, "deploy-v2")
    assert job.served() == {ip: "app v2" for ip in lab.ips}
    env = lab.ssh(lab.ips[0], f"docker exec {SERVICE}-web-v2 env").stdout.splitlines()
    assert f"APP_SECRET={SECRET}" in env and "GREETING=from awx {{ not_templated }}" in env
    job.run("rollback.yml", {"version": "v1"}, "rollback-v1")
    assert job.served() == {ip: "app v1" for ip in lab.ips}
    for ip in lab.ips:
        running = lab.ssh(ip, f"docker ps --filter label=service={SERVICE} --format '{{{{.Names}}}}'").stdout.split()
        assert running == [f"{SERVICE}-web-v1"], (ip, running)
    # No lock is left behind by the three jobs.
    assert lab.ssh(lab.ips[0], f"test -e .kamal/lock-{SERVICE}", check=False).returncode == 1
