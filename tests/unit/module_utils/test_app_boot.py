"""kamal_app boot: Kamal's app boot for one host and role, against a fake engine, proxy and clock."""
import os
import stat

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _app
from test_app_fakes import REPO, World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def running(engine):
    return sorted(c.name for c in engine.containers_by_id.values() if c.status == "running")


def test_first_boot_runs_the_container_like_kamals_docker_run(world):
    result = world.run(env={"GREETING": "hi"}, secret_env={"DB_PASSWORD": "s3cr"}, readiness_delay=1)
    assert result["changed"] is True
    assert running(world.engine) == ["app-web-v1"]
    create = next(c for c in world.engine.calls if c[0] == "create")
    _op, name, image, kwargs = create
    assert (name, image) == ("app-web-v1", REPO + ":v1")
    assert kwargs["network"] == "kamal"
    assert kwargs["restart_policy"] == {"Name": "unless-stopped"}
    assert kwargs["hostname"] == "vm1.example.com-0000000000a0"
    assert kwargs["environment"][:3] == ["KAMAL_CONTAINER_NAME=app-web-v1", "KAMAL_VERSION=v1",
                                         "KAMAL_HOST=vm1.example.com"]
    assert "GREETING=hi" in kwargs["environment"]
    assert "DB_PASSWORD=s3cr" in kwargs["environment"]
    assert not any(e.startswith("KAMAL_DESTINATION") for e in kwargs["environment"])
    assert kwargs["labels"]["service"] == "app" and kwargs["labels"]["role"] == "web"
    assert kwargs["labels"]["destination"] == ""
    assert kwargs["log_config"] == {"type": "", "config": {"max-size": "10m"}}
    assert result["version"] == "v1" and result["old_version"] is None
    assert result["actions"][0] == "docker pull %s:v1" % REPO
    assert any(a.startswith("docker run --detach --restart unless-stopped --name app-web-v1 --network kamal")
               for a in result["actions"])
    assert "docker tag %s:v1 %s:latest" % (REPO, REPO) in result["actions"]
    # secrets never appear in actions
    assert not any("s3cr" in a for a in result["actions"])


def test_env_file_is_written_at_kamals_path_with_mode_0600(world):
    world.run(secret_env={"A": 'quote " and # and \n newline', "B": "caf\u00e9"}, readiness_delay=0)
    path = os.path.join(world.home, ".kamal/apps/app/env/roles/web.env")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == 'A=quote " and # and \\n newline\nB=caf\u00e9\n'


def test_destination_names_paths_labels_and_env(world):
    world.engine.publish(REPO + ":v1", {"service": "app"})
    world.run(destination="staging", readiness_delay=0, env={"X": "1"})
    container = world.engine.named("app-web-staging-v1")
    assert container is not None
    assert container.labels["destination"] == "staging"
    assert "KAMAL_DESTINATION=staging" in container.attrs["Config"]["Env"]
    assert os.path.exists(os.path.join(world.home, ".kamal/apps/app-staging/env/roles/web.env"))
    assert REPO + ":latest-staging" in world.engine.tags


def test_second_identical_boot_changes_nothing(world):
    world.run(readiness_delay=0, secret_env={"S": "x"})
    calls = len(world.engine.calls)
    again = world.run(readiness_delay=0, secret_env={"S": "x"})
    assert again["changed"] is False
    assert again["actions"] == []
    assert len(world.engine.calls) == calls


def test_a_changed_secret_reboots_the_same_version_renaming_the_old_container(world):
    world.run(readiness_delay=0, secret_env={"S": "x"})
    result = world.run(readiness_delay=0, secret_env={"S": "y"})
    assert result["changed"] is True
    renamed = "app-web-v1_replaced_00000000000000a1"
    assert ("rename", "app-web-v1", renamed) in world.engine.calls
    assert ("stop", renamed, 30) in world.engine.calls
    assert running(world.engine) == ["app-web-v1"]
    assert result["old_version"] == "v1_replaced_00000000000000a1"


def test_boot_v2_stops_v1_with_drain_timeout_for_roles_without_proxy(world):
    world.run(readiness_delay=0)
    result = world.run(version="v2", readiness_delay=0, drain_timeout=12)
    assert running(world.engine) == ["app-web-v2"]
    assert ("stop", "app-web-v1", 12) in world.engine.calls
    assert result["old_version"] == "v1"
    assert "docker stop -t 12 app-web-v1" in result["actions"]
    assert world.engine.tags[REPO + ":latest"].id == world.engine.registry[REPO + ":v2"].id


def test_stop_timeout_wins_over_drain_timeout(world):
    world.run(readiness_delay=0)
    world.run(version="v2", readiness_delay=0, drain_timeout=12, stop_timeout=3)
    assert ("stop", "app-web-v1", 3) in world.engine.calls


def test_readiness_delay_waits_then_rechecks(world):
    world.run(readiness_delay=7)
    assert 7 in world.clock.sleeps


def test_a_container_that_exits_fails_and_the_old_one_keeps_running(world):
    world.engine.publish(REPO + ":crash", {"service": "app"}, {"state": "exited", "logs": b"oops\n"})
    world.run(readiness_delay=0)
    with pytest.raises(_app.AppError) as err:
        world.run(version="crash", readiness_delay=0, deploy_timeout=5)
    message = err.value.message
    assert "container not ready after 5 seconds (exited)" in message
    assert "oops" in message
    assert running(world.engine) == ["app-web-v1"]
    assert ("stop", "app-web-crash", None) in world.engine.calls
    assert world.engine.tags[REPO + ":latest"].id == world.engine.registry[REPO + ":v1"].id


def test_docker_healthcheck_healthy_passes_at_once(world):
    world.engine.publish(REPO + ":hc", {"service": "app"}, {"health": "healthy"})
    world.run(version="hc", readiness_delay=30)
    assert world.clock.sleeps == []


def test_docker_healthcheck_unhealthy_fails_with_the_last_probe_output(world):
    world.engine.publish(REPO + ":hc", {"service": "app"}, {"health": "unhealthy"})
    with pytest.raises(_app.AppError) as err:
        world.run(version="hc", deploy_timeout=3)
    assert "(unhealthy)" in err.value.message
    assert "probe said no" in err.value.message


def test_missing_service_label_is_refused_unless_disabled(world):
    world.engine.publish(REPO + ":nolabel", {})
    with pytest.raises(_app.AppError) as err:
        world.run(version="nolabel")
    assert "missing the 'service' label" in err.value.message
    world.run(version="nolabel", check_service_label=False, readiness_delay=0)
    assert running(world.engine) == ["app-web-nolabel"]


def test_check_mode_plans_and_changes_nothing(world):
    world.run(readiness_delay=0)
    before = list(world.engine.calls)
    plan = world.run(check_mode=True, version="v2", readiness_delay=0)
    assert world.engine.calls == before
    assert plan["changed"] is True
    assert plan["actions"][0] == "docker pull %s:v2" % REPO
    assert any(a.startswith("docker run --detach") and "app-web-v2" in a for a in plan["actions"])
    assert "docker stop -t 30 app-web-v1" in plan["actions"]
    assert plan["diff"]["before"]["version"] == "v1"
    assert plan["diff"]["after"]["version"] == "v2"
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app/env/roles/web2.env"))


def test_check_mode_on_an_up_to_date_role_is_not_changed(world):
    world.run(readiness_delay=0)
    plan = world.run(check_mode=True, readiness_delay=0)
    assert plan["changed"] is False and plan["actions"] == []


def test_check_mode_does_not_write_the_env_file(world):
    world.run(check_mode=True, readiness_delay=0, secret_env={"S": "x"})
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app/env/roles/web.env"))
    assert world.engine.calls == []


def test_stale_containers_are_stopped_before_boot(world):
    world.run(readiness_delay=0)
    # a leftover running container of the role (e.g. an interrupted deploy)
    world.engine.set_tag(REPO + ":v0", world.engine.publish(REPO + ":v0", {"service": "app"}))
    world.engine.containers.create(REPO + ":v0", name="app-web-old", network="kamal",
                                   labels={"service": "app", "role": "web", "destination": ""}).start()
    world.engine.set_tag(REPO + ":latest", world.engine.registry[REPO + ":v1"])
    result = world.run(version="v2", readiness_delay=0, stop_stale=True)
    assert "docker stop -t 30 app-web-old (stale)" in result["actions"]
    assert running(world.engine) == ["app-web-v2"]


def test_unsupported_option_fails_naming_it(world):
    with pytest.raises(_app.AppError) as err:
        world.run(options={"expose": 9000})
    assert "options/expose" in err.value.message
    assert world.engine.calls == [] or world.engine.mutations() == ["pull"]


# proxied roles -----------------------------------------------------------------------------------------

PROXY = {"hosts": ["app.example.com"], "app_port": 80, "healthcheck": {"path": "/up", "interval": 1, "timeout": 5}}


def test_proxied_boot_probes_then_switches_then_drains_then_stops(world):
    world.run(proxy=PROXY)
    first = world.engine.named("app-web-v1")
    ip1 = first.attrs["NetworkSettings"]["Networks"]["kamal"]["IPAddress"]
    assert world.proxy.targets["app-web"] == ip1
    world.proxy.calls.clear()
    result = world.run(version="v2", proxy=PROXY)
    ip2 = world.engine.named("app-web-v2").attrs["NetworkSettings"]["Networks"]["kamal"]["IPAddress"]
    assert [c[0] for c in world.proxy.calls] == ["ensure_route", "switch", "drain"]
    assert world.proxy.calls[1] == ("switch", "app-web", ip2, False)
    assert world.proxy.calls[2] == ("drain", ip1 + ":80", 30)
    # proxied roles stop with Docker's default timeout (Kamal)
    assert ("stop", "app-web-v1", None) in world.engine.calls
    assert result["health"]["ok"] is True
    assert result["health"]["last"]["url"] == "http://%s:80/up" % ip2
    assert result["diff"]["before"]["live_target"] == ip1
    assert result["diff"]["after"]["live_target"] == ip2
    actions = result["actions"]
    assert actions.index("proxy switch app-web to %s (was %s)" % (ip2, ip1)) < actions.index("docker stop app-web-v1")


def test_the_route_never_moves_to_an_unhealthy_container(world):
    world.run(proxy=PROXY)
    ip1 = world.proxy.targets["app-web"]
    world.proxy.calls.clear()
    with pytest.raises(_app.AppError) as err:
        world.run(version="broken", proxy=PROXY, deploy_timeout=4)
    message = err.value.message
    assert "GET http://172.18.0.3:80/up: HTTP 404" in message
    assert "deploy_timeout is 4 s" in message
    assert "boot error: never answers /up" in message
    assert world.proxy.calls == []
    assert world.proxy.targets["app-web"] == ip1
    assert running(world.engine) == ["app-web-v1"]
    assert err.value.details["health"]["ok"] is False


def test_redirect_to_https_is_named_in_the_error(world):
    world.engine.publish(REPO + ":ssl", {"service": "app"}, {"http": (301, "https://app.example.com/up")})
    with pytest.raises(_app.AppError) as err:
        world.run(version="ssl", proxy=PROXY, deploy_timeout=2)
    assert "HTTP 301 redirect to https://app.example.com/up (the app forces SSL" in err.value.message


def test_connection_refused_is_named_in_the_error(world):
    world.engine.publish(REPO + ":refuse", {"service": "app"}, {"http": "connection refused"})
    with pytest.raises(_app.AppError) as err:
        world.run(version="refuse", proxy=PROXY, deploy_timeout=2)
    assert "connection refused" in err.value.message


def test_proxied_rerun_is_not_changed_and_repairs_a_lost_route_target(world):
    world.run(proxy=PROXY)
    again = world.run(proxy=PROXY)
    assert again["changed"] is False
    world.proxy.targets.clear()
    repaired = world.run(proxy=PROXY)
    assert repaired["changed"] is True
    assert [a for a in repaired["actions"] if a.startswith("proxy switch")]
    assert not [a for a in repaired["actions"] if a.startswith("docker run")]


def test_proxied_check_mode_plans_the_route_change(world):
    world.run(proxy=PROXY)
    world.proxy.calls.clear()
    plan = world.run(check_mode=True, version="v2", proxy=PROXY)
    assert all(call[-1] is True for call in world.proxy.calls if call[0] in ("ensure_route", "switch"))
    assert any(a.startswith("proxy switch app-web to <ip of app-web-v2>") for a in plan["actions"])
    assert any(a.startswith("proxy drain") for a in plan["actions"])
    assert world.proxy.targets["app-web"] != "new"


def test_proxied_role_without_proxy_backend_fails_clearly(world):
    app = world.app(proxy=PROXY)
    app.proxy = None
    with pytest.raises(_app.AppError) as err:
        _app.run(app, app.spec.params)
    assert "proxy backend" in err.value.message


# --- canary rollouts (issue 16) ----------------------------------------------------------------------------

def test_a_rollout_boots_healthy_beside_the_live_container_and_a_deploy_of_its_version_promotes_it(world):
    world.run(proxy=PROXY)
    live_ip = world.proxy.targets["app-web"]
    deployed = world.run(command="rollout_deploy", version="v2", proxy=PROXY)
    rollout = world.engine.named("app-web-v2")
    assert running(world.engine) == ["app-web-v1", "app-web-v2"]
    assert deployed["rollout"]["container"] == "app-web-v2" and deployed["health"]["ok"] is True
    assert world.proxy.targets["app-web"] == live_ip  # the live route did not move
    assert world.run(command="rollout_set", rollout_percent=10, proxy=PROXY)["split"] == "10%"
    world.proxy.calls.clear()
    promoted = world.run(version="v2", proxy=PROXY, stop_stale=True)
    assert promoted["promoted"] is True
    assert world.engine.named("app-web-v2").id == rollout.id  # the same container, not a new boot
    assert sum(1 for c in world.engine.calls if c[0] == "create" and c[1] == "app-web-v2") == 1
    assert world.proxy.targets["app-web"] != live_ip and world.proxy.rollouts == {}
    assert running(world.engine) == ["app-web-v2"]
    assert [c[0] for c in world.proxy.calls][:3] == ["ensure_route", "switch", "drain"]


def test_a_deploy_of_another_version_ends_the_rollout_first(world):
    world.run(proxy=PROXY)
    world.run(command="rollout_deploy", version="v2", proxy=PROXY)
    world.engine.publish(REPO + ":v3", {"service": "app"})
    world.run(version="v3", proxy=PROXY, stop_stale=True)
    assert world.proxy.rollouts == {}
    assert ("end_rollout", "app-web", 30, False) in world.proxy.calls
    assert running(world.engine) == ["app-web-v3"]


def test_the_live_version_cannot_be_its_own_rollout_and_unproxied_roles_have_none(world):
    world.run(proxy=PROXY)
    with pytest.raises(_app.AppError, match="is the live version"):
        world.run(command="rollout_deploy", version="v1", proxy=PROXY)
    with pytest.raises(_app.AppError, match="does not run the proxy"):
        world.run(command="rollout_set", rollout_percent=5)


def test_rollout_audit_lines_say_what_changed():
    assert _app.audit_message("rollout_set", {}, {"changed": True, "rollout": {"version": "v2"}, "split": "10%"}) == \
        "Set the rollout split of app version v2 to 10%"
    assert _app.audit_message("rollout_deploy", {"version": "v2"}, {"changed": True}) == \
        "Deployed app version v2 as the rollout"
    assert _app.audit_message("rollout_set", {}, {"changed": False}) is None
