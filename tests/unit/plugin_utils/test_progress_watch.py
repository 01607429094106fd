"""Live progress on the controller (plugin_utils/progress.py): nothing for a fast call, a line every few seconds for
a long one."""
import json
import threading
import time

from ansible_collections.kamal.deploy.plugins.plugin_utils import progress


def test_lines_say_phase_and_how_far():
    assert progress.describe("vm1 web", {"phase": "pull", "image": "r/app:v2", "elapsed": 6.4, "layers": 3,
                                         "current": 45100000, "total": 100000000}) == (
        "vm1 web: pulling r/app:v2, 45.1 of 100.0 MB in 3 layer(s) (6 s)")
    assert progress.describe("vm1 web", {"phase": "health", "container": "app-web-v2", "elapsed": 12, "timeout": 30}) == (
        "vm1 web: waiting for app-web-v2 to be healthy (12 s of 30 s)")
    assert progress.describe("vm1 web", None) is None


def test_a_call_that_ends_before_the_first_look_reads_nothing():
    reads, shown = [], []
    with progress.watching(Connection(reads, b""), ".kamal/progress/x.json", "vm1 web", shown.append, first=0.5, every=0.1):
        time.sleep(0.05)
    assert reads == [] and shown == []


def test_a_long_call_shows_its_progress_every_few_seconds_over_its_own_connection():
    reads, shown = [], []
    state = json.dumps({"phase": "pull", "image": "r/app:v2", "elapsed": 3, "current": 1e6, "total": 2e6, "layers": 1})
    connection = Connection(reads, state.encode())
    with progress.watching(connection, ".kamal/progress/x.json", "vm1 web", shown.append, first=0.05, every=0.05):
        time.sleep(0.3)
    assert len(shown) >= 3 and shown[0] == "vm1 web: pulling r/app:v2, 1.0 of 2.0 MB in 1 layer(s) (3 s)"
    assert reads[0] == ("cat .kamal/progress/x.json 2>/dev/null || true", False)
    assert connection.copies == 1 and connection.calls == 0, "the call's own connection is never used by the watcher"


def test_no_path_no_thread():
    before = threading.active_count()
    with progress.watching(object(), None, "vm1 web", print) as watcher:
        assert watcher is None and threading.active_count() == before


def test_a_read_that_fails_never_fails_the_call():
    shown = []

    class Broken(Connection):
        def exec_command(self, cmd, in_data=None, sudoable=True):
            raise OSError("ssh went away")

    with progress.watching(Broken([], b""), "p.json", "vm1 web", shown.append, first=0.01, every=0.01):
        time.sleep(0.05)
    assert shown == []


class Connection:
    """A connection plugin: the watcher copies it and runs its reads on the copy."""

    def __init__(self, reads, answer):
        self.reads, self.answer, self.copies, self.calls, self.copy = reads, answer, 0, 0, False

    def __copy__(self):
        self.copies += 1
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__, copy=True)
        return twin

    def exec_command(self, cmd, in_data=None, sudoable=True):
        if not self.copy:
            self.calls += 1
        self.reads.append((cmd, sudoable))
        return 0, self.answer, b""
