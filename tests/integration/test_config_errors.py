"""No run that cannot act exits 0: broken or unusual projects through ansible-playbook and kamal-ansible, as a user
runs them. No lab needed: every run here must stop on the controller before any SSH (the hosts are loopback
addresses nobody listens on, so a run that got as far as connecting would fail differently)."""
import os
import subprocess
import sys

import pytest

ENABLE = "[inventory]\nenable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml\n"
REST = "registry: {username: acme, password: [KAMAL_REGISTRY_PASSWORD]}\nbuilder: {arch: amd64}\n"
VALID = "service: shop\nimage: acme/shop\nservers:\n  web: [127.0.0.21, 127.0.0.22]\n  workers: [127.0.0.23]\n" + REST
BIN = os.path.dirname(sys.executable)


def run(project, *argv, env=None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k == "ANSIBLE_COLLECTIONS_PATH"}
    # No ~/.ansible.cfg or ANSIBLE_CONFIG from the machine: the project's own ansible.cfg, or none.
    environ.update(HOME=str(project), VERSION="v1", PATH=BIN + os.pathsep + environ.get("PATH", ""), **(env or {}))
    return subprocess.run(list(argv), cwd=project, env=environ, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=120)


def project_with(tmp_path, deploy, cfg=ENABLE, destination=None):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_bytes(deploy if isinstance(deploy, bytes) else deploy.encode())
    if destination:
        (tmp_path / "config" / "deploy.staging.yml").write_text(destination)
    if cfg is not None:
        (tmp_path / "ansible.cfg").write_text(cfg)
    return tmp_path


def one_error(res):
    """The run failed with exactly one error and nothing from Ansible's other inventory plugins around it."""
    output = res.stdout + res.stderr
    assert res.returncode != 0, output
    assert output.count("[ERROR]") == 1, output
    assert "[WARNING]" not in output and "Traceback" not in output, output
    assert "PLAY [" not in output, output  # stopped before the first play, so before any SSH
    return output


BROKEN = [
    ("no_service", "image: acme/shop\nservers: [127.0.0.21]\n" + REST, "Missing required configuration for service"),
    ("misspelt_top_level_key", VALID + "sevrice: shop\n", "unknown key: sevrice"),
    ("unknown_key_in_a_role", VALID.replace("  workers: [127.0.0.23]\n", "  workers:\n    hosts: [127.0.0.23]\n    cmnd: x\n"),
     "servers/workers: unknown key: cmnd"),
    ("no_servers", "service: shop\nimage: acme/shop\n" + REST, "servers"),
    ("empty_file", "", "deploy.yml"),
    ("only_comments", "# nothing here yet\n", "deploy.yml"),
    ("secret_env_as_a_string", VALID + "env:\n  secret: DB_PASSWORD\n", "env/secret"),
    ("accessory_on_an_unknown_role", VALID + "accessories:\n  db: {image: postgres:15, role: nope}\n", "accessories/db"),
    ("scalar_document", "hello\n", "deploy.yml"),
    ("role_named_all", VALID.replace("  workers:", "  all:"), "all"),
    ("integer_role_name", VALID.replace("  workers:", "  1:"), "1"),
    ("self_referencing_alias", VALID + "x-loop: &loop [*loop]\n", "loop"),
    ("not_utf8", VALID.encode() + b"labels: {note: \"\xff\xfe\"}\n", "deploy.yml"),
]


@pytest.mark.parametrize("deploy, expected", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_deploy_yml_fails_with_one_error_before_any_ssh(tmp_path, deploy, expected):
    project = project_with(tmp_path, deploy)
    output = one_error(run(project, "ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy", "--check", "-l", "web"))
    assert str(project / "config" / "deploy.yml") in output and expected in output


@pytest.mark.parametrize("deploy, expected", [case[1:] for case in BROKEN[:3]], ids=[case[0] for case in BROKEN[:3]])
def test_read_only_commands_and_the_inventory_sync_fail_the_same_way(tmp_path, deploy, expected):
    project = project_with(tmp_path, deploy)
    assert expected in one_error(run(project, "ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.app_details"))
    # AWX's inventory sync runs ansible-inventory: it must fail too, not import an empty inventory.
    assert expected in one_error(run(project, "ansible-inventory", "-i", "config/deploy.yml", "--list"))


def test_without_an_ansible_cfg_the_run_fails_naming_both_fixes(tmp_path):
    project = project_with(tmp_path, VALID, cfg=None)
    res = run(project, "ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy", "-l", "web")
    output = res.stdout + res.stderr
    assert res.returncode != 0 and "PLAY [" not in output, output
    assert "the kamal.deploy.kamal inventory was not loaded" in output and "Ansible found no ansible.cfg" in output
    assert "enable_plugins = kamal.deploy.kamal" in output and "plugin: kamal.deploy.kamal" in output
    # A *.kamal.yml source is the other fix: it works with Ansible's defaults.
    (project / "inventory.kamal.yml").write_text("plugin: kamal.deploy.kamal\n")
    res = run(project, "ansible-playbook", "-i", "inventory.kamal.yml", "kamal.deploy.deploy", "-l", "web", "--list-hosts")
    assert res.returncode == 0 and "127.0.0.21" in res.stdout and "127.0.0.23" not in res.stdout, res.stdout + res.stderr


def test_kamal_ansible_needs_no_ansible_cfg(tmp_path):
    script = os.path.join(BIN, "kamal-ansible")
    if not os.path.exists(script):
        pytest.fail("kamal-ansible is not installed: pip install -r requirements.txt")
    project = project_with(tmp_path, VALID + "aliases:\n  jobs: app details -r workers\n", cfg=None)
    # The alias is read from the inventory, so the plugin was loaded without any ansible.cfg.
    res = run(project, script, "--dry-run", "jobs")
    assert res.returncode == 0 and res.stdout.strip().endswith("kamal.deploy.app_details -l workers"), res.stdout + res.stderr
    (project / "config" / "deploy.yml").write_text(VALID + "sevrice: shop\n")
    res = run(project, script, "app", "details")
    assert res.returncode == 1 and "unknown key: sevrice" in res.stdout + res.stderr


def test_a_limit_that_leaves_no_host_of_the_command_fails(tmp_path):
    project = project_with(tmp_path, VALID + "accessories:\n  db: {image: postgres:15, host: 127.0.0.24}\n")
    res = run(project, "ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy", "-l", "accessory_db")
    output = res.stdout + res.stderr
    assert res.returncode != 0 and "PLAY [" not in output, output
    assert "-l accessory_db leaves no host for this command" in output


def test_a_destination_file_given_as_inventory_is_that_destination(tmp_path):
    staging = "servers:\n  web: [127.0.0.31]\n  workers: [127.0.0.31]\nenv:\n  clear:\n    STAGE: staging\n"
    project = project_with(tmp_path, VALID, destination=staging)
    res = run(project, "ansible-playbook", "-i", "config/deploy.staging.yml", "kamal.deploy.deploy", "--list-hosts")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "127.0.0.31" in res.stdout and "127.0.0.21" not in res.stdout
    res = run(project, "ansible", "-i", "config/deploy.staging.yml", "127.0.0.31", "-m", "ansible.builtin.debug",
              "-a", "msg={{ kamal.destination }}/{{ kamal.env['clear'].STAGE }}")
    assert '"msg": "staging/staging"' in res.stdout, res.stdout + res.stderr
    # A destination file that only overrides env: is still ours, not the yaml plugin's.
    (project / "config" / "deploy.staging.yml").write_text("env:\n  clear:\n    STAGE: staging\n")
    res = run(project, "ansible", "-i", "config/deploy.staging.yml", "127.0.0.21", "-m", "ansible.builtin.debug",
              "-a", "msg={{ kamal.destination }}/{{ kamal.env['clear'].STAGE }}")
    assert '"msg": "staging/staging"' in res.stdout, res.stdout + res.stderr
    # -i config/ would read both files as two inventories: refused, naming the way out.
    output = one_error(run(project, "ansible-playbook", "-i", "config", "kamal.deploy.deploy"))
    assert "holds more than one destination (deploy.staging.yml, deploy.yml)" in output


def test_an_alias_bomb_fails_fast(tmp_path):
    levels = ["a0: &a0 [" + ", ".join(["x"] * 9) + "]"]
    levels += ["a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)) for i in range(1, 10)]
    project = project_with(tmp_path, VALID + "x-bomb:\n" + "".join("  %s\n" % line for line in levels))
    res = run(project, "ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy", "--check")
    assert "x-bomb" in one_error(res) or "alias" in res.stderr
