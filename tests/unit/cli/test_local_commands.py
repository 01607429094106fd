"""The commands kamal-ansible runs on the controller itself: config, init, secrets and build create|remove|details."""
import json
import os
import stat
import sys

import pytest
import yaml

from kamal_ansible import cli
from kamal_ansible.errors import CliError

from cli_helpers import kamal

DEPLOY_YML = {
    "service": "cliapp", "image": "cliapp", "servers": {"web": ["10.0.0.1", "10.0.0.2"], "workers": ["10.0.0.3"]},
    "registry": {"server": "registry.test:5000", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64", "args": {"RUBY": "3.3.0"}},
    "ssh": {"user": "deploy", "key_data": ["SSH_KEY"]},
    "accessories": {"db": {"image": "postgres:15", "host": "10.0.0.3", "port": "127.0.0.1:5432:5432"}},
}


@pytest.fixture
def app(project, tmp_path):
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(DEPLOY_YML, sort_keys=False))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=hunter2\nSSH_KEY=-----BEGIN KEY-----\n")
    return project


def test_config_prints_kamals_keys_and_never_a_secret_value(app):
    code, out = kamal("config", "--version", "v42")
    assert code == 0 and out.startswith("---\n:roles:\n- web\n- workers\n:hosts:\n- 10.0.0.1\n")
    assert ":absolute_image: registry.test:5000/cliapp:v42\n" in out and ":service_with_version: cliapp-v42\n" in out
    assert "  :key_data:\n  - \"[REDACTED]\"\n" in out
    assert "hunter2" not in out and "BEGIN KEY" not in out
    assert "    port: 127.0.0.1:5432:5432\n" in out and "  args:\n    RUBY: 3.3.0\n" in out
    assert app.calls() == [], "no ansible-inventory, no ansible-playbook"


def test_config_with_a_mistake_fails_like_kamal(app, tmp_path, capsys):
    (tmp_path / "config" / "deploy.yml").write_text("service: cliapp\nimage: cliapp\nservers: [1.1.1.1]\nbogus: 1\n")
    assert cli.main(["config", "--version", "v1"]) == 1
    assert "unknown key: bogus" in capsys.readouterr().err


def test_config_with_a_destination_merges_its_file(app, tmp_path):
    (tmp_path / "config" / "deploy.staging.yml").write_text("servers: {web: [10.0.0.9]}\n")
    _code, out = kamal("config", "-d", "staging", "--version", "v1")
    assert ":hosts:\n- 10.0.0.9\n- 10.0.0.3\n" in out


def test_init_writes_the_stubs_and_never_overwrites(project, tmp_path):
    os.remove(tmp_path / "config" / "deploy.yml")
    code, out = kamal("init")
    assert code == 0 and out.splitlines() == [
        "Created configuration file in config/deploy.yml", "Created .kamal/secrets file", "Created sample hooks in .kamal/hooks"]
    hooks = sorted(os.listdir(tmp_path / ".kamal" / "hooks"))
    assert hooks == sorted(h + ".sample" for h in ("pre-connect", "pre-build", "pre-deploy", "post-deploy", "pre-app-boot",
                                                   "post-app-boot", "pre-proxy-reboot", "post-proxy-reboot", "docker-setup"))
    assert all(os.stat(tmp_path / ".kamal" / "hooks" / h).st_mode & stat.S_IXUSR for h in hooks)
    assert stat.S_IMODE(os.stat(tmp_path / ".kamal" / "secrets").st_mode) == 0o600
    # The stub is a valid config for our config model (and for Kamal: tests/integration/test_cli.py)
    code, out = kamal("config", "--version", "v1")
    assert code == 0 and ":service_with_version: my-app-v1" in out

    (tmp_path / ".kamal" / "secrets").write_text("MINE=1\n")
    code, out = kamal("init")
    assert out == "Config file already exists in config/deploy.yml (remove first to create a new one)\n"
    assert (tmp_path / ".kamal" / "secrets").read_text() == "MINE=1\n"


def test_secrets_print_reads_the_secrets_files_as_a_deploy_does(app, tmp_path):
    (tmp_path / ".kamal" / "secrets-common").write_text("COMMON=c\n")
    code, out = kamal("secrets", "print")
    assert code == 0 and out == "COMMON=c\nKAMAL_REGISTRY_PASSWORD=hunter2\nSSH_KEY=-----BEGIN KEY-----\n"


def test_secrets_fetch_and_extract_round_trip(project):
    code, out = kamal("secrets", "fetch", "--adapter", "test", "--account", "me", "--from", "vault", "one", "two")
    assert code == 0 and json.loads(out) == {"vault/one": "eno/tluav", "vault/two": "owt/tluav"}
    code, value = kamal("secrets", "extract", "two", out.strip())
    assert code == 0 and value == "owt/tluav\n"
    with pytest.raises(CliError, match="Could not find secret three"):
        kamal("secrets", "extract", "three", out.strip())
    with pytest.raises(CliError, match="Unknown secrets adapter: nope"):
        kamal("secrets", "fetch", "-a", "nope", "x")


FAKE_DOCKER = """#!{python}
import json, os, sys
with open(os.path.join(os.path.dirname(__file__), "docker.jsonl"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
print("docker " + " ".join(sys.argv[1:]))
"""


@pytest.fixture
def docker(app, tmp_path):
    script = tmp_path / "bin" / "docker"
    script.write_text(FAKE_DOCKER.format(python=sys.executable))
    script.chmod(0o755)
    log = tmp_path / "bin" / "docker.jsonl"
    return lambda: [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_build_create_remove_and_details_manage_kamals_builder(docker):
    assert kamal("build", "create")[0] == 0
    assert kamal("build", "remove")[0] == 0
    code, out = kamal("build", "details")
    assert code == 0 and out.startswith("Builder: kamal-local-docker-container\n")
    assert docker() == [["buildx", "create", "--name", "kamal-local-docker-container", "--driver=docker-container"],
                        ["buildx", "rm", "kamal-local-docker-container"], ["context", "ls"], ["buildx", "ls"]]


def test_build_create_refuses_a_builder_we_cannot_run(docker, tmp_path):
    config = dict(DEPLOY_YML, builder={"arch": "amd64", "remote": "ssh://builder.test"})
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    with pytest.raises(CliError, match="builder.remote: remote builders are not supported"):
        kamal("build", "create")
    assert docker() == []
