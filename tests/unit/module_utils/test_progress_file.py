"""How far a long call got, as the module writes it for the controller (module_utils/_progress.py)."""
import json
import os

from ansible_collections.kamal.deploy.plugins.module_utils import _app, _progress
from test_app_fakes import REPO, World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_a_pull_writes_bytes_over_its_layers_at_most_twice_a_second(tmp_path):
    clock = Clock()
    path = str(tmp_path / ".kamal" / "progress" / "app-web-r1.json")
    progress = _progress.Progress(path, clock=clock)
    progress.phase("pull", image="r/app:v2")
    assert read(path) == {"phase": "pull", "image": "r/app:v2", "elapsed": 0.0}
    progress.pull({"id": "l1", "status": "Downloading", "progressDetail": {"current": 10, "total": 100}})
    assert "current" not in read(path), "not written again within 0.5 s"
    clock.now += 3
    progress.pull({"id": "l2", "status": "Downloading", "progressDetail": {"current": 5, "total": 50}})
    assert read(path) == {"phase": "pull", "image": "r/app:v2", "elapsed": 3.0, "layers": 2, "current": 15, "total": 150}
    clock.now += 1
    progress.pull({"id": "l1", "status": "Pull complete", "progressDetail": {}})
    assert read(path)["current"] == 105
    progress.close()
    assert os.listdir(tmp_path / ".kamal" / "progress") == []


def test_a_health_wait_ticks_from_its_sleeps(tmp_path):
    clock, slept = Clock(), []
    progress = _progress.Progress(str(tmp_path / "p.json"), clock=clock)
    progress.phase("health", container="app-web-v2", timeout=30)
    sleep = progress.sleeping(slept.append)
    clock.now += 4
    sleep(1)
    assert slept == [1] and read(tmp_path / "p.json") == {"phase": "health", "container": "app-web-v2", "timeout": 30, "elapsed": 4.0}


def test_no_progress_file_means_no_progress():
    assert _progress.for_params({}, "/home/x") is _progress.NONE
    assert _progress.NONE.sleeping(print) is print


def test_a_real_boot_writes_its_pull_then_its_health_wait_and_removes_the_file(tmp_path):
    world = World(str(tmp_path))
    seen = []
    path = os.path.join(world.home, ".kamal", "progress", "app-web-r1.json")

    class Watching(_progress.Progress):
        def _write(self, force=False):
            super()._write(force=True)
            seen.append(read(path))

    progress = Watching(path)
    app = world.app(readiness_delay=0)
    app.progress = progress
    _app.run(app, app.spec.params)
    progress.close()
    assert [s["phase"] for s in seen][:1] == ["pull"] and seen[-1]["phase"] == "health"
    assert max(s.get("total", 0) for s in seen) == 100000000, "both layers' bytes from the streamed pull"
    assert not os.path.exists(path)
