"""kamal_accessory on a lab server through real SSH: a Postgres accessory keeps its data across a reboot with
a new tag and a restart of the server itself; boot is idempotent; a bad tag and remove fail safely."""
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

# The ansible-playbook next to the interpreter running the tests (the virtualenv's), else the one on PATH.
_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = _BIN if os.path.exists(_BIN) else "ansible-playbook"
SERVER = "vm2"  # shared with other tests: unique names, cleanup in finally
PASSWORD = "pw-" + uuid.uuid4().hex[:12]


def run_module(lab, tmp_path, args, check=False, diff=False, fail_ok=False):
    """One kamal_accessory task on SERVER; returns its result (with the run's wall time as ``_seconds``)."""
    playbook = tmp_path / "accessory.yml"
    out = tmp_path / "out.json"
    if out.exists():
        out.unlink()
    playbook.write_text(textwrap.dedent(f"""
        - hosts: {SERVER}
          gather_facts: false
          tasks:
            - kamal.deploy.kamal_accessory: {json.dumps(args)}
              register: result
              ignore_errors: {str(fail_ok).lower()}
            - ansible.builtin.copy:
                content: "{{{{ result | to_json }}}}"
                dest: {out}
              delegate_to: localhost
              check_mode: false
    """))
    cmd = [ANSIBLE_PLAYBOOK, "-i", lab.inventory, str(playbook)] + (["--check"] if check else []) + (
        ["--diff"] if diff else [])
    start = time.monotonic()
    res = subprocess.run(cmd, env=lab.ansible_env(), capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    assert res.returncode == 0, res.stdout + res.stderr
    assert PASSWORD not in res.stdout + res.stderr
    result = json.loads(out.read_text())
    result["_seconds"] = took
    return result


def server_ip(lab):
    return next(s["ip"] for s in lab.servers if s["name"] == SERVER)


def container_of(lab, name):
    out = lab.ssh(server_ip(lab), "docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.State.Status}} "
                                  "{{.Config.Image}}' %s" % name, check=False)
    return out.stdout.split() if out.returncode == 0 else None


def psql(lab, name, sql):
    return lab.ssh(server_ip(lab), "docker exec %s psql -U postgres -d shop -tAc \"%s\"" % (name, sql)).stdout.strip()


def wait_for_postgres(lab, name, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        res = lab.ssh(server_ip(lab), "docker exec %s pg_isready -U postgres -h 127.0.0.1" % name, check=False)
        if res.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("postgres in %s not ready: %s%s" % (name, res.stdout, res.stderr))
        time.sleep(0.5)


@pytest.fixture(scope="module")
def second_tag(lab):
    """The same Postgres image under a second tag in the lab registry (a 'new version' to reboot to)."""
    source = "%s/kamal-lab/postgres:15" % lab.registry_push
    target = source + "-b"
    have = subprocess.run(["docker", "image", "inspect", source], capture_output=True, check=False).returncode == 0
    subprocess.run(["docker", "tag", source if have else "kamal-lab/postgres:15", target], check=True)
    subprocess.run(["docker", "push", "-q", target], check=True, capture_output=True)
    return "kamal-lab/postgres:15-b"


def test_postgres_accessory_keeps_its_data(lab, tmp_path, second_tag):  # pylint: disable=redefined-outer-name
    service = "acc" + uuid.uuid4().hex[:6]
    name = "%s-postgres" % service
    args = {
        "service": service, "name": "postgres", "image": "kamal-lab/postgres:15",
        "registry": {"server": lab.registry}, "host": SERVER,
        "env": {"POSTGRES_USER": "postgres", "POSTGRES_DB": "shop"},
        "secret_env": {"POSTGRES_PASSWORD": PASSWORD},
        "directories": ["data:/var/lib/postgresql/data"],
        "files": [{"content": "listen_addresses = '*'\n", "remote": "/etc/postgresql-extra.conf", "mode": "0644"}],
    }
    figures = {}
    try:
        planned = run_module(lab, tmp_path, args, check=True, diff=True)
        assert planned["changed"] and container_of(lab, name) is None
        assert planned["diff"]["before"] == {"container": None}

        booted = run_module(lab, tmp_path, args)
        figures["boot_s"] = booted["_seconds"]
        assert booted["changed"]
        cid, started, status, image = container_of(lab, name)
        assert status == "running" and image == "%s/kamal-lab/postgres:15" % lab.registry
        env_file = "/root/.kamal/apps/%s/env/accessories/postgres.env" % service
        assert lab.ssh(server_ip(lab), "stat -c %a " + env_file).stdout.strip() == "600"
        assert lab.ssh(server_ip(lab), "stat -c %%a /root/%s/etc/postgresql-extra.conf" % name).stdout.strip() == "644"

        again = run_module(lab, tmp_path, args)
        figures["rerun_s"] = again["_seconds"]
        assert not again["changed"] and again["actions"] == []
        assert container_of(lab, name)[:2] == [cid, started]
        check_again = run_module(lab, tmp_path, args, check=True, diff=True)
        assert not check_again["changed"]

        wait_for_postgres(lab, name)
        psql(lab, name, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)")
        assert psql(lab, name, "SELECT count(*) FROM t") == "1000"

        new_args = dict(args, image=second_tag)
        # boot never replaces: the difference is reported, nothing is touched
        skipped = run_module(lab, tmp_path, new_args)
        assert not skipped["changed"] and skipped["differs"] == ["image"] and "accessory_reboot" in skipped["msg"]
        assert container_of(lab, name)[:2] == [cid, started]
        # --check --diff of the reboot names the exact keys
        plan = run_module(lab, tmp_path, dict(new_args, command="reboot"), check=True, diff=True)
        assert plan["changed"] and plan["differs"] == ["image"], plan
        assert plan["diff"] == {"before": {"image": "%s/kamal-lab/postgres:15" % lab.registry},
                                "after": {"image": "%s/%s" % (lab.registry, second_tag)}}
        assert container_of(lab, name)[:2] == [cid, started]

        rebooted = run_module(lab, tmp_path, dict(new_args, command="reboot"))
        figures["reboot_s"] = rebooted["_seconds"]
        assert rebooted["changed"]
        assert rebooted["actions"][0].startswith("docker image pull")  # before the stop
        new_cid, _started, status, image = container_of(lab, name)
        assert new_cid != cid and status == "running" and image.endswith(":15-b")
        wait_for_postgres(lab, name)
        assert psql(lab, name, "SELECT count(*) FROM t") == "1000"

        # the server itself restarts: its dockerd brings the accessory back (restart unless-stopped)
        # Lab workaround: `docker restart` kills the server's dockerd without a clean exit, and the lab entrypoint
        # does not remove the stale pid files of dockerd and its containerd, so dockerd would refuse to start (or wait
        # for a containerd whose pid now belongs to another process). Deleting the pid files
        # of the running daemons beforehand is harmless (they are only read at start-up).
        lab.ssh(server_ip(lab), "rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid")
        start = time.monotonic()
        subprocess.run(["docker", "restart", "kamal-lab-%s" % SERVER], check=True, capture_output=True)
        deadline = time.monotonic() + 120
        while lab.ssh(server_ip(lab), "docker info >/dev/null 2>&1", check=False).returncode != 0:
            assert time.monotonic() < deadline, "the server did not come back"
            time.sleep(1)
        wait_for_postgres(lab, name, timeout=90)
        figures["server_restart_to_ready_s"] = time.monotonic() - start
        assert container_of(lab, name)[0] == new_cid
        assert psql(lab, name, "SELECT count(*) FROM t") == "1000"
        after_restart = run_module(lab, tmp_path, new_args)
        assert not after_restart["changed"]

        # a bad tag fails at the pull, before anything stops
        before = container_of(lab, name)
        bad = run_module(lab, tmp_path, dict(args, image="kamal-lab/postgres:no-such-tag", command="reboot"),
                         fail_ok=True)
        assert bad["failed"] and "no-such-tag" in bad["msg"]
        assert bad["actions"] == ["docker image pull %s/kamal-lab/postgres:no-such-tag" % lab.registry]
        assert container_of(lab, name) == before and before[2] == "running"
        assert psql(lab, name, "SELECT count(*) FROM t") == "1000"

        # remove refuses without confirm and lists what it would delete
        refused = run_module(lab, tmp_path, dict(new_args, command="remove"), fail_ok=True)
        assert refused["failed"] and "confirm" in refused["msg"]
        plan = refused["would_remove"]
        assert plan["containers"] == [name] and plan["directories"] == ["/root/%s" % name]
        assert "/root/%s/data" % name in plan["directory_contents"]
        assert container_of(lab, name) == before
    finally:
        gone = run_module(lab, tmp_path, dict(args, image=second_tag, command="remove", confirm=True))
        # Kamal's remove keeps the env file; the test leaves nothing behind
        lab.ssh(server_ip(lab), "rm -rf /root/.kamal/apps/%s" % service)
        print("figures:", json.dumps({k: round(v, 2) for k, v in figures.items()}))
    assert container_of(lab, name) is None
    assert lab.ssh(server_ip(lab), "test -e /root/%s" % name, check=False).returncode == 1
    assert gone["removed"]["containers"] == [name]


def test_failed_boot_leaves_no_container(lab, tmp_path):
    service = "acc" + uuid.uuid4().hex[:6]
    name = "%s-busy" % service
    blocker = "%s-blocker" % service
    ip = server_ip(lab)
    port = 20000 + int(uuid.uuid4().hex[:3], 16)
    image = "%s/kamal-lab/busybox:1" % lab.registry
    lab.ssh(ip, "docker run -d --name %s -p %d:80 %s sleep 600" % (blocker, port, image))
    try:
        args = {"service": service, "name": "busy", "image": "kamal-lab/busybox:1", "registry": {"server": lab.registry},
                "port": str(port), "cmd": "sleep 600"}
        failed = run_module(lab, tmp_path, args, fail_ok=True)
        assert failed["failed"] and "failed boot" in failed["actions"][-1]
        assert container_of(lab, name) is None
        unknown = run_module(lab, tmp_path, dict(args, options={"no-such-option": "1"}), fail_ok=True)
        assert unknown["failed"] and "options/no-such-option" in unknown["msg"]
        assert container_of(lab, name) is None
    finally:
        lab.ssh(ip, "docker rm -f %s; rm -rf /root/%s /root/.kamal/apps/%s" % (blocker, name, service), check=False)
