"""module_utils/_module.py: every module ends in one exit_json or one fail_json, never a raw traceback.

A known error (a KamalError: AppError, DockerError, ProxyError ...) keeps its message and details; any other
exception becomes a one-line msg naming what the module was doing, with the actions done so far, and its
traceback only in ``exception``."""
import importlib
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.kamal.deploy.plugins.module_utils import _accessory, _app, _docker, _lock, _proxy, _registry
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, failure, run_module


class FakeModule:
    """AnsibleModule's exits: both end the process (SystemExit), which the boundary must let through."""

    def __init__(self, diff=False):
        self._diff = diff
        self.exited = None

    def exit_json(self, **result):
        self.exited = dict(result)
        raise SystemExit(0)

    def fail_json(self, **result):
        self.exited = dict(result, failed=True)
        raise SystemExit(1)


def boom(exc):
    def work():
        raise exc
    return work


DONE = ["docker pull hey:v2", "docker run --name hey-web-v2"]

KNOWN = [
    ("an AppError keeps its health and logs", _app.AppError("hey-web-v2 is not healthy", health={"status": 503}, logs=["x"]),
     {"msg": "hey-web-v2 is not healthy", "health": {"status": 503}, "logs": ["x"], "actions": DONE}),
    ("an AppError with its own actions keeps them", _app.AppError("exec in c exited with 2", rc=2, actions=["docker exec c"]),
     {"msg": "exec in c exited with 2", "rc": 2, "actions": ["docker exec c"]}),
    ("an AccessoryError", _accessory.AccessoryError("no container named db", container=None),
     {"msg": "no container named db", "container": None, "actions": DONE}),
    ("a DockerError", _docker.DockerError("cannot reach the Docker engine"),
     {"msg": "cannot reach the Docker engine", "actions": DONE}),
    ("a ProxyError", _proxy.ProxyError("route hey-web does not exist"),
     {"msg": "route hey-web does not exist", "actions": DONE}),
]


@pytest.mark.parametrize("exc, expected", [case[1:] for case in KNOWN], ids=[case[0] for case in KNOWN])
def test_a_known_error_fails_with_its_message_details_and_the_actions_done(exc, expected):
    module = FakeModule()
    with pytest.raises(SystemExit):
        run_module(module, boom(exc), "kamal_app boot of hey role web on vm1", lambda: list(DONE))
    assert module.exited == dict(expected, failed=True)


UNKNOWN = [
    (KeyError("Config"), "kamal_app logs of hey role web on vm1: unexpected KeyError: 'Config'"),
    (TypeError("unsupported operand\ntype(s) for -"), "kamal_app logs of hey role web on vm1: unexpected TypeError: "
                                                      "unsupported operand type(s) for -"),
    (RuntimeError(), "kamal_app logs of hey role web on vm1: unexpected RuntimeError"),
]


@pytest.mark.parametrize("exc, msg", UNKNOWN, ids=[type(case[0]).__name__ for case in UNKNOWN])
def test_an_unknown_error_is_one_line_naming_the_task_with_the_traceback_apart(exc, msg):
    module = FakeModule()
    with pytest.raises(SystemExit):
        run_module(module, boom(exc), "kamal_app logs of hey role web on vm1", lambda: list(DONE))
    result = module.exited
    assert result["failed"] is True and result["msg"] == msg
    assert result["actions"] == DONE
    assert "Traceback" not in result["msg"] and "\n" not in result["msg"]
    assert result["exception"].startswith("Traceback") and type(exc).__name__ in result["exception"]


def test_without_an_actions_source_a_known_error_adds_no_actions_and_an_unknown_one_an_empty_list():
    # kamal_lock's and kamal_registry_forward's failures have never carried actions: they must stay as they are.
    assert failure(KamalError("Deploy lock already in place", locked=True), "kamal_lock acquire of app") == {
        "msg": "Deploy lock already in place", "locked": True}
    try:
        raise ValueError("bad")
    except ValueError as exc:
        assert failure(exc, "kamal_lock acquire of app")["actions"] == []


@pytest.mark.parametrize("diff, kept", [(False, False), (True, True)])
def test_a_result_keeps_its_diff_only_when_ansible_asked_for_one(diff, kept):
    module = FakeModule(diff=diff)
    with pytest.raises(SystemExit):
        run_module(module, lambda: {"changed": True, "diff": {"before": "a", "after": "b"}}, "kamal_proxy route")
    assert module.exited["changed"] is True and ("diff" in module.exited) is kept


def test_a_fail_json_of_the_work_itself_is_not_caught_again():
    module = FakeModule()

    def work():
        module.fail_json(msg="port 5557 is not forwarded", listening=False)

    with pytest.raises(SystemExit):
        run_module(module, work, "kamal_registry_forward check of port 5557", lambda: ["x"])
    assert module.exited == {"msg": "port 5557 is not forwarded", "listening": False, "failed": True}


# Every server-side module, run in-process with a part under it that raises what nobody expected.
MODULES = [
    ("kamal_app", {"command": "logs", "service": "hey", "host": "vm1"}, (_app, "RoleSpec"),
     "kamal_app logs of hey role web on vm1: unexpected RuntimeError: surprise"),
    ("kamal_accessory", {"command": "logs", "service": "hey", "name": "db", "host": "vm1"}, (_accessory, "AccessorySpec"),
     "kamal_accessory logs of db on vm1: unexpected RuntimeError: surprise"),
    ("kamal_proxy", {"command": "remove_route", "name": "hey-web"}, (_proxy, "remove_route"),
     "kamal_proxy remove_route on this host: unexpected RuntimeError: surprise"),
    ("kamal_lock", {"command": "status", "service": "hey"}, (_lock, "DeployLock"),
     "kamal_lock status of hey: unexpected RuntimeError: surprise"),
    ("kamal_registry_forward", {"port": 5557}, (_registry, "forward_state"),
     "kamal_registry_forward check of port 5557: unexpected RuntimeError: surprise"),
    ("kamal_deliver", {"image": "hey:v2"}, (_docker, "connect"),
     "kamal_deliver of hey:v2: unexpected RuntimeError: surprise"),
]


def surprise(*_args, **_kwargs):
    raise RuntimeError("surprise")


@pytest.mark.parametrize("name, args, target, msg", MODULES, ids=[case[0] for case in MODULES])
def test_every_module_fails_an_unexpected_exception_through_the_boundary(name, args, target, msg, monkeypatch, capsys,
                                                                         tmp_path):
    monkeypatch.setattr(_docker, "HAS_DOCKER", True)  # the SDK is not needed: the part under it raises first
    monkeypatch.setattr(*target, surprise)
    module = importlib.import_module("ansible_collections.kamal.deploy.plugins.modules." + name)
    if name in ("kamal_proxy", "kamal_lock"):
        args = dict(args, home=str(tmp_path))
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1
    assert result["failed"] is True and result["msg"] == msg
    assert result["actions"] == []
