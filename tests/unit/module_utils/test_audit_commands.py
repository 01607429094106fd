# -*- coding: utf-8 -*-
"""Accessory and proxy commands write Kamal's audit lines (kamal/cli/accessory.rb, proxy.rb), through the one
writer (_audit.record_all), for what they did."""
import os

from ansible_collections.kamal.deploy.plugins.module_utils import _accessory, _audit, _proxy
from test_accessory_manager import engine, fake_docker_errors, home, manager, params  # noqa: F401  pylint: disable=unused-import


def messages(command, result, **over):
    return _accessory.audit_messages(command, params("/h", command=command, **over), result)


def test_accessory_boot_start_stop_and_remove_write_kamals_lines(engine, home):
    assert messages("boot", manager(engine, home).boot()) == ["Booted postgres accessory"]
    assert messages("boot", manager(engine, home).boot()) == []  # nothing changed, nothing recorded
    assert messages("stop", manager(engine, home).stop()) == ["Stopped postgres accessory"]
    assert messages("start", manager(engine, home).start()) == ["Started postgres accessory"]
    assert messages("restart", manager(engine, home).restart()) == ["Stopped postgres accessory",
                                                                    "Started postgres accessory"]
    assert messages("remove", manager(engine, home).remove(confirm=True)) == [
        "Stopped postgres accessory", "Remove postgres accessory container", "Removed postgres accessory image"]


def test_accessory_reboot_records_the_pull_the_stop_the_boot_and_the_removal(engine, home):
    manager(engine, home).boot()
    rebooted = manager(engine, home, env={"POSTGRES_DB": "other"}).reboot()
    assert messages("reboot", rebooted) == ["Pull postgres accessory image", "Stopped postgres accessory",
                                            "Booted postgres accessory", "Remove postgres accessory container"]


def test_accessory_exec_records_the_command(engine, home):
    manager(engine, home).boot()
    done = manager(engine, home).run_exec(["psql", "-c", "select 1"], reuse=True)
    assert messages("exec", done, exec_command=["psql", "-c", "select 1"]) == [
        "Executed cmd 'psql -c select 1' on postgres accessory"]


def test_proxy_reboot_and_remove_write_kamals_lines_and_boot_none():
    assert _proxy.audit_messages("reboot", {"changed": True, "actions": ["run container kamal-proxy (x)"]}) == [
        "Rebooted proxy"]
    assert _proxy.audit_messages("remove", {"changed": True, "actions": ["stop and remove container kamal-proxy"]}) == [
        "Removed proxy container"]
    assert _proxy.audit_messages("boot", {"changed": True, "actions": ["run container kamal-proxy (x)"]}) == []
    assert _proxy.audit_messages("reboot", {"changed": False, "actions": []}) == []


def test_lines_go_to_the_services_log_with_the_destination_and_secrets_masked(tmp_path):
    lines = _audit.record_all(str(tmp_path), "shop", ["Booted db accessory", "Executed cmd 'echo pw1' on db accessory"],
                              destination="staging", secrets=["pw1"])
    with open(os.path.join(str(tmp_path), ".kamal/shop-staging-audit.log"), encoding="utf-8") as handle:
        written = handle.read().splitlines()
    assert written == lines
    assert lines[0].endswith("] [kamal.deploy] [staging] Booted db accessory")
    assert lines[1].endswith("Executed cmd 'echo ********' on db accessory")
    assert _audit.record_all(str(tmp_path), "shop", ["Rebooted proxy"], check_mode=True)[0].endswith("Rebooted proxy")
    assert not os.path.exists(os.path.join(str(tmp_path), ".kamal/shop-audit.log"))


def test_the_manager_records_in_its_services_log_with_secret_env_and_registry_password_masked(engine, home):
    accessory = manager(engine, home, destination="staging", exec_command=None)
    lines = accessory.record_audit(["Executed cmd 'login u registry-pw' on postgres accessory",
                                    "echo %s" % "s3cr$t with 'quote'\nand newline"], performer="dev@example.com")
    with open(os.path.join(home, ".kamal/shop-staging-audit.log"), encoding="utf-8") as handle:
        assert handle.read().splitlines() == lines
    assert lines[0].endswith("[dev@example.com] [staging] Executed cmd 'login u ********' on postgres accessory")
    assert lines[1].endswith("] echo ********")
