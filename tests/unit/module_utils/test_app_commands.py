"""kamal_app's other commands: Kamal's app subcommands for one host and role, plus prune, tag and versions."""
import base64
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _app, _docker
from test_app_fakes import REPO, World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import

PROXY = {"hosts": ["app.example.com"], "app_port": 80}


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.run(readiness_delay=0)
    w.run(version="v2", readiness_delay=0)
    return w


def running(engine):
    return sorted(c.name for c in engine.containers_by_id.values() if c.status == "running")


def test_version_details_containers_and_versions(world):
    assert world.run(command="version")["version"] == "v2"
    details = world.run(command="details")["containers"]
    assert [c["name"] for c in details] == ["app-web-v2"]
    assert "kamal.deploy.spec" not in details[0]["labels"]
    assert [c["name"] for c in world.run(command="containers")["containers"]] == ["app-web-v2", "app-web-v1"]
    versions = world.run(command="versions")
    assert versions["versions"] == ["v2", "v1"] and versions["current"] == "v2"
    assert versions["changed"] is False and versions["actions"] == []


def test_images_lists_the_repository(world):
    images = world.run(command="images")["images"]
    assert sorted(t for i in images for t in i["tags"]) == sorted([REPO + ":v1", REPO + ":v2", REPO + ":latest"])


def test_stop_then_start(world):
    stopped = world.run(command="stop")
    assert stopped["actions"] == ["docker stop -t 30 app-web-v2"]
    assert running(world.engine) == []
    assert world.run(command="stop")["changed"] is False
    started = world.run(command="start", version="v2")
    assert started["actions"] == ["docker start app-web-v2"] and running(world.engine) == ["app-web-v2"]
    assert world.run(command="start", version="v2")["changed"] is False


def test_stop_of_a_proxied_role_removes_its_route_first(tmp_path):
    w = World(tmp_path)
    w.run(proxy=PROXY)
    stopped = w.run(command="stop", proxy=PROXY)
    assert stopped["actions"] == ["proxy remove route app-web", "docker stop app-web-v1"]
    assert "app-web" not in w.proxy.routes


def test_start_of_a_proxied_role_points_the_route_at_it(tmp_path):
    w = World(tmp_path)
    w.run(proxy=PROXY)
    w.run(command="stop", proxy=PROXY)
    started = w.run(command="start", proxy=PROXY)
    assert started["actions"][0] == "docker start app-web-v1"
    assert w.proxy.targets["app-web"] == w.engine.named("app-web-v1").attrs["NetworkSettings"]["Networks"]["kamal"][
        "IPAddress"]


def test_remove_stops_and_removes_every_container_of_the_role(world):
    world.run(command="remove", remove_app_directory=True, remove_images=True)
    assert world.engine.containers_by_id == {}
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app"))
    assert world.engine.tags == {}


def test_stale_containers(world):
    world.engine.containers_by_id  # v1 stopped, v2 running
    world.engine.named("app-web-v1").start()
    stale = world.run(command="stale_containers")
    assert stale["stale"] == ["v1"] and stale["changed"] is False
    stopped = world.run(command="stale_containers", stop=True)
    assert stopped["actions"] == ["docker stop -t 30 app-web-v1 (stale)"]


def test_logs_of_the_current_container(world):
    world.engine.named("app-web-v2").logs_text = b"one\ntwo error\nthree\n"
    assert world.run(command="logs")["lines"] == ["one", "two error", "three"]
    assert world.run(command="logs", grep="error")["lines"] == ["two error"]
    assert world.run(command="logs", lines=1)["lines"] == ["three"]
    world.run(command="stop")
    assert world.run(command="logs")["msg"] == "Nothing found"


def test_exec_in_a_new_container_like_kamal(world):
    result = world.run(command="exec", exec_command="bin/rails db:migrate", exec_env={"X": "1"}, env={"A": "b"},
                       secret_env={"S": "s"})
    create = [c for c in world.engine.calls if c[0] == "create"][-1]
    _op, name, image, kwargs = create
    assert name.startswith("app-web-exec-v1-") and len(name) == len("app-web-exec-v1-") + 6
    assert image == REPO + ":v1"
    assert kwargs["command"] == ["bin/rails", "db:migrate"]
    assert "labels" not in kwargs and "restart_policy" not in kwargs and kwargs["hostname"] is None
    assert kwargs["environment"] == ["A=b", "S=s", "X=1"]  # no KAMAL_* env (Kamal)
    assert world.engine.named(name) is None  # removed, as --rm
    assert result["rc"] == 0 and result["actions"] == [a for a in result["actions"] if a.startswith("docker run --rm")]
    assert result["actions"][0].startswith("docker run --rm --name %s --network kamal" % name)
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app/env/roles/web.env.new"))


def test_exec_output_is_byte_exact_read_from_the_containers_streams_not_its_logs(world):
    data = bytes(range(256)) * 2
    world.engine.behaviours[world.engine.registry[REPO + ":v1"].id]["output"] = data
    result = world.run(command="exec", exec_command="head -c 512 /dev/random", raw=True)
    assert base64.b64decode(result["stdout_b64"]) == data
    attach, start = [c for c in world.engine.calls if c[0] in ("attach", "start") and "-exec-" in c[1]]
    assert attach[0] == "attach" and start[0] == "start"  # attached before it started: nothing is missed
    assert "stdout_b64" not in world.run(command="exec", exec_command="true")


def test_exec_on_a_host_that_never_ran_the_role_writes_its_env_file_first(world):
    env_file = os.path.join(world.home, ".kamal/apps/app/env/roles/jobs.env")
    assert not os.path.exists(env_file)
    result = world.run(command="exec", role="jobs", exec_command="true", secret_env={"S": "s"})
    with open(env_file, encoding="utf-8") as handle:
        assert handle.read() == "S=s\n"
    assert result["actions"][0] == "write %s (mode 0600, 1 key(s): S=[masked])" % env_file
    # one that is there belongs to the running version: an exec leaves it
    again = world.run(command="exec", role="jobs", exec_command="true", secret_env={"S": "other"})
    assert not any(a.startswith("write ") for a in again["actions"])


def test_exec_reuse_runs_in_the_current_container(world):
    result = world.run(command="exec", reuse=True, exec_command=["echo", "hi"])
    assert ("exec", "app-web-v2", ["echo", "hi"], []) in world.engine.calls
    assert result["stdout"] == "exec out\n"
    assert base64.b64decode(world.run(command="exec", reuse=True, exec_command="x", raw=True)["stdout_b64"]) == b"exec out\n"


def test_exec_without_a_command_is_a_clear_error(world):
    for empty in (None, "", []):
        with pytest.raises(_app.AppError) as err:
            world.run(command="exec", exec_command=empty)
        assert "exec needs a command" in err.value.message


def test_exec_check_mode_runs_nothing(world):
    before = list(world.engine.calls)
    plan = world.run(check_mode=True, command="exec", exec_command="ls")
    assert world.engine.calls == before and plan["changed"] is True


def test_exec_failure_carries_the_exit_code(world):
    world.engine.behaviours[world.engine.registry[REPO + ":v1"].id]["exit_code"] = 3
    with pytest.raises(_app.AppError) as err:
        world.run(command="exec", exec_command="false")
    assert "exited with 3" in err.value.message and err.value.details["rc"] == 3


def test_an_exec_that_outlives_exec_timeout_fails_naming_the_container_and_the_timeout(world, monkeypatch):
    def slow(self, timeout=None):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(type(world.engine.named("app-web-v2")), "wait", slow)
    with pytest.raises(_docker.DockerError) as err:
        world.run(command="exec", exec_command="sleep 600", exec_timeout=5)
    assert err.value.message.startswith("waiting for app-web-exec-v1-") and "(exec_timeout 5 s)" in err.value.message
    assert "TimeoutError: read timed out" in err.value.message


def test_prune_keeps_retain_containers_per_service_and_destination(tmp_path):
    w = World(tmp_path)
    for version in ("v1", "v2", "broken"):
        w.engine.behaviours[w.engine.registry[REPO + ":broken"].id] = {}
        w.run(version=version, readiness_delay=0)
    w.engine.publish(REPO + ":v1", {"service": "app"})
    # another destination of the same service on the host keeps its own budget
    w.run(version="v1", destination="eu", readiness_delay=0)
    w.run(version="v2", destination="eu", readiness_delay=0)
    plan = w.run(check_mode=True, command="prune", retain_containers=1)
    assert plan["removed_containers"] == ["app-web-v1"]
    assert w.engine.named("app-web-v1") is not None
    pruned = w.run(command="prune", retain_containers=1)
    assert pruned["removed_containers"] == ["app-web-v1"]
    assert w.engine.named("app-web-eu-v1") is not None
    # v1 is still used by app-web-eu-v1, so no image goes
    assert pruned["removed_images"] == []
    again = w.run(command="prune", retain_containers=1)
    assert again["changed"] is False


def test_prune_removes_images_no_container_uses_but_keeps_latest(world):
    world.engine.named("app-web-v1").remove()
    pruned = world.run(command="prune")
    assert pruned["removed_images"] == [REPO + ":v1"]
    assert REPO + ":latest" in world.engine.tags and REPO + ":v2" in world.engine.tags


def test_prune_needs_at_least_one_container(world):
    with pytest.raises(_app.AppError):
        world.run(command="prune", retain_containers=0)


def test_tag_latest(world):
    assert world.run(command="tag_latest", version="v2")["changed"] is False
    tagged = world.run(command="tag_latest", version="v1")
    assert tagged["actions"] == ["docker tag %s:v1 %s:latest" % (REPO, REPO)]
    assert world.engine.tags[REPO + ":latest"].id == world.engine.registry[REPO + ":v1"].id


def test_current_container_prefers_the_latest_image(world):
    # v1 started again after v2 (newer start, older image): the current one is the one from `latest` (v2)
    world.engine.named("app-web-v1").start()
    assert world.run(command="version")["version"] == "v2"
    world.run(command="tag_latest", version="v1")
    assert world.run(command="version")["version"] == "v1"


def test_maintenance_and_live_go_through_the_proxy(tmp_path):
    w = World(tmp_path)
    w.run(proxy=PROXY)
    assert w.run(command="maintenance", proxy=PROXY, maintenance_message="back soon")["actions"] == ["proxy maintenance app-web"]
    assert ("maintenance", "app-web", "back soon", False) in w.proxy.calls
    assert w.run(command="live", proxy=PROXY)["actions"] == ["proxy live app-web"]


def test_rollback_boots_a_fresh_container_from_the_old_version(world):
    result = world.run(version="v1", readiness_delay=0)
    assert result["changed"] is True
    assert any(a.startswith("docker rename app-web-v1 app-web-v1_replaced_") for a in result["actions"])
    assert running(world.engine) == ["app-web-v1"]
    assert result["old_version"] == "v2"


def test_boot_with_prune_prunes_in_the_same_call_and_audits_only_the_boot(tmp_path):
    w = World(tmp_path)
    for version in ("v1", "v2"):
        w.run(version=version, readiness_delay=0)
    booted = w.run(version="v1", readiness_delay=0, prune=True, retain_containers=1)
    # v1 was renamed aside and booted anew; with retain 1 the stopped v2 stays, the renamed v1 goes.
    assert booted["boot_changed"] is True
    assert booted["pruned"] == {"containers": ["app-web-v1_replaced_00000000000000a2"], "images": []}
    assert any(a.startswith("docker rm ") for a in booted["actions"])
    assert _app.audit_message("boot", {"version": "v1"}, booted) == "Booted app version v1"
    # Nothing to boot, nothing left to prune: no change, no audit line.
    again = w.run(version="v1", readiness_delay=0, prune=True, retain_containers=1)
    assert again["changed"] is False and _app.audit_message("boot", {"version": "v1"}, again) is None


def test_exec_pulls_an_image_the_host_does_not_have_as_docker_run_does(tmp_path):
    fresh = World(tmp_path)
    result = fresh.run(command="exec", version="v2", exec_command="true")
    assert result["actions"][:2] == ["write %s/.kamal/apps/app/env/roles/web.env (mode 0600, 0 key(s))" % fresh.home,
                                     "docker pull %s:v2" % REPO]
    assert ("pull", REPO + ":v2") in fresh.engine.calls
