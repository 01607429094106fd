"""The lock's watchdog on the controller: real processes, no mocks (it is a shell script and a pid)."""
import os
import subprocess
import time

from ansible_collections.kamal.deploy.plugins.plugin_utils import lock_watchdog


def wait_until(probe, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.05)
    return False


def test_guard_prefix_names_service_destination_and_run(tmp_path):
    assert lock_watchdog.guard_prefix("shop", None, 42, str(tmp_path)) == str(tmp_path / "kamal-lock-guard-shop-42")
    assert lock_watchdog.guard_prefix("shop", "staging", 42, str(tmp_path)).endswith("kamal-lock-guard-shop-staging-42")


def test_release_runs_once_the_watched_process_is_gone_and_cleans_up(tmp_path):
    owner = subprocess.Popen(["sleep", "0.5"])
    marker = tmp_path / "released"
    prefix = str(tmp_path / "guard")
    pid = lock_watchdog.start(prefix, owner.pid, ["sh", "-c", "echo \"$0\" > %s" % marker, "run-1"])
    assert pid > 0 and os.path.exists(prefix + ".pid")
    assert not marker.exists()  # the owner still runs
    owner.wait()
    assert wait_until(marker.exists), (tmp_path / "guard.log").read_text()
    assert marker.read_text() == "run-1\n"
    assert wait_until(lambda: not os.path.exists(prefix + ".sh") and not os.path.exists(prefix + ".pid"))


def test_stop_after_a_normal_release_kills_the_watchdog_before_it_releases(tmp_path):
    owner = subprocess.Popen(["sleep", "30"])
    marker = tmp_path / "released"
    prefix = str(tmp_path / "guard")
    try:
        pid = lock_watchdog.start(prefix, owner.pid, ["touch", str(marker)])
        assert lock_watchdog.stop(prefix) is True
        assert wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                          open("/proc/%d/stat" % pid).read().split()[2] == "Z")
    finally:
        owner.kill()
        owner.wait()
    time.sleep(0.7)
    assert not marker.exists()
    assert not any(os.path.exists(prefix + s) for s in (".pid", ".log", ".sh"))
    assert lock_watchdog.stop(prefix) is False  # nothing left to stop
