"""The controller's side of registries: the local registry container, and archives for ssh delivery."""
import json
import subprocess

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import build as build_module
from ansible_collections.kamal.deploy.plugins.plugin_utils.build import Build, BuildError


class Runner:
    def __init__(self, inspect=None):
        self.inspect, self.calls = inspect, []

    def __call__(self, args, cwd=None, env=None, input_text=None):
        self.calls.append(args)
        if args[:2] == ["docker", "inspect"]:
            return (0, self.inspect, "") if self.inspect else (1, "", "No such object")
        return 0, "", ""


def local_build(runner, server="localhost:5555", **kw):
    return Build(service="shop", repository=f"{server}/shop", version="v1", latest_tag="latest", project_dir="/tmp",
                 builder={}, registry={"server": server}, runner=runner, sleep=lambda _s: None, **kw)


def test_the_local_registry_runs_like_kamals_bound_to_loopback(monkeypatch):
    monkeypatch.setattr(Build, "_registry_answers", staticmethod(lambda port: True))
    runner = Runner()
    assert local_build(runner, local_registry_image="kamal-lab/registry:2.8").setup_local_registry() is True
    assert runner.calls[-1] == ["docker", "run", "--detach", "-p", "127.0.0.1:5555:5000", "--name", "kamal-docker-registry",
                                "kamal-lab/registry:2.8"]


def test_a_stopped_local_registry_is_started_and_a_running_one_left_alone(monkeypatch):
    monkeypatch.setattr(Build, "_registry_answers", staticmethod(lambda port: True))
    bindings = json.dumps({"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5555"}]})
    runner = Runner(inspect=f"false {bindings}")
    assert local_build(runner).setup_local_registry() is True
    assert runner.calls[-1] == ["docker", "start", "kamal-docker-registry"]
    runner = Runner(inspect=f"true {bindings}")
    assert local_build(runner).setup_local_registry() is False
    assert len(runner.calls) == 1


def test_a_local_registry_on_another_port_fails_with_the_fix():
    bindings = json.dumps({"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}]})
    with pytest.raises(BuildError, match=r"publishes port 5000, but registry.server is localhost:5555: remove it \(`docker rm -f"):
        local_build(Runner(inspect=f"true {bindings}")).setup_local_registry()


def test_a_local_registry_needs_a_port():
    with pytest.raises(BuildError, match="needs a port"):
        local_build(Runner(), server="localhost").setup_local_registry()


def test_a_remote_registry_starts_nothing():
    runner = Runner()
    assert local_build(runner, server="reg.test").setup_local_registry() is False
    assert runner.calls == []


def test_registry_setup_and_remove_manage_the_same_container_without_a_build(monkeypatch):
    monkeypatch.setattr(Build, "_registry_answers", staticmethod(lambda port: True))
    runner = Runner()
    registry = build_module.LocalRegistry("localhost:5555", runner=runner, sleep=lambda _s: None)
    assert registry.setup() is True and registry.port == "5555"
    assert runner.calls[-1] == ["docker", "run", "--detach", "-p", "127.0.0.1:5555:5000", "--name", "kamal-docker-registry", "registry:3"]
    assert registry.remove() is False, "no container: nothing to remove"
    runner = Runner(inspect="sha256:1")
    assert build_module.LocalRegistry("localhost:5555", runner=runner).remove() is True
    assert runner.calls[1:] == [["docker", "stop", "kamal-docker-registry"], ["docker", "rm", "kamal-docker-registry"]]


def test_the_archive_is_made_once_per_image_id_and_replaces_older_ones(tmp_path, monkeypatch):
    made = []
    real_popen = subprocess.Popen

    def popen(args, **kwargs):
        if args[:2] == ["docker", "save"]:
            made.append(args)
            return real_popen(["printf", "tar-of-" + args[2]], **kwargs)
        return real_popen(args, **kwargs)

    monkeypatch.setattr(build_module.subprocess, "Popen", popen)
    path, seconds = build_module.image_archive("shop:v1", "sha256:" + "a" * 64, 1, cache_dir=str(tmp_path))
    again, reused = build_module.image_archive("shop:v1", "sha256:" + "a" * 64, 1, cache_dir=str(tmp_path))
    assert path == again and seconds > 0 and reused == 0 and len(made) == 1
    newer, _seconds = build_module.image_archive("shop:v2", "sha256:" + "b" * 64, 1, cache_dir=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".gz")) == [newer.rsplit("/", 1)[1]]
    assert subprocess.run(["gzip", "-dc", newer], capture_output=True, check=True).stdout == b"tar-of-shop:v2"
