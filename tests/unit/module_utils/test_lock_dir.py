"""The deploy lock on a server: Kamal's directory and details, our extra file, staleness and breaking."""
import base64
import json
import multiprocessing
import os
import time

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _lock

T0 = 1795000000.0  # 2026-11-18T11:06:40Z


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def make(home, service="app", destination=None, clock=None):
    clock = clock or Clock()
    return _lock.DeployLock(str(home), service, destination, clock=clock, sleep=clock.sleep, hostname="vm1"), clock


def kamal_acquire(home, lock_name, name, at, version, message):
    """What Kamal's `lock acquire` leaves: mkdir + echo "<Base64.encode64>" > details."""
    text = "Locked by: %s at %s\nVersion: %s\nMessage: %s" % (name, at, version, message)
    flat = base64.b64encode(text.encode()).decode()
    encoded = "".join(flat[i:i + 60] + "\n" for i in range(0, len(flat), 60))
    os.makedirs(os.path.join(home, ".kamal", lock_name))
    with open(os.path.join(home, ".kamal", lock_name, "details"), "w", encoding="utf-8") as f:
        f.write('%s\n' % encoded)


# -- Kamal's format ----------------------------------------------------------------------------------

def test_details_are_ruby_encode64_wrapped_at_60_columns():
    text = _lock.details_text("Jane Doe", "0123456789abcdef0123456789abcdef01234567", "Automatic deploy lock", T0)
    encoded = _lock.encode_details(text)
    lines = encoded.split("\n")
    assert all(len(line) == 60 for line in lines[:-3])
    assert 0 < len(lines[-3]) <= 60 and lines[-2:] == ["", ""]
    assert base64.b64decode("".join(lines)).decode() == text
    assert text == ("Locked by: Jane Doe at 2026-11-18T11:06:40Z\nVersion: 0123456789abcdef0123456789abcdef01234567\n"
                    "Message: Automatic deploy lock")


def test_parse_details_takes_the_last_at_and_a_multiline_message():
    parsed = _lock.parse_details("Locked by: Bob at home at 2026-01-02T03:04:05Z\nVersion: v1\nMessage: line 1\nline 2\n")
    assert parsed == {"locked_by": "Bob at home", "locked_at": "2026-01-02T03:04:05Z", "version": "v1",
                      "message": "line 1\nline 2"}
    assert _lock.parse_iso8601("2026-01-02T03:04:05Z") == _lock.parse_iso8601("2026-01-02T05:04:05+02:00")


def test_paths_follow_kamal(tmp_path):
    assert make(tmp_path)[0].path == str(tmp_path / ".kamal" / "lock-app")
    assert make(tmp_path, destination="staging")[0].path == str(tmp_path / ".kamal" / "lock-app-staging")


# -- acquire / status / release ----------------------------------------------------------------------

def test_acquire_writes_kamals_details_and_our_extra_file(tmp_path):
    lock, _clock = make(tmp_path)
    result = lock.acquire(locked_by="Jane", version="abc", run_id="r1", controller_host="ctl", pid=42, ttl=600)
    assert result["changed"] and result["acquired"] and not result["reentrant"] and result["broken"] is None
    with open(os.path.join(lock.path, "details"), "rb") as f:
        decoded = base64.b64decode(f.read()).decode()
    assert decoded == "Locked by: Jane at 2026-11-18T11:06:40Z\nVersion: abc\nMessage: Automatic deploy lock"
    with open(os.path.join(lock.path, "kamal-deploy.json"), encoding="utf-8") as f:
        extra = json.load(f)
    assert extra["run_id"] == "r1" and extra["pid"] == 42 and extra["controller_host"] == "ctl"
    assert extra["ttl"] == 600 and extra["expires_at"] == "2026-11-18T11:16:40Z" and extra["manual"] is False
    assert sorted(os.listdir(lock.path)) == ["details", "kamal-deploy.json"]
    assert [n for n in os.listdir(tmp_path / ".kamal") if n != "lock-app"] == []  # no temp files left
    holder = result["holder"]
    assert holder["locked_by"] == "Jane" and holder["tool"] == "kamal.deploy" and holder["stale"] is False


def test_held_lock_fails_at_once_naming_holder_version_message_age_and_release_commands(tmp_path):
    lock, clock = make(tmp_path, destination="prod")
    lock.acquire(locked_by="Jane", version="abc", message="Migrating", manual=True, run_id="r1", controller_host="ctl", pid=7)
    clock.now += 3725
    with pytest.raises(_lock.LockError) as e:
        lock.acquire(locked_by="Bob", version="def", run_id="r2")
    msg = str(e.value)
    assert "Deploy lock already in place on vm1" in msg
    for part in ("Locked by Jane at 2026-11-18T11:06:40Z (1h 2m ago)", "version: abc", "message: Migrating",
                 "manual lock", "ansible-playbook -i config/deploy.prod.yml kamal.deploy.lock_release",
                 "kamal lock release -d prod", "pid 7"):
        assert part in msg
    assert e.value.info["holder"]["run_id"] == "r1"
    assert clock.now == T0 + 3725  # no waiting


def test_same_run_id_reenters_without_writing(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1")
    before = os.stat(os.path.join(lock.path, "details")).st_mtime_ns
    clock.now += 5
    again = lock.acquire(run_id="r1")
    assert again["changed"] is False and again["reentrant"] is True and again["acquired"] is True
    assert os.stat(os.path.join(lock.path, "details")).st_mtime_ns == before


def test_status_and_release(tmp_path):
    lock, _clock = make(tmp_path)
    assert lock.status() == {"locked": False, "holder": None}
    lock.acquire(run_id="r1", version="v9")
    status = lock.status()
    assert status["locked"] and status["holder"]["version"] == "v9"
    released = lock.release()
    assert released["changed"] and released["released"] and released["holder"]["run_id"] == "r1"
    assert not os.path.exists(lock.path)
    assert os.listdir(tmp_path / ".kamal") == []
    assert lock.release()["changed"] is False


def test_release_with_a_run_id_leaves_another_runs_lock(tmp_path):
    lock, _clock = make(tmp_path)
    lock.acquire(run_id="r1", locked_by="Jane")
    result = lock.release(run_id="r2")
    assert result["changed"] is False and result["released"] is False
    assert "not ours" in result["not_released_reason"] and "Jane" in result["not_released_reason"]
    assert os.path.isdir(lock.path)
    assert lock.release(run_id="r1")["released"] is True


def test_check_mode_writes_nothing_and_fails_where_the_real_run_would(tmp_path):
    lock, _clock = make(tmp_path)
    planned = lock.acquire(run_id="r1", check_mode=True)
    assert planned["changed"] and planned["acquired"] and not os.path.exists(lock.path)
    lock.acquire(run_id="r1")
    with pytest.raises(_lock.LockError):
        lock.acquire(run_id="r2", check_mode=True)
    assert lock.release(check_mode=True)["released"] is True
    assert os.path.isdir(lock.path)


# -- Kamal's own locks ---------------------------------------------------------------------------------

def test_reads_a_lock_taken_by_kamal(tmp_path):
    kamal_acquire(str(tmp_path), "lock-app", "Kamal User", "2026-11-18T10:40:00Z", "v1", "Maintenance window")
    lock, _clock = make(tmp_path)
    holder = lock.status()["holder"]
    assert holder["tool"] == "kamal" and holder["locked_by"] == "Kamal User" and holder["message"] == "Maintenance window"
    assert holder["manual"] is True and holder["expires_at"] is None and holder["age"] == 1600
    with pytest.raises(_lock.LockError, match="Kamal User"):
        lock.acquire(run_id="r1")
    # kamal lock release: rm details && rm -r dir, works with our extra file too
    lock.release()
    mine = lock.acquire(run_id="r1")
    os.remove(os.path.join(lock.path, "details"))
    import shutil
    shutil.rmtree(lock.path)
    assert mine["acquired"] and lock.status()["locked"] is False


def test_kamals_automatic_lock_expires_after_the_callers_ttl(tmp_path):
    kamal_acquire(str(tmp_path), "lock-app", "CI", "2026-11-18T06:00:00Z", "v1", "Automatic deploy lock")
    lock, _clock = make(tmp_path)
    holder = lock.status(ttl=3600)["holder"]
    assert holder["manual"] is False and holder["stale"] is True and holder["stale_reason"].startswith("expired")
    assert lock.status(ttl=86400)["holder"]["stale"] is False
    result = lock.acquire(run_id="r1", ttl=3600)
    assert result["broken"]["locked_by"] == "CI" and result["holder"]["run_id"] == "r1"


# -- staleness -------------------------------------------------------------------------------------------

def test_automatic_lock_past_its_ttl_is_broken_by_the_next_acquire(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1", locked_by="Jane", ttl=60)
    clock.now += 30
    with pytest.raises(_lock.LockError):
        lock.acquire(run_id="r2")
    clock.now += 31
    status = lock.status()["holder"]
    assert status["stale"] and "TTL of 1m 0s" in status["stale_reason"] and status["age"] == 61
    result = lock.acquire(run_id="r2")
    assert result["changed"] and result["broken"]["run_id"] == "r1" and result["holder"]["run_id"] == "r2"
    assert [n for n in os.listdir(tmp_path / ".kamal") if n != "lock-app"] == []


def test_manual_locks_never_expire(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1", manual=True, message="Hold", ttl=60)
    clock.now += 86400 * 30
    holder = lock.status()["holder"]
    assert holder["manual"] and not holder["stale"] and holder["expires_at"] is None
    with pytest.raises(_lock.LockError):
        lock.acquire(run_id="r2")


def test_dead_owner_on_the_same_controller_is_stale_but_broken_only_with_force(tmp_path):
    lock, _clock = make(tmp_path)
    lock.acquire(run_id="r1", controller_host="laptop", pid=4242)
    assert lock.status(controller_host="laptop", live_pids=[1, 4242])["holder"]["stale"] is False
    assert lock.status(controller_host="ci-runner", live_pids=[1])["holder"]["owner_alive"] is None
    assert lock.status()["holder"]["owner_alive"] is None
    holder = lock.status(controller_host="laptop", live_pids=[1, 2])["holder"]
    assert holder["stale"] and holder["owner_alive"] is False and "pid 4242 on laptop, is gone" in holder["stale_reason"]
    with pytest.raises(_lock.LockError) as e:
        lock.acquire(run_id="r2", controller_host="laptop", live_pids=[1, 2])
    assert "stale" in str(e.value) and "force_unlock=true" in str(e.value)
    result = lock.acquire(run_id="r2", controller_host="laptop", live_pids=[1, 2], force=True)
    assert result["broken"]["run_id"] == "r1" and result["holder"]["run_id"] == "r2"


def test_force_breaks_a_live_lock_too(tmp_path):
    lock, _clock = make(tmp_path)
    lock.acquire(run_id="r1", manual=True, message="x")
    result = lock.acquire(run_id="r2", force=True)
    assert result["broken"]["manual"] and result["holder"]["run_id"] == "r2"


def test_force_in_check_mode_breaks_nothing(tmp_path):
    lock, _clock = make(tmp_path)
    lock.acquire(run_id="r1")
    planned = lock.acquire(run_id="r2", force=True, check_mode=True)
    assert planned["changed"] and planned["broken"]["run_id"] == "r1"
    assert lock.status()["holder"]["run_id"] == "r1"


# -- waiting -----------------------------------------------------------------------------------------------

def test_wait_polls_until_released(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1")
    other = make(tmp_path, clock=clock)[0]
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        clock.now += seconds
        if len(polls) == 3:
            lock.release()

    other.sleep = sleep
    result = other.acquire(run_id="r2", wait=60, wait_interval=5)
    assert result["acquired"] and result["waited"] == 15 and polls == [5, 5, 5]


def test_wait_times_out_with_the_holders_details(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1", locked_by="Jane")
    with pytest.raises(_lock.LockError) as e:
        lock.acquire(run_id="r2", wait=10, wait_interval=4)
    assert str(e.value).startswith("Timed out after 10s waiting for the deploy lock.") and "Jane" in str(e.value)
    assert clock.now == T0 + 10


def test_a_manual_lock_is_not_waited_for(tmp_path):
    lock, clock = make(tmp_path)
    lock.acquire(run_id="r1", manual=True, message="Frozen")
    with pytest.raises(_lock.LockError, match="held manually"):
        lock.acquire(run_id="r2", wait=600)
    assert clock.now == T0


def test_a_directory_without_details_gets_a_grace_period_then_reads_as_unknown(tmp_path):
    os.makedirs(tmp_path / ".kamal" / "lock-app")
    lock, clock = make(tmp_path)
    holder = lock.status()["holder"]
    assert clock.now >= T0 + _lock.DETAILS_GRACE
    assert holder["locked_by"] is None and holder["manual"] is False
    with pytest.raises(_lock.LockError, match="an unknown holder"):
        lock.acquire(run_id="r1")


# -- races -------------------------------------------------------------------------------------------------

def _race(home, run_id, start, queue):
    lock = _lock.DeployLock(home, "app", hostname="vm1")
    while time.time() < start:
        time.sleep(0.001)
    try:
        queue.put((run_id, "won", lock.acquire(run_id=run_id, locked_by=run_id)["holder"]["run_id"]))
    except _lock.LockError as e:
        queue.put((run_id, "lost", str(e)))


def test_concurrent_acquires_exactly_one_wins_and_losers_name_the_winner(tmp_path):
    queue = multiprocessing.Queue()
    start = time.time() + 0.5
    procs = [multiprocessing.Process(target=_race, args=(str(tmp_path), "run%d" % i, start, queue)) for i in range(8)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=30) for _proc in procs]
    for p in procs:
        p.join()
    winners = [r for r in results if r[1] == "won"]
    assert len(winners) == 1
    winner = winners[0][0]
    for _run, _outcome, msg in (r for r in results if r[1] == "lost"):
        assert "Locked by %s at" % winner in msg


def _break_race(home, start, queue):
    lock = _lock.DeployLock(home, "app", hostname="vm1")
    while time.time() < start:
        time.sleep(0.001)
    run_id = "breaker%d" % os.getpid()
    try:
        result = lock.acquire(run_id=run_id, ttl=60)
        queue.put(("won", result["broken"] is not None))
    except _lock.LockError:
        queue.put(("lost", None))


def test_concurrent_breakers_of_an_expired_lock_never_break_each_other(tmp_path):
    kamal_acquire(str(tmp_path), "lock-app", "CI", "2020-01-01T00:00:00Z", "v1", "Automatic deploy lock")
    queue = multiprocessing.Queue()
    start = time.time() + 0.5
    procs = [multiprocessing.Process(target=_break_race, args=(str(tmp_path), start, queue)) for _i in range(8)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=30) for _proc in procs]
    for p in procs:
        p.join()
    assert [r[0] for r in results].count("won") == 1
    assert sorted(os.listdir(tmp_path / ".kamal")) == ["lock-app"]
