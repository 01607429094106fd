"""The commands kamal-ansible runs on the controller itself: config, init, secrets and build create|remove|details."""
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

from kamal_ansible import cli, collection, local
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


# build dev ---------------------------------------------------------------------------------------------------

def test_build_dev_builds_the_working_tree_tagged_dirty_into_the_local_engine(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    code, out = kamal("build", "dev", "--version", "v42", "--no-cache")
    assert code == 0 and out.endswith("Built registry.test:5000/cliapp:v42-dirty and registry.test:5000/cliapp:latest-dirty (not pushed)\n")
    build = [c for c in docker() if c[:2] == ["buildx", "build"]]
    assert build == [["buildx", "build", "--load", "--platform", "linux/amd64", "-t", "registry.test:5000/cliapp:v42-dirty",
                      "-t", "registry.test:5000/cliapp:latest-dirty", "--label", "service=cliapp", "--build-arg", "RUBY=3.3.0",
                      "--file", "Dockerfile", "--no-cache", "."]]
    assert not [c for c in docker() if c[0] in ("push", "login")]


def test_build_dev_with_output_registry_pushes_and_other_outputs_are_refused(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    code, out = kamal("build", "dev", "--version", "v42", "--output", "registry")
    assert code == 0 and out.endswith(", pushed\n")
    assert [c for c in docker() if c[0] in ("login", "push")] == [
        ["login", "registry.test:5000", "-u", "u", "--password-stdin"], ["push", "registry.test:5000/cliapp:v42-dirty"],
        ["push", "registry.test:5000/cliapp:latest-dirty"]]
    with pytest.raises(CliError, match="build dev --output=tar: .* docker .* or registry"):
        kamal("build", "dev", "--version", "v42", "--output", "tar")


def test_build_dev_warns_of_the_uncommitted_and_untracked_files_it_takes(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "Dockerfile"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nLABEL x=1\n")
    (tmp_path / "notes.txt").write_text("new\n")
    code, out = kamal("build", "dev", "--version", "v42")
    assert code == 0
    assert "WARNING: Files with uncommitted changes will be present in the dev image (unless .dockerignore leaves them out):\n" \
           "  Dockerfile\n" in out
    assert "WARNING: Untracked files will be present in the dev image (unless .dockerignore leaves them out):\n" in out
    assert "  notes.txt\n" in out and "  .kamal/secrets\n" in out


# registry setup | remove with a local registry ----------------------------------------------------------------

FAKE_DOCKER_REGISTRY = """#!{python}
import json, os, sys
with open(os.path.join(os.path.dirname(__file__), "docker.jsonl"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
state = os.path.join(os.path.dirname(__file__), "registry-exists")
if sys.argv[1] == "inspect":
    if not os.path.exists(state):
        sys.exit(1)
    print("true " + json.dumps({{"5000/tcp": [{{"HostIp": "127.0.0.1", "HostPort": "5555"}}]}}) if "Running" in sys.argv[3] else "sha256:1")
elif sys.argv[1] == "run":
    open(state, "w").close()
elif sys.argv[1] == "rm":
    os.remove(state)
"""


@pytest.fixture
def local_registry(app, tmp_path, monkeypatch):
    config = dict(DEPLOY_YML, registry={"server": "localhost:5555"})
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    script = tmp_path / "bin" / "docker"
    script.write_text(FAKE_DOCKER_REGISTRY.format(python=sys.executable))
    script.chmod(0o755)
    build = collection.module("build")
    monkeypatch.setattr(build.Build, "_registry_answers", staticmethod(lambda port: True))
    log = tmp_path / "bin" / "docker.jsonl"
    return lambda: [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_registry_setup_and_remove_run_a_local_registry_on_the_controller(local_registry, app):
    assert kamal("registry", "setup") == (0, "Started the local registry kamal-docker-registry on 127.0.0.1:5555\n")
    assert kamal("registry", "setup") == (0, "Already running: the local registry kamal-docker-registry on 127.0.0.1:5555\n")
    assert ["run", "--detach", "-p", "127.0.0.1:5555:5000", "--name", "kamal-docker-registry", "registry:3"] in local_registry()
    assert kamal("registry", "remove") == (0, "Removed the local registry kamal-docker-registry (its images went with it)\n")
    assert local_registry()[-2:] == [["stop", "kamal-docker-registry"], ["rm", "kamal-docker-registry"]]
    assert kamal("registry", "remove") == (0, "No local registry kamal-docker-registry to remove\n")
    calls = len(local_registry())
    assert kamal("registry", "setup", "-L") == (0, "") and kamal("registry", "remove", "--skip-local") == (0, "")
    assert len(local_registry()) == calls, "-L: a local registry has nothing else to set up"
    assert app.calls() == [], "no ansible-playbook: the servers reach a local registry through a deploy's SSH forward"


def test_registry_login_with_a_local_registry_is_refused_by_its_playbook_not_here(local_registry):
    # login|logout go to their playbooks, which refuse a local registry with Kamal's reason
    _code, out = kamal("--dry-run", "registry", "login")
    assert "kamal.deploy.registry_login" in out


# docs, upgrade, init --bundle --------------------------------------------------------------------------------

def test_docs_prints_our_configuration_notes_and_points_at_kamals_reference(project):
    code, out = kamal("docs")
    assert code == 0 and out.startswith("deploy.yml's keys are Kamal's: Kamal's reference for each is https://kamal-deploy.org/docs/configuration\n")
    assert "\n# Your deploy.yml and .kamal/secrets with kamal.deploy\n" in out
    code, out = kamal("docs", "registry")
    assert code == 0 and out.startswith("## Registries and image delivery\n") and "## Secrets" not in out
    assert out.rstrip().endswith("Kamal's reference: https://kamal-deploy.org/docs/configuration)")
    code, out = kamal("docs", "x-kamal-deploy")
    assert out.startswith("## kamal.deploy's own settings: `x-kamal-deploy:`\n") and "### Proxy settings Kamal has no key for" in out
    code, out = kamal("docs", "ssh")  # no heading of its own: the paragraphs that name ssh keys, under their heading
    assert out.startswith("## Using it as an inventory\n\nSo `-l web_new`") and "`ssh.keys`" in out
    assert kamal("docs", "builder")[1].startswith("kamal.deploy's notes (")
    assert kamal("docs", "nope") == (0, "No documentation found for nope\n")  # Kamal's words and exit status
    assert project.calls() == []


def test_docs_headings_inside_code_blocks_are_not_sections():
    text = "# Top\n\n## A\n\n```yaml\n# a comment\n```\n\n## B\n\ntext\n"
    assert [(level, title) for level, title, _lines in local.markdown_sections(text)] == [(1, "Top"), (2, "A"), (2, "B")]
    assert local.markdown_sections(text)[1][2] == ["## A", "", "```yaml", "# a comment", "```", ""]


def test_docs_without_the_collections_docs_says_where_they_are(project, tmp_path, monkeypatch):
    root = tmp_path / "collections" / "ansible_collections" / "kamal" / "deploy"
    root.mkdir(parents=True)
    (root / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": "9.8.7"}}))
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(tmp_path / "collections"))
    code, out = kamal("docs")
    assert code == 0 and "https://github.com/kamal-deploy/kamal.deploy/tree/main/docs" in out
    assert "https://kamal-deploy.org/docs/configuration" in out


@pytest.mark.parametrize("args", [["upgrade"], ["upgrade", "--rolling", "-y"], ["accessory", "upgrade", "--rolling"]], ids=" ".join)
def test_upgrade_says_there_is_nothing_to_upgrade_and_changes_nothing(project, args):
    code, out = kamal(*args)
    assert code == 0 and "there is nothing to upgrade: nothing was changed." in out
    assert project.calls() == []


def test_init_bundle_says_there_is_no_gemfile_to_add_to(project, tmp_path):
    os.remove(tmp_path / "config" / "deploy.yml")
    code, out = kamal("init", "--bundle")
    assert code == 0 and out.splitlines()[0] == "Created configuration file in config/deploy.yml"
    assert out.splitlines()[-1].startswith("--bundle: nothing to add: Kamal's --bundle puts Kamal in a Ruby app's Gemfile")
    assert not (tmp_path / "Gemfile").exists() and not (tmp_path / "bin" / "kamal").exists()
