"""kamal_app boot: the new container must still be well at the end of its boot (and for min_uptime seconds),
or the previous one runs again; against the fake engine, proxy and clock of test_app_fakes."""
import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _app
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from test_app_fakes import REPO, World, docker_time, fake_docker_errors  # noqa: F401  pylint: disable=unused-import

PROXY = {"hosts": ["app.example.com"], "app_port": 80, "healthcheck": {"path": "/up", "interval": 1, "timeout": 5}}
HOST = "vm1.example.com"


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def publish(world, version, **behaviour):
    behaviour.setdefault("logs", b"starting jobs\nfatal: queue gone\n")
    world.engine.publish("%s:%s" % (REPO, version), {"service": "app"}, behaviour)


def failed_boot(world, **overrides):
    with pytest.raises(_app.AppError) as err:
        world.run(**overrides)
    return err.value


def test_a_container_exited_by_the_end_of_the_boot_fails_it(world):
    world.run(readiness_delay=0)
    v1 = world.engine.named("app-web-v1")
    # Reloads: after start, the readiness status, then the last look at the end of the boot.
    publish(world, "v2", crash_on_reload=3, exit_code=3)
    error = failed_boot(world, version="v2", readiness_delay=0)
    first = error.message.splitlines()[0]
    assert first == ("on %s: app-web-v2 exited with code 3 after 0.0 s; app-web-v1 was started again and"
                     " runs on %s" % (HOST, HOST))
    assert "fatal: queue gone" in error.message and error.details["logs"][-1].endswith("fatal: queue gone")
    assert error.details["serving_version"] == "v1" and error.details["role"] == "web"
    assert error.details["crash"]["exit_code"] == 3 and error.details["crash"]["restarts"] == 0
    # The same v1 container runs again (started, not recreated); v2 is kept, stopped, for its logs.
    assert world.engine.named("app-web-v1") is v1 and v1.status == "running"
    calls = world.engine.calls
    assert calls.index(("stop", "app-web-v2", None)) < len(calls) - 1 - calls[::-1].index(("start", "app-web-v1"))
    assert world.engine.named("app-web-v2").status == "exited"
    assert [c[0] for c in world.engine.calls].count("create") == 2
    assert "docker start app-web-v1 (the previous version, again)" in error.details["actions"]
    # latest names v1 again.
    assert world.engine.tags[REPO + ":latest"].id == world.engine.registry[REPO + ":v1"].id


def test_a_container_restarted_by_its_restart_policy_fails_the_boot(world):
    world.run(readiness_delay=0)
    publish(world, "v2", crash_on_reload=3, exit_code=3, restarts=True)
    error = failed_boot(world, version="v2", readiness_delay=0)
    # Running again (its ExitCode reset to 0): the exit code comes from Docker's die event.
    assert "app-web-v2 exited with code 3 after 0.0 s (restarted 1 time); app-web-v1 was started again" in error.message
    assert error.details["crash"]["status"] == "running" and error.details["crash"]["restarts"] == 1
    assert world.engine.named("app-web-v2").status == "exited"


def test_a_crash_during_min_uptime_fails_as_soon_as_it_happens(world):
    world.run(readiness_delay=0)
    publish(world, "v2", crash_after=12, exit_code=3, restarts=True)
    started = world.clock.now
    error = failed_boot(world, version="v2", readiness_delay=7, min_uptime=15)
    assert "on %s: app-web-v2 exited with code 3 after 12.0 s (restarted 1 time); app-web-v1" % HOST in error.message
    assert "min_uptime=15 s" in error.message
    # The readiness_delay counts towards min_uptime; then it is watched every 0.5 s, up to the crash.
    assert world.clock.sleeps[0] == 7 and set(world.clock.sleeps[1:]) == {0.5}
    assert world.clock.now - started == pytest.approx(12, abs=0.5)
    assert world.engine.named("app-web-v1").status == "running"


def test_min_uptime_passes_a_container_that_stays_up(world):
    world.run(readiness_delay=0)
    started = world.clock.now
    result = world.run(version="v2", readiness_delay=2, min_uptime=5)
    assert world.clock.now - started == pytest.approx(5)
    assert result["uptime"] == {"min_uptime": 5, "up_for": 5.0, "restarts": 0}
    assert result["serving_version"] == "v2" and result["role"] == "web"
    assert world.engine.named("app-web-v1").status == "exited"


def test_without_min_uptime_a_well_container_costs_no_wait(world):
    world.run(readiness_delay=0)
    world.clock.sleeps.clear()
    result = world.run(version="v2", readiness_delay=0)
    assert world.clock.sleeps == [] and result["uptime"]["up_for"] == 0


def test_a_proxied_role_is_routed_back_to_the_old_container_at_its_new_address(world):
    world.run(proxy=PROXY)
    v1 = world.engine.named("app-web-v1")
    ip1 = world.proxy.targets["app-web"]
    # Reloads: after start, then the last look (the health probe passed at once).
    publish(world, "v2", crash_on_reload=2, exit_code=1, restarts=True)
    world.proxy.calls.clear()
    error = failed_boot(world, version="v2", proxy=PROXY)
    ip_now = v1.attrs["NetworkSettings"]["Networks"]["kamal"]["IPAddress"]
    assert ip_now != ip1  # a restarted container can get another address: the route follows the one it has now
    assert world.proxy.targets["app-web"] == ip_now and world.proxy.followed["app-web"] == "app-web-v1"
    assert [c[0] for c in world.proxy.calls] == ["ensure_route", "switch", "drain", "switch"]
    assert "proxy switch app-web back to %s" % ip_now in " ".join(error.details["actions"])
    assert error.details["serving_version"] == "v1"
    assert world.engine.named("app-web-v2").status == "exited"


def test_without_an_old_container_the_role_is_said_not_running(world):
    publish(world, "v2", crash_on_reload=3, exit_code=3)
    error = failed_boot(world, version="v2", readiness_delay=0)
    assert error.message.splitlines()[0].endswith(
        "; the web role is not running on %s (there was no previous container)" % HOST)
    assert error.details["serving_version"] is None
    assert REPO + ":latest" not in world.engine.tags  # the failed version is not left as latest
    assert world.engine.named("app-web-v2").status == "exited"


def test_a_restart_during_the_readiness_wait_fails_it_at_once(world):
    world.run(readiness_delay=0)
    # Reloads: after start, then the first status: it has restarted; it is running again at the recheck.
    publish(world, "v2", crash_on_reload=2, exit_code=2, restarts=True)
    error = failed_boot(world, version="v2", readiness_delay=7, deploy_timeout=30)
    assert error.message.startswith("app-web-v2 on %s: container not ready: it restarted 1 time (7.0 s into the wait)" % HOST)
    assert "the new container was stopped; app-web-v1 keeps serving on %s" % HOST in error.message
    assert error.details["serving_version"] == "v1"
    assert world.clock.sleeps == [7]


def test_a_failed_health_check_says_what_this_host_is_left_with(world):
    error = failed_boot(world, version="broken", proxy=PROXY, deploy_timeout=2)
    assert "the new container was stopped; the web role is not running on %s" % HOST in error.message
    assert error.details["serving_version"] is None and error.details["role"] == "web"


def test_check_mode_plans_without_watching(world):
    world.run(readiness_delay=0)
    world.clock.sleeps.clear()
    plan = world.run(check_mode=True, version="v2", readiness_delay=0, min_uptime=15)
    assert world.clock.sleeps == [] and plan["uptime"] is None
    assert world.engine.named("app-web-v2") is None


def test_docker_times_parse_with_nanoseconds():
    assert _docker.parse_time(docker_time(1000.25)) == pytest.approx(1000.25)
    assert _docker.parse_time("2026-12-04T18:36:18.5+01:00") == pytest.approx(
        _docker.parse_time("2026-12-04T17:36:18.5Z"))
    assert _docker.parse_time("0001-01-01T00:00:00Z") is None and _docker.parse_time(None) is None
