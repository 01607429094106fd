"""execution-environment.yml: `ansible-builder create` makes a build context that holds the collection,
the controller's Python dependencies at the versions the tests run with, and the system tools.

No image is built (nothing can be pulled here); the galaxy stage's install is replayed with the
context's own requirements.yml, which is the part that could silently install nothing.
"""
import ast
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
EE_FILE = os.path.join(REPO, "execution-environment.yml")
INSTALLED = os.path.join(REPO, "build", "collections", "ansible_collections", "kamal", "deploy")
# Code that runs on the controller (modules run on the servers and bring nothing into the EE).
CONTROLLER_CODE = ["plugins/plugin_utils", "plugins/action", "plugins/lookup", "plugins/inventory"]
# Import name -> the requirement that provides it.
PROVIDERS = {"ansible": "ansible-core", "yaml": "PyYAML", "ansible_collections": None}


def pins():
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as f:
        return dict(line.strip().split("==", 1) for line in f if "==" in line and not line.startswith("#"))


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    if not os.path.isfile(os.path.join(INSTALLED, "MANIFEST.json")):
        pytest.fail(f"{INSTALLED} is missing: run `make collection` first")
    ctx = tmp_path_factory.mktemp("ee") / "context"
    res = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", EE_FILE, "-c", str(ctx),
                          "--output-filename", "Containerfile"], cwd=REPO, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return ctx


def controller_imports():
    names = set()
    for top in CONTROLLER_CODE:
        for dirpath, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        tree = ast.parse(f.read())
                    for node in ast.walk(tree):
                        if isinstance(node, ast.Import):
                            names.update(a.name.split(".")[0] for a in node.names)
                        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def test_the_containerfile_installs_ansible_core_and_runner_at_the_pinned_versions(context):
    containerfile = (context / "Containerfile").read_text()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    assert f"ansible-core=={pins()['ansible-core']}" in refs
    assert f"ansible-runner=={pins()['ansible-runner']}" in refs
    # ansible-core 2.19 refuses Python < 3.11
    pycmd = re.search(r'^ARG PYCMD="([^"]*)"', containerfile, re.M).group(1)
    assert re.search(r"python3\.(1[1-9])$", pycmd), pycmd
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "docker-ce.repo" in containerfile  # the repository docker-ce-cli comes from


def test_every_controller_import_has_its_python_requirement_in_the_ee(context):
    user_pip = (context / "_build" / "requirements.txt").read_text().split()
    imported = controller_imports()
    unknown = imported - set(PROVIDERS)
    assert not unknown, f"controller code imports {unknown}: add them to execution-environment.yml and PROVIDERS"
    assert f"PyYAML=={pins()['PyYAML']}" in user_pip
    # The docker SDK runs on the servers only: the EE does not carry it.
    assert not [r for r in user_pip if r.lower().startswith("docker")]


def test_the_system_tools_the_controller_runs_are_in_bindep(context):
    bindep = [line.split()[0] for line in (context / "_build" / "bindep.txt").read_text().splitlines() if line.strip()]
    # ssh (connections), git (version, clean clone), ps and hostname (the lock's owner and watchdog), docker (builds)
    for package in ("openssh-clients", "git-core", "procps-ng", "hostname", "docker-ce-cli", "docker-buildx-plugin"):
        assert package in bindep, bindep


def test_the_context_holds_this_collection_and_its_requirement_installs_it(context, tmp_path):
    build = context / "_build"
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    (entry,) = requirements["collections"]
    assert entry["type"] == "dir"
    manifest = json.loads((build / entry["name"] / "MANIFEST.json").read_text())["collection_info"]
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as f:
        version = yaml.safe_load(f)["version"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == ("kamal", "deploy", version)
    # The galaxy stage's command, from the context's /build (offline: a dir requirement needs no server),
    # in an empty collections path as the image's is (else "already installed" from the tests' path).
    env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1", ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    res = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
                          "--collections-path", str(tmp_path)], cwd=build, env=env, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    installed = tmp_path / "ansible_collections" / "kamal" / "deploy"
    assert (installed / "playbooks" / "deploy.yml").is_file()
    assert (installed / "plugins" / "inventory" / "kamal.py").is_file()
    # The collection's dev requirements.txt (pytest, kamal...) must not reach the EE through introspection.
    assert not (installed / "requirements.txt").exists()
