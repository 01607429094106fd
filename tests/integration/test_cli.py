"""kamal-ansible, the installed console script, against the lab through the real collection: the lock
commands (status, acquire -m, release) and app details, in a project whose service is `cliapp`."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import write_lab_project  # noqa: E402  pylint: disable=wrong-import-position

SCRIPT = os.path.join(os.path.dirname(sys.executable), "kamal-ansible")
SERVICE = "cliapp"


def installed_is_current():
    """The console script runs the installed copy (pip install ./cli, not editable): it must be this tree's."""
    res = subprocess.run([sys.executable, "-c", "import kamal_ansible, os; print(os.path.dirname(kamal_ansible.__file__))"],
                         capture_output=True, text=True, check=True, cwd="/", stdin=subprocess.DEVNULL)
    installed, source = res.stdout.strip(), os.path.join(REPO, "cli", "kamal_ansible")
    for name in sorted(os.listdir(source)):
        if name.endswith(".py"):
            with open(os.path.join(source, name), "rb") as a, open(os.path.join(installed, name), "rb") as b:
                if a.read() != b.read():
                    return False
    return True


@pytest.fixture
def project(lab, tmp_path, unavailable):
    if not os.path.exists(SCRIPT):
        unavailable("kamal-ansible is not installed (%s): pip install -r requirements.txt" % SCRIPT)
    if not installed_is_current():
        pytest.fail("the installed kamal-ansible is older than cli/: run `make venv` after `touch requirements.txt`, or pip install ./cli")
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, "build", "collections")
    config = {
        "service": SERVICE, "image": SERVICE, "servers": {"web": [lab.ips[0]]},
        "registry": {"server": lab.registry, "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
        "builder": {"arch": "amd64"},
        "ssh": {"user": "root", "keys": [lab.state["ssh_key"]], "config": lab.ssh_config},
    }
    write_lab_project(tmp_path, config, collections)
    clean = "rm -rf .kamal/lock-%s .kamal/%s-audit.log" % (SERVICE, SERVICE)
    lab.ssh(lab.ips[0], clean, check=False)
    yield tmp_path
    lab.ssh(lab.ips[0], clean, check=False)


def kamal_ansible(project, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    env.pop("KAMAL_ANSIBLE_DRY_RUN", None)
    return subprocess.run([SCRIPT] + list(args), cwd=str(project), env=env, capture_output=True, text=True, timeout=300,
                          check=False, stdin=subprocess.DEVNULL)


def test_lock_status_acquire_and_release_through_kamal_ansible(project, lab):
    res = kamal_ansible(project, "lock", "status")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "There is no deploy lock" in res.stdout

    res = kamal_ansible(project, "lock", "acquire", "-m", "CLI test: don't deploy, it's \"held\"")
    assert res.returncode == 0, res.stdout + res.stderr
    assert lab.ssh(lab.ips[0], "test -d .kamal/lock-%s" % SERVICE, check=False).returncode == 0

    res = kamal_ansible(project, "lock", "status")
    assert res.returncode == 0 and "CLI test: don't deploy, it's \"held\"" in res.stdout, res.stdout

    res = kamal_ansible(project, "lock", "release")
    assert res.returncode == 0, res.stdout + res.stderr
    assert lab.ssh(lab.ips[0], "test -e .kamal/lock-%s" % SERVICE, check=False).returncode == 1


def test_app_details_runs_the_playbook_on_the_lab(project, lab):
    res = kamal_ansible(project, "app", "details")
    assert res.returncode == 0, res.stdout + res.stderr
    # Only the result, per host (the kamal.deploy.kamal callback); -v gives Ansible's own output.
    assert res.stdout == "%s (web)\n(none)\n" % lab.ips[0]
    verbose = kamal_ansible(project, "app", "details", "-v")
    assert "PLAY [Kamal app details]" in verbose.stdout and "failed=0" in verbose.stdout.split("PLAY RECAP")[-1]


def test_an_unknown_host_fails_with_ansible_playbooks_status(project):
    res = kamal_ansible(project, "app", "details", "-h", "192.0.2.99")
    assert res.returncode != 0
