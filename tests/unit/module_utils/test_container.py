# -*- coding: utf-8 -*-
"""The container manager base that apps and accessories share (module_utils/_container.py), driven through a
minimal container kind of its own, with the fake engine and proxy of the app tests."""
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _container, _docker
from test_app_fakes import Engine, FakeProxy, fake_docker_errors  # noqa: F401  pylint: disable=unused-import

IMAGE = "registry.test/thing:1"


class ThingError(_container.ContainerError):
    pass


class ThingSpec(_container.ContainerSpec):
    where = "things/one"
    route_name = "svc-thing"

    @property
    def env_file(self):
        return os.path.join(self.home, ".kamal/apps/svc/env/things/one.env")


class Thing(_container.ContainerManager):
    Error = ThingError
    PULL_ACTION = "docker thing pull"

    def planned_container_name(self):
        return "svc-thing"


class LoginEngine(Engine):
    def login(self, username=None, password=None, registry=None, reauth=False):
        self.calls.append(("login", registry, username))


@pytest.fixture
def engine():
    eng = LoginEngine()
    eng.publish(IMAGE)
    return eng


def thing(engine, tmp_path, check_mode=False, backend=None, **params):
    base = {"service": "svc", "home": str(tmp_path), "host": "vm1", "network": "kamal", "env": {},
            "secret_env": {"PASSWORD": "s3cr$t\nline"}, "volumes": [], "registry": None, "proxy": None}
    base.update(params)
    return Thing(engine, ThingSpec(base, environ={}), check_mode=check_mode, proxy=backend)


def running(engine, name="svc-thing", labels=None):
    engine.set_tag(IMAGE, engine.registry[IMAGE])
    container = engine.containers.create(IMAGE, name=name, network="kamal", labels=labels or {})
    container.start()
    return container


def test_env_file_is_written_private_once_and_only_planned_in_check_mode(engine, tmp_path):
    planned = thing(engine, tmp_path, check_mode=True)
    assert planned.ensure_env_file() is True and planned.changed is True
    assert not os.path.exists(planned.spec.env_file)
    written = thing(engine, tmp_path)
    assert written.ensure_env_file() is True
    assert written.actions == ["write %s (mode 0600, 1 key(s): PASSWORD=[masked])" % written.spec.env_file]
    with open(written.spec.env_file, encoding="utf-8") as handle:
        assert handle.read() == "PASSWORD=s3cr$t\\nline\n"  # Kamal's escaping: a newline as the two characters \n
    assert os.stat(written.spec.env_file).st_mode & 0o777 == 0o600
    again = thing(engine, tmp_path)
    assert again.ensure_env_file() is False and again.actions == [] and again.changed is False


def test_a_missing_image_is_pulled_after_one_login_and_a_present_one_is_not(engine, tmp_path):
    registry = {"server": "registry.test", "username": "u", "password": "pw"}
    manager = thing(engine, tmp_path, registry=registry)
    image = manager.ensure_image(IMAGE)
    assert image.id == engine.registry[IMAGE].id and manager.changed is True
    assert manager.actions == ["docker login registry.test -u u -p [redacted]", "docker thing pull %s" % IMAGE]
    manager.ensure_image(IMAGE, "always")
    assert [c for c in engine.calls if c[0] == "login"] == [("login", "registry.test", "u")]
    assert manager.actions[-1] == "docker thing pull %s" % IMAGE
    present = thing(engine, tmp_path, registry=registry)
    assert present.ensure_image(IMAGE).id == image.id and present.actions == [] and present.changed is False


def test_pull_never_fails_with_the_kinds_error_and_check_mode_only_plans_the_pull(engine, tmp_path):
    with pytest.raises(ThingError, match="registry.test/thing:2 is not on this host and pull is never"):
        thing(engine, tmp_path).ensure_image("registry.test/thing:2", "never")
    planned = thing(engine, tmp_path, check_mode=True)
    assert planned.ensure_image(IMAGE) is None and planned.changed is True
    assert planned.actions == ["docker thing pull %s" % IMAGE] and IMAGE not in engine.tags


def test_logs_say_what_is_missing_and_nothing_found(engine, tmp_path):
    manager = thing(engine, tmp_path)
    assert manager.logs_result(None, "no container named svc-thing") == {
        "lines": [], "container": None, "msg": "no container named svc-thing", "changed": False, "actions": []}
    container = running(engine)
    container.logs_text = b"GET /up 200\nGET /boom 500\n"
    found = manager.logs_result(container, "unused", grep="500")
    assert found["lines"] == ["GET /boom 500"] and found["container"] == "svc-thing" and found["msg"] is None
    assert manager.logs_result(container, "unused", grep="404")["msg"] == "Nothing found"


def test_exec_in_a_running_container_and_in_a_new_one_give_the_same_result_shape(engine, tmp_path):
    container = running(engine)
    reused = thing(engine, tmp_path).exec_in(container, ["echo", "hi there"], {"A": "1"})
    assert reused["actions"] == ["docker exec --env A=1 svc-thing echo 'hi there'"]
    assert ("exec", "svc-thing", ["echo", "hi there"], ["A=1"]) in engine.calls
    fresh = thing(engine, tmp_path).exec_new("svc-thing-exec-1", IMAGE, ["true"], {"network": "kamal"})
    shape = {"container", "rc", "stdout", "stderr", "stdout_lines", "stderr_lines", "changed", "actions"}
    assert set(reused) == set(fresh) == shape
    assert reused["stdout_lines"] == ["exec out"] and fresh["rc"] == 0
    assert ("rm", "svc-thing-exec-1") in engine.calls  # --rm


def test_a_failed_exec_raises_the_kinds_error_with_the_result(engine, tmp_path):
    with pytest.raises(ThingError) as err:
        thing(engine, tmp_path)._exec_result("svc-thing", 3, (b"out\n", b"bad\n"))
    assert err.value.message == "exec in svc-thing exited with 3"
    assert err.value.details["rc"] == 3 and err.value.details["stderr_lines"] == ["bad"]
    with pytest.raises(ThingError, match="e.g. \\['true'\\]"):
        thing(engine, tmp_path).exec_argv("", "['true']")
    assert thing(engine, tmp_path).exec_argv("psql -c 'select 1'", "x") == ["psql", "-c", "select 1"]


def test_route_to_ensures_switches_and_drains_the_old_target(engine, tmp_path):
    proxy = FakeProxy()
    old, new = running(engine, "svc-thing-old"), running(engine)
    old_ip, new_ip = (_docker.container_ip(c, "kamal") for c in (old, new))
    proxy.targets["svc-thing"] = old_ip
    manager = thing(engine, tmp_path, backend=proxy, proxy={"hosts": ["thing.test"], "app_port": 3000})
    info = manager.route_to(new, old)
    assert manager.actions == ["proxy ensure route svc-thing", "proxy switch svc-thing to %s (was %s)" % (new_ip, old_ip),
                               "proxy drain %s:3000 (drain_timeout 30 s)" % old_ip]
    assert info["switch"]["after"] == new_ip and ("drain", "%s:3000" % old_ip, 30) in proxy.calls
    assert thing(engine, tmp_path, backend=proxy, proxy={"hosts": ["thing.test"]}).route_to(new)["switch"]["changed"] is False


def test_route_to_plans_in_check_mode_and_refuses_a_container_without_address(engine, tmp_path):
    proxy = FakeProxy()
    route = {"hosts": ["thing.test"]}
    planned = thing(engine, tmp_path, check_mode=True, backend=proxy, proxy=route)
    assert planned.route_to(None)["switch"] == {"changed": True, "before": None, "after": None}
    assert planned.actions[-1] == "proxy switch svc-thing to <ip of svc-thing>" and proxy.targets == {}
    stopped = running(engine)
    stopped.stop()
    with pytest.raises(ThingError, match="svc-thing has no address on the kamal network"):
        thing(engine, tmp_path, backend=proxy, proxy=route).route_to(stopped)
    assert thing(engine, tmp_path, backend=proxy).route_to(stopped) == {}  # not proxied


def test_unroute_removes_the_route_and_names_a_missing_backend(engine, tmp_path):
    proxy = FakeProxy()
    proxy.routes["svc-thing"] = {"name": "svc-thing"}
    manager = thing(engine, tmp_path, backend=proxy, proxy={"hosts": ["thing.test"]})
    manager.unroute()
    assert ("remove_route", "svc-thing", False) in proxy.calls
    with pytest.raises(ThingError, match="things/one is proxied but the proxy backend"):
        thing(engine, tmp_path, proxy={"hosts": ["thing.test"]}).unroute()


def test_summary_never_shows_the_env_or_the_recorded_spec(engine, tmp_path):
    container = running(engine, labels={"service": "svc", _container.SPEC_LABEL: "abc", _container.SPEC_DATA_LABEL: "{}"})
    summary = thing(engine, tmp_path).summarize(container)
    assert summary["labels"] == {"service": "svc"} and summary["status"] == "running"
    assert summary["name"] == "svc-thing" and summary["networks"] == ["kamal"]
    assert "Env" not in str(summary) and "PASSWORD" not in str(summary)
