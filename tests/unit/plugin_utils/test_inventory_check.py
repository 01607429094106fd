"""The check every playbook's first play makes on the controller: kamal inventory loaded, a limit that leaves hosts."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.inventory_check import ENABLE_LINES, check_inventory

KAMAL_GROUPS = {
    "all": ["127.0.0.11", "127.0.0.12", "127.0.0.13"], "ungrouped": [],
    "web": ["127.0.0.11", "127.0.0.12"], "workers": ["127.0.0.12"], "accessory_db": ["127.0.0.13"],
    "kamal_proxy": ["127.0.0.11", "127.0.0.12"], "kamal_primary": ["127.0.0.11"],
    "kamal_app_hosts": ["127.0.0.11", "127.0.0.12"], "kamal_accessory_hosts": ["127.0.0.13"],
}
# What Ansible's yaml plugin makes of a deploy.yml: its top-level keys become groups, no kamal group.
YAML_PLUGIN_GROUPS = {"all": [], "ungrouped": [], "service": [], "servers": [], "registry": []}


@pytest.mark.parametrize("pattern, limit", [
    ("kamal_app_hosts", None),
    ("kamal_app_hosts", "web"),
    ("kamal_app_hosts", "workers,127.0.0.11"),
    ("kamal_app_hosts", "127.0.0.12"),
    ("kamal_accessory_hosts", "accessory_db"),
    ("kamal_app_hosts:kamal_accessory_hosts", "accessory_db"),
    ("kamal_app_hosts", "web:!127.0.0.11"),  # patterns beyond plain names are Ansible's to resolve
    ("kamal_app_hosts", "w*"),
])
def test_a_loaded_inventory_and_a_limit_that_leaves_hosts_pass(pattern, limit):
    assert check_inventory(pattern, KAMAL_GROUPS, limit) is None


def test_without_the_kamal_inventory_the_error_names_both_fixes_and_what_ansible_read():
    message = check_inventory("kamal_app_hosts", YAML_PLUGIN_GROUPS, None, None, ["/p/config/deploy.yml"])
    assert message.startswith("kamal.deploy: the kamal.deploy.kamal inventory was not loaded from /p/config/deploy.yml "
                              "(Ansible found no ansible.cfg)")
    assert ENABLE_LINES in message and "plugin: kamal.deploy.kamal" in message and ".kamal.yml" in message
    with_cfg = check_inventory("kamal_app_hosts", YAML_PLUGIN_GROUPS, None, "/p/ansible.cfg")
    assert "Ansible read its settings from /p/ansible.cfg, which does not enable the plugin" in with_cfg


@pytest.mark.parametrize("pattern, limit, expected", [
    ("kamal_app_hosts", "web_nwe", "kamal.deploy: -l web_nwe: web_nwe is not a role, an accessory group or a host of this "
     "deploy.yml, so the run would do nothing. Groups: accessory_db, kamal_primary, kamal_proxy, web, workers; "
     "hosts: 127.0.0.11, 127.0.0.12, 127.0.0.13"),
    ("kamal_app_hosts", "accessory_db", "kamal.deploy: -l accessory_db leaves no host for this command, which runs on "
     "kamal_app_hosts (127.0.0.11, 127.0.0.12): the run would do nothing"),
    ("kamal_accessory_hosts", "web,127.0.0.12", "kamal.deploy: -l web,127.0.0.12 leaves no host for this command, which "
     "runs on kamal_accessory_hosts (127.0.0.13): the run would do nothing"),
])
def test_a_limit_that_leaves_nothing_to_do_fails(pattern, limit, expected):
    assert check_inventory(pattern, KAMAL_GROUPS, limit) == expected
