"""The kamal_app and kamal_accessory actions: with the kamal inventory's variable, the module gets the plan's
arguments, the task's own winning, and the playbook's command options templated (omitted ones left out)."""
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.kamal.deploy.plugins.action import kamal_accessory, kamal_app
from ansible_collections.kamal.deploy.plugins.plugin_utils import plan

from test_plan import ACCESSORY_CONFIG, LAB_CONFIG, load


def run_action(action_class, args, task_vars):
    task = mock.MagicMock(args=args, async_val=0, check_mode=False, diff=False, delegate_to=None)
    action = action_class(task, mock.MagicMock(), mock.MagicMock(), DataLoader(), Templar(loader=DataLoader(), variables=task_vars),
                          mock.MagicMock())
    with mock.patch.object(action, "_execute_module", return_value={"changed": True}) as execute:
        result = action.run(task_vars=task_vars)
    assert execute.call_count == 1
    kwargs = execute.call_args.kwargs
    return result, kwargs["module_name"], kwargs["module_args"]


def test_the_app_action_passes_the_plan_with_the_playbooks_options_and_the_tasks_own_arguments(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG)
    secrets = {"KAMAL_REGISTRY_PASSWORD": "pw", "APP_SECRET": "s"}
    task_vars = {"kamal": kamal, "inventory_hostname": "172.29.0.11",
                 "kamal_plan_run": {"action": "logs", "version": "v1", "performer": "me", "secrets": secrets,
                                    "needs_secrets": True, "options": {"lines": 7}}}
    result, name, args = run_action(kamal_app.ActionModule, {"role": "web", "drain_timeout": 1}, task_vars)
    expected = plan.app_args(kamal, "web", "172.29.0.11", "logs", version="v1", secrets=secrets,
                             performer="me", options={"lines": 7})
    expected["drain_timeout"] = 1
    assert (name, result["changed"]) == ("kamal.deploy.kamal_app", True)
    assert json.loads(json.dumps(args)) == expected and args["lines"] == 7 and "grep" not in args


def test_app_remove_takes_the_images_only_where_the_resolved_command_says_so(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG)
    task_vars = {"kamal": kamal, "inventory_hostname": "172.29.0.11",
                 "kamal_plan_run": {"action": "remove", "options": {"confirm": True},
                                    "hosts": {"172.29.0.11": {"options": {"remove_images": False,
                                                                          "remove_app_directory": False}}}}}
    args = run_action(kamal_app.ActionModule, {"role": "web"}, task_vars)[2]
    assert (args["command"], args["remove_images"], args["remove_app_directory"]) == ("remove", False, False)


def test_without_the_kamal_variable_the_tasks_arguments_go_to_the_module_as_they_are():
    given = {"command": "boot", "service": "app", "role": "web", "image": "app"}
    args = run_action(kamal_app.ActionModule, dict(given), {"inventory_hostname": "h"})[2]
    assert args == given


def test_a_plan_that_cannot_be_made_fails_the_task_with_its_reason(tmp_path):
    task_vars = {"kamal": load(tmp_path, LAB_CONFIG), "inventory_hostname": "172.29.0.11",
                 "kamal_plan_run": {"secrets": {}, "needs_secrets": True}}
    with pytest.raises(AnsibleActionFail, match="the secret APP_SECRET has no value"):
        run_action(kamal_app.ActionModule, {"command": "boot", "role": "web"}, task_vars)


def test_the_accessory_action_passes_the_plan_for_its_host(tmp_path):
    kamal = load(tmp_path, ACCESSORY_CONFIG, files={"config/cache.conf.erb": "x", "config/plain.txt": "y"})
    task_vars = {"kamal": kamal, "inventory_hostname": "1.1.1.1",
                 "kamal_plan_run": {"action": "boot", "needs_secrets": False, "options": {"force": True}}}
    _result, name, args = run_action(kamal_accessory.ActionModule, {"command": "reboot", "service": "app", "name": "mirror"}, task_vars)
    assert name == "kamal.deploy.kamal_accessory"
    # A reboot pulls: the call writes how far it got there, for the controller (plugin_utils/progress.py).
    assert args.pop("progress_file").startswith(".kamal/progress/app-mirror-")
    assert args == plan.accessory_args(kamal, "mirror", "1.1.1.1", "reboot", needs_secrets=False, options={"force": True})


def test_before_the_command_is_resolved_the_plan_passes_no_secret(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG)
    _result, _name, args = run_action(kamal_app.ActionModule, {"command": "versions", "role": "web"},
                                      {"kamal": kamal, "inventory_hostname": "172.29.0.11"})
    assert "secret_env" not in args and "registry" not in args and args["command"] == "versions"


def test_the_hook_action_takes_the_project_service_version_and_secrets_from_the_config(tmp_path):
    from ansible_collections.kamal.deploy.plugins.action import kamal_hook  # pylint: disable=import-outside-toplevel
    kamal = load(tmp_path, LAB_CONFIG)
    task = mock.MagicMock(args={"name": "pre-deploy", "hosts": ["172.29.0.11"], "command": "deploy"}, async_val=0,
                          check_mode=False, diff=False)
    task_vars = {"kamal": kamal,
                 "kamal_plan_run": {"version": "v2", "secrets": {"APP_SECRET": "s"}, "hook_command": "deploy", "skip_hooks": False}}
    action = kamal_hook.ActionModule(task, mock.MagicMock(), mock.MagicMock(), DataLoader(),
                                     Templar(loader=DataLoader(), variables=task_vars), mock.MagicMock())
    with mock.patch.object(kamal_hook.hooks, "run_hook", return_value={"ran": False, "skipped_reason": "missing"}) as run_hook:
        action.run(task_vars=task_vars)
    kwargs = run_hook.call_args.kwargs
    assert (kwargs["project_dir"], kwargs["service"], kwargs["version"], kwargs["secrets"]) == (
        str(tmp_path), "dz1234", "v2", {"APP_SECRET": "s"})
    assert kwargs["hooks_path"] == ".kamal/hooks" and kwargs["destination"] is None


def test_the_prepare_action_resolves_the_playbooks_command_with_the_users_options_and_the_secrets(tmp_path):
    from ansible_collections.kamal.deploy.plugins.action import kamal_prepare  # pylint: disable=import-outside-toplevel
    kamal = load(tmp_path, LAB_CONFIG)
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=pw\nAPP_SECRET=s\n")
    hosts = ["172.29.0.11", "172.29.0.12"]
    task_vars = {"kamal": kamal, "kamal_command": "app boot", "ansible_play_hosts": hosts, "skip_push": False,
                 "version": "v7", "hostvars": {host: {"kamal_roles": ["web"]} for host in hosts}}
    task = mock.MagicMock(args={}, async_val=0, check_mode=False, diff=False, delegate_to="localhost")
    action = kamal_prepare.ActionModule(task, mock.MagicMock(), mock.MagicMock(), DataLoader(),
                                        Templar(loader=DataLoader(), variables=task_vars), mock.MagicMock())
    result = action.run(task_vars=task_vars)
    assert result["_ansible_no_log"] is True and result["changed"] is False
    assert (result["command"], result["version"], result["locked"], result["builds"]) == ("app boot", "v7", True, False)
    assert result["secrets"] == {"KAMAL_REGISTRY_PASSWORD": "pw", "APP_SECRET": "s"}
    assert result["hosts"]["172.29.0.12"]["primary"] == ["web"] and result["lock_host"] == "172.29.0.11"


def test_the_prepare_action_names_every_missing_secret(tmp_path):
    from ansible_collections.kamal.deploy.plugins.action import kamal_prepare  # pylint: disable=import-outside-toplevel
    kamal = load(tmp_path, LAB_CONFIG)
    task_vars = {"kamal": kamal, "ansible_play_hosts": ["172.29.0.11"], "hostvars": {}}
    task = mock.MagicMock(args={"command": "deploy"}, async_val=0, check_mode=False, diff=False, delegate_to="localhost")
    action = kamal_prepare.ActionModule(task, mock.MagicMock(), mock.MagicMock(), DataLoader(),
                                        Templar(loader=DataLoader(), variables=task_vars), mock.MagicMock())
    with pytest.raises(AnsibleActionFail, match="kamal_secrets: .*KAMAL_REGISTRY_PASSWORD.*APP_SECRET|APP_SECRET.*KAMAL_REG"):
        action.run(task_vars=task_vars)


def test_a_deploy_boot_carries_the_proxy_boot_on_the_proxy_host_and_the_proxy_action_signs_its_audit(tmp_path):
    from ansible_collections.kamal.deploy.plugins.action import kamal_proxy  # pylint: disable=import-outside-toplevel

    kamal = load(tmp_path, LAB_CONFIG)
    proxy_args = {"image": "r/proxy:1", "takeover": False, "force": False, "keep_in_use": False}
    run = {"action": "boot", "version": "v1", "proxy": True, "proxy_args": proxy_args, "performer": "me",
           "proxy_hosts": ["172.29.0.11"], "hosts": {"172.29.0.11": {"primary": ["web"], "others": []}}}
    task_vars = {"kamal": kamal, "inventory_hostname": "172.29.0.11", "kamal_plan_run": run}
    args = run_action(kamal_app.ActionModule, {"role": "web"}, task_vars)[2]
    # kamal_proxy's boot arguments, without what only kamal_proxy takes (force, keep_in_use).
    assert args["proxy_boot"] == {"image": "r/proxy:1", "takeover": False}
    # A redeploy (proxy false) boots the app only.
    args = run_action(kamal_app.ActionModule, {"role": "web"}, dict(task_vars, kamal_plan_run=dict(run, proxy=False)))[2]
    assert "proxy_boot" not in args
    proxy = run_action(kamal_proxy.ActionModule, {}, dict(task_vars, kamal_plan_run=dict(run, scope="proxy", action="reboot")))[2]
    assert (proxy["command"], proxy["service"], proxy["performer"]) == ("reboot", kamal["service"], "me")
