"""The lock's one-round-trip path: the shell commands the kamal_lock action runs for a run's own lock leave what
DeployLock (and Kamal) read, take only a free lock, and release only the run's own."""
import json
import os
import pwd
import subprocess
import uuid

from ansible_collections.kamal.deploy.plugins.module_utils import _lock

T0 = 1795000000.0


def sh(command, home):
    res = subprocess.run(["/bin/sh", "-c", command], env={"HOME": str(home), "PATH": os.environ["PATH"]},
                         capture_output=True, text=True, check=False)
    return res.returncode, res.stdout


def record(run_id="run-1", locked_by="Jane O'Hara \"JD\"", message=_lock.AUTOMATIC_MESSAGE):
    return _lock.lock_record(locked_by, "v2", message, run_id, "ctl", 4242, False, 3600, "jd@example.com",
                             now=T0, server=None)


def test_a_quick_acquire_writes_what_the_lock_and_kamal_read(tmp_path):
    rc, out = sh(_lock.quick_acquire_command("app", "staging", record(), home=str(tmp_path)), tmp_path)
    (word, home), _rest = _lock.quick_outcome(out)
    assert (rc, word, home) == (0, "acquired", str(tmp_path))
    lock = _lock.DeployLock(str(tmp_path), "app", "staging", clock=lambda: T0 + 5, hostname="vm1")
    holder = lock.status(controller_host="ctl", live_pids=[4242])["holder"]
    assert holder["details"] == "Locked by: Jane O'Hara \"JD\" at 2026-11-18T11:06:40Z\nVersion: v2\nMessage: Automatic deploy lock"
    assert (holder["tool"], holder["run_id"], holder["pid"], holder["age"]) == ("kamal.deploy", "run-1", 4242, 5)
    assert (holder["owner_alive"], holder["stale"], holder["ttl"]) == (True, False, 3600)
    path = tmp_path / ".kamal" / "lock-app-staging"
    # Kamal's `lock status`: base64 -d of details; our extra file: one JSON line, the server's name filled in.
    assert (path / "details").read_text() == _lock.encode_details(holder["details"])
    extra = json.loads((path / "kamal-deploy.json").read_text())
    assert extra == dict(record()["extra"], server=os.uname().nodename)
    assert sorted(p.name for p in (tmp_path / ".kamal").iterdir()) == ["lock-app-staging"]  # no temporary left


def test_a_quick_acquire_of_a_held_lock_changes_nothing_and_says_held(tmp_path):
    sh(_lock.quick_acquire_command("app", None, record("first"), home=str(tmp_path)), tmp_path)
    before = (tmp_path / ".kamal" / "lock-app" / "kamal-deploy.json").read_text()
    rc, out = sh(_lock.quick_acquire_command("app", None, record("second"), home=str(tmp_path)), tmp_path)
    assert (rc, _lock.quick_outcome(out)[0][0]) == (0, "held")
    assert (tmp_path / ".kamal" / "lock-app" / "kamal-deploy.json").read_text() == before
    assert sorted(p.name for p in (tmp_path / ".kamal").iterdir()) == ["lock-app"]


def test_a_message_that_looks_like_the_server_key_stays_in_its_string(tmp_path):
    tricky = 'deploy "server": null \\u0000 \'quoted\''
    sh(_lock.quick_acquire_command("app", None, record(message=tricky), home=str(tmp_path)), tmp_path)
    extra = json.loads((tmp_path / ".kamal" / "lock-app" / "kamal-deploy.json").read_text())
    assert (extra["message"], extra["server"]) == (tricky, os.uname().nodename)


def test_a_quick_release_removes_only_the_runs_own_lock(tmp_path):
    rc, out = sh(_lock.quick_release_command("app", None, "run-1", home=str(tmp_path)), tmp_path)
    assert (rc, _lock.quick_outcome(out)[0]) == (0, ("absent", str(tmp_path)))
    sh(_lock.quick_acquire_command("app", None, record("run-1"), home=str(tmp_path)), tmp_path)
    assert _lock.quick_outcome(sh(_lock.quick_release_command("app", None, "run-2", home=str(tmp_path)), tmp_path)[1])[0][0] == "other"
    assert (tmp_path / ".kamal" / "lock-app").is_dir()
    rc, out = sh(_lock.quick_release_command("app", None, "run-1", home=str(tmp_path)), tmp_path)
    (word, home), rest = _lock.quick_outcome(out)
    assert (rc, word, home) == (0, "released", str(tmp_path))
    assert json.loads(rest[0])["run_id"] == "run-1"
    assert _lock.decode_details("\n".join(rest[1:]).encode()) == record()["details"]
    assert sorted(p.name for p in (tmp_path / ".kamal").iterdir()) == []


def test_a_kamal_lock_is_never_released_by_the_quick_path(tmp_path):
    lock_dir = tmp_path / ".kamal" / "lock-app"
    lock_dir.mkdir(parents=True)
    (lock_dir / "details").write_text(_lock.encode_details("Locked by: K at 2026-01-01T00:00:00Z\nVersion: v\nMessage: m"))
    assert _lock.quick_outcome(sh(_lock.quick_release_command("app", None, "run-1", home=str(tmp_path)), tmp_path)[1])[0][0] == "other"
    assert lock_dir.is_dir()


def test_without_a_home_it_works_in_the_users_home_from_passwd_as_the_module_does(tmp_path):
    # $HOME points elsewhere; the lock goes where pwd.getpwuid(euid).pw_dir says (only read here: nothing is there).
    service = "t" + uuid.uuid4().hex[:8]
    rc, out = sh(_lock.quick_release_command(service, None, "run-1"), tmp_path)
    assert (rc, _lock.quick_outcome(out)[0]) == (0, ("absent", os.path.realpath(pwd.getpwuid(os.geteuid()).pw_dir)))


def test_a_command_that_prints_no_mark_leaves_the_decision_to_the_module():
    assert _lock.quick_outcome("sh: 1: cd: can't cd\n") == ((None, None), [])
