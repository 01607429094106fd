"""The kamal.deploy.kamal stdout callback: a result per host, nothing for skipped or preparing steps, a plan per host."""
import types

import pytest
import yaml

from ansible import constants as C

from ansible_collections.kamal.deploy.plugins.callback import kamal as callback_module


class Task:
    def __init__(self, name, action, loop=None, run_once=False, role="command"):
        self.name, self.action, self.loop, self.run_once, self.ignore_errors, self.role = name, action, loop, run_once, False, role

    def get_name(self, include_role_fqcn=True):
        return "%s : %s" % (self.role, self.name) if self.role else self.name


def result(host, task, data):
    return types.SimpleNamespace(host=types.SimpleNamespace(get_name=lambda: host), task=task, result=data)


@pytest.fixture(name="shown")
def fixture_shown(monkeypatch):
    lines = []
    cb = callback_module.CallbackModule()
    monkeypatch.setattr(cb._display, "display", lambda msg, **kw: lines.append(msg))  # pylint: disable=protected-access
    monkeypatch.setattr(cb, "_handle_warnings_and_exception", lambda r: None)
    return cb, lines


def test_a_read_only_command_prints_its_result_per_host_and_nothing_else(shown):
    cb, lines = shown
    cb.v2_runner_on_ok(result("vm1", Task("Resolve the command", "kamal.deploy.kamal_prepare"), {"changed": False}))
    cb.v2_runner_on_skipped(result("vm1", Task("Run the pre-connect hook", "ansible.builtin.include_role"), {}))
    shown_data = {"msg": ["a  running", "b  exited"], "_ansible_item_label": "web"}
    cb.v2_runner_item_on_ok(result("vm1", Task("Show the output", "ansible.builtin.debug"), shown_data))
    cb.v2_runner_on_ok(result("vm1", Task("Show the deploy lock", "ansible.builtin.debug", run_once=True), {"msg": "There is no deploy lock"}))
    assert lines == ["vm1 (web)", "a  running\nb  exited", "There is no deploy lock"]
    cb.v2_playbook_on_stats(types.SimpleNamespace(processed={"vm1": 1}, failures={}, dark={}, changed={}))
    assert len(lines) == 3, "a run that changed nothing ends without a summary"


def test_a_plan_prints_each_hosts_plan_and_says_nothing_changed(shown):
    cb, lines = shown
    cb.check_mode = True
    cb.v2_runner_item_on_ok(result("vm1", Task("Primary role, app boot v2", "kamal.deploy.kamal_app", role="app"), {
        "changed": True, "_ansible_item_label": "web", "actions": ["docker run --detach --name app-web-v2 r/app:v2"],
        "image_plan": [{"image": "r/app:v2", "on_host": False, "pull": True, "registry": "has it"}]}))
    cb.v2_playbook_on_stats(types.SimpleNamespace(processed={"vm1": 1}, failures={}, dark={}, changed={"vm1": 1}))
    assert lines == ["Plan for vm1 web:", "  image   r/app:v2: pull (the registry has it)", "  create  app-web-v2",
                     "Accessories: none affected", "Plan: changes on vm1; nothing was changed"]


def test_a_failure_names_host_task_message_and_logs(shown):
    cb, lines = shown
    cb.v2_runner_on_failed(result("vm2", Task("Primary role, app boot v2", "kamal.deploy.kamal_app", role="app"), {
        "msg": "app-web-v2 is unhealthy", "logs": ["boot error"]}))
    cb.v2_playbook_on_stats(types.SimpleNamespace(processed={"vm2": 1}, failures={"vm2": 1}, dark={}, changed={}))
    assert lines[0] == "FAILED on vm2 (Primary role, app boot v2): app-web-v2 is unhealthy"
    assert lines[1] == "  boot error" and lines[2].startswith("Failed on vm2 after ")


def load_options(cb):
    """What Ansible's plugin loader does for a stdout callback: its documented options, then set_options()."""
    C.config.initialize_plugin_configuration_definitions("callback", "kamal.deploy.kamal",
                                                         yaml.safe_load(callback_module.DOCUMENTATION)["options"])
    cb._load_name = "kamal.deploy.kamal"  # pylint: disable=protected-access
    cb.set_options()


def test_quiet_prints_results_and_failures_only(shown, monkeypatch):
    cb, lines = shown
    monkeypatch.setenv("KAMAL_ANSIBLE_QUIET", "1")
    load_options(cb)
    assert cb.quiet is True
    cb.v2_runner_item_on_ok(result("vm1", Task("Show the output", "ansible.builtin.debug"), {"msg": "v1", "_ansible_item_label": "web"}))
    cb.v2_runner_on_ok(result("vm1", Task("Primary role, app boot v2", "kamal.deploy.kamal_app", role="app"), {"changed": True}))
    cb.v2_runner_on_failed(result("vm2", Task("Primary role, app boot v2", "kamal.deploy.kamal_app", role="app"), {"msg": "unhealthy"}))
    cb.v2_playbook_on_stats(types.SimpleNamespace(processed={"vm1": 1, "vm2": 1}, failures={"vm2": 1}, dark={}, changed={"vm1": 1}))
    assert lines[0] == "v1", "no host heading, as Kamal's -q prints no `App Host:` line"
    assert lines[1] == "FAILED on vm2 (Primary role, app boot v2): unhealthy" and lines[2].startswith("Failed on vm2 after ")
    assert len(lines) == 3, lines
    # and a run that changed something ends without Done in ...
    lines.clear()
    cb.v2_playbook_on_stats(types.SimpleNamespace(processed={"vm1": 1}, failures={}, dark={}, changed={"vm1": 1}))
    assert lines == []


def test_not_quiet_by_default(shown, monkeypatch):
    cb, _lines = shown
    monkeypatch.delenv("KAMAL_ANSIBLE_QUIET", raising=False)
    load_options(cb)
    assert cb.quiet is False
