"""deploy.yml as an inventory, through ansible-inventory / ansible as users run them."""
import json
import os
import shlex
import subprocess
import textwrap

import pytest

DEPLOY = """\
service: shop
image: acme/shop
servers:
  web:
    - 192.168.1.100
  web_new:
    hosts:
      - 192.168.1.200: [canary]
    proxy: true
  workers:
    hosts: [192.168.1.100]
    cmd: bin/jobs
registry:
  username: acme
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
labels:
  note: "{{ 1 + 1 }}"
ssh:
  user: deploy
  port: 2222
  proxy: jump.example.test
  keys: [ ~/.ssh/id_ed25519, ~/.ssh/other ]
accessories:
  db:
    image: postgres:15
    host: 192.168.1.100
"""

ENABLE = "[inventory]\nenable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DEPLOY)
    (tmp_path / "ansible.cfg").write_text(ENABLE)
    (tmp_path / "inventory.kamal.yml").write_text("plugin: kamal.deploy.kamal\n")
    return tmp_path


def ansible(project, *args, tool="ansible-inventory", check=True, env=None):
    environ = dict(os.environ, VERSION="v1", ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                   **(env or {}))
    res = subprocess.run([tool, *args], cwd=project, env=environ, capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def groups(project, source):
    data = json.loads(ansible(project, "-i", source, "--list").stdout)
    return {name: sorted(body.get("hosts", [])) for name, body in data.items() if name not in ("_meta", "all")}


def test_roles_and_accessories_are_groups_the_same_from_both_sources(project):
    expected = {"web": ["192.168.1.100"], "web_new": ["192.168.1.200"], "workers": ["192.168.1.100"],
                "accessory_db": ["192.168.1.100"], "kamal_proxy": ["192.168.1.100", "192.168.1.200"],
                "kamal_primary": ["192.168.1.100"], "kamal_app_hosts": ["192.168.1.100", "192.168.1.200"],
                "kamal_accessory_hosts": ["192.168.1.100"]}
    from_source = groups(project, "inventory.kamal.yml")
    from_deploy = groups(project, "config/deploy.yml")
    assert {k: v for k, v in from_source.items() if k != "ungrouped"} == expected
    assert from_deploy == from_source
    graph = ansible(project, "-i", "config/deploy.yml", "--graph").stdout
    assert "@accessory_db:" in graph and "@web_new:" in graph


def test_limit_to_a_new_role_selects_no_accessory_host(project):
    out = ansible(project, "-i", "config/deploy.yml", "accessory_db:web_new", "-l", "web_new", "--list-hosts", tool="ansible").stdout
    assert "192.168.1.200" in out and "192.168.1.100" not in out


def test_host_vars_carry_ssh_settings_tags_and_roles(project):
    hostvars = json.loads(ansible(project, "-i", "config/deploy.yml", "--host", "192.168.1.200").stdout)
    assert hostvars["ansible_user"] == "deploy" and hostvars["ansible_port"] == 2222
    assert hostvars["ansible_ssh_private_key_file"] == "~/.ssh/id_ed25519"
    assert shlex.split(hostvars["ansible_ssh_common_args"])[:2] == ["-i", "~/.ssh/other"]
    assert "ProxyJump=root@jump.example.test" in hostvars["ansible_ssh_common_args"]
    assert hostvars["kamal_tags"] == ["canary"] and hostvars["kamal_roles"] == ["web_new"]
    web = json.loads(ansible(project, "-i", "config/deploy.yml", "--host", "192.168.1.100").stdout)
    assert web["kamal_roles"] == ["web", "workers"]
    assert web["kamal"]["version"] == "v1" and web["kamal"]["primary_host"] == "192.168.1.100"


def test_config_values_are_never_templated(project):
    out = ansible(project, "-i", "config/deploy.yml", "localhost", "-m", "ansible.builtin.debug",
                  "-a", "msg={{ kamal.labels.note }}", tool="ansible").stdout
    assert '"msg": "{{ 1 + 1 }}"' in out


def test_keyed_groups_from_tags(project):
    (project / "inventory.kamal.yml").write_text(textwrap.dedent("""\
        plugin: kamal.deploy.kamal
        keyed_groups:
          - key: kamal_tags
            prefix: tag
        """))
    assert groups(project, "inventory.kamal.yml")["tag_canary"] == ["192.168.1.200"]


def test_destination_file_as_source_merges_over_the_base(project):
    (project / "config" / "deploy.staging.yml").write_text("servers:\n  web:\n    - 10.0.0.5\n")
    got = groups(project, "config/deploy.staging.yml")
    assert got["web"] == ["10.0.0.5"] and got["workers"] == ["192.168.1.100"]
    (project / "inventory.kamal.yml").write_text("plugin: kamal.deploy.kamal\ndestination: staging\n")
    assert groups(project, "inventory.kamal.yml")["web"] == ["10.0.0.5"]


def test_a_bad_config_fails_with_the_key_path_not_a_traceback(project):
    (project / "config" / "deploy.yml").write_text(DEPLOY + "proxy: true\n")
    res = ansible(project, "-i", "inventory.kamal.yml", "--list", check=False)
    assert res.returncode != 0
    assert "proxy: should be a hash" in res.stderr
    assert "Traceback" not in res.stderr


def test_other_yaml_inventories_named_deploy_yml_are_left_to_the_yaml_plugin(tmp_path):
    (tmp_path / "ansible.cfg").write_text(ENABLE)
    (tmp_path / "deploy.yml").write_text("all:\n  hosts:\n    h1:\n")
    data = json.loads(ansible(tmp_path, "-i", "deploy.yml", "--list").stdout)
    assert "h1" in data["ungrouped"]["hosts"]


def test_a_source_file_finds_its_config_from_any_working_directory(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    environ = dict(os.environ, VERSION="v1", ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    res = subprocess.run(["ansible-inventory", "-i", str(project / "inventory.kamal.yml"), "--list"], cwd=elsewhere,
                         env=environ, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(json.loads(res.stdout)["kamal_app_hosts"]["hosts"]) == ["192.168.1.100", "192.168.1.200"]
