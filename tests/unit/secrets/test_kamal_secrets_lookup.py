"""The `kamal.deploy.kamal_secrets` lookup, loaded by Ansible's plugin loader and run by ansible-playbook.

Each test runs Ansible in a child process so that installing Ansible's collection finder does not change
how the other tests import the collection."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

COLLECTIONS_PATH = os.environ["ANSIBLE_COLLECTIONS_PATH"]
BIN = os.path.dirname(sys.executable)

_THROUGH_LOADER = textwrap.dedent(r"""
    import json, sys
    from ansible.plugins.loader import init_plugin_loader, lookup_loader
    from ansible.parsing.dataloader import DataLoader
    from ansible.errors import AnsibleLookupError
    init_plugin_loader([sys.argv[1]])
    lookup = lookup_loader.get("kamal.deploy.kamal_secrets", loader=DataLoader(), templar=None)
    out = {"module": type(lookup).__module__}
    for name, terms, options in json.loads(sys.argv[2]):
        try:
            out[name] = lookup.run(terms, variables={}, **options)
        except AnsibleLookupError as exc:
            out[name] = {"error": str(exc)}
    print(json.dumps(out))
""")


def through_loader(cases, cwd):
    proc = subprocess.run([sys.executable, "-c", _THROUGH_LOADER, COLLECTIONS_PATH, json.dumps(cases)],
                          cwd=cwd, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(proc.stdout)


@pytest.fixture
def kamal_project(tmp_path):
    root = tmp_path / "app"
    (root / ".kamal").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "config" / "deploy.yml").write_text("service: app\nimage: app/app\n")
    (root / ".kamal" / "secrets-common").write_text("SHARED=common\n")
    (root / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=reg-pw\nTEMPLATE='{{ 7 * 6 }}'\nCMD=$(echo from-cmd)\n")
    (root / ".kamal" / "secrets.staging").write_text("REGISTRY_PASSWORD=staging-pw\n")
    return root


def test_lookup_through_the_plugin_loader(kamal_project):
    out = through_loader([
        ["one", ["REGISTRY_PASSWORD"], {}],
        ["several", ["SHARED", "CMD"], {}],
        ["all", [], {}],
        ["staging", ["REGISTRY_PASSWORD"], {"destination": "staging"}],
        ["missing", ["NOPE", "ALSO_NOPE"], {}],
        ["missing_dest", ["CMD"], {"destination": "staging"}],
    ], cwd=str(kamal_project))
    assert out["module"] == "ansible_collections.kamal.deploy.plugins.lookup.kamal_secrets"
    assert out["one"] == ["reg-pw"]
    assert out["several"] == ["common", "from-cmd"]
    assert out["all"] == [{"SHARED": "common", "REGISTRY_PASSWORD": "reg-pw", "TEMPLATE": "{{ 7 * 6 }}", "CMD": "from-cmd"}]
    assert out["staging"] == ["staging-pw"]
    assert out["missing"] == {"error": "kamal_secrets: Secrets 'NOPE', 'ALSO_NOPE' not found in .kamal/secrets-common, .kamal/secrets"}
    assert out["missing_dest"] == {"error": "kamal_secrets: Secret 'CMD' not found in .kamal/secrets-common, .kamal/secrets.staging"}


def test_lookup_project_dir_and_secrets_path_options(kamal_project, tmp_path):
    (kamal_project / "config" / "creds").write_text("X=custom\n")
    out = through_loader([
        ["explicit", ["REGISTRY_PASSWORD"], {"project_dir": str(kamal_project)}],
        ["custom_path", ["X"], {"project_dir": str(kamal_project), "secrets_path": "config/creds"}],
        ["elsewhere", ["REGISTRY_PASSWORD"], {}],
    ], cwd=str(tmp_path))
    assert out["explicit"] == ["reg-pw"]
    assert out["custom_path"] == ["custom"]
    assert out["elsewhere"] == {"error": "kamal_secrets: Secret 'REGISTRY_PASSWORD' not found, no secret files "
                                         "(.kamal/secrets-common, .kamal/secrets) provided"}


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read secrets
      ansible.builtin.set_fact:
        one: "{{ lookup('kamal.deploy.kamal_secrets', 'REGISTRY_PASSWORD') }}"
        listed: "{{ query('kamal.deploy.kamal_secrets', 'SHARED', 'TEMPLATE') }}"
        everything: "{{ lookup('kamal.deploy.kamal_secrets') }}"
        vaulted: "{{ lookup('kamal.deploy.kamal_secrets', 'VAULTED', destination='production') }}"
      no_log: true
    - name: Write them where the test can see them
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'one': one, 'listed': listed, 'everything': everything, 'vaulted': vaulted} | to_json }}"
        mode: "0600"
      no_log: true
"""


def test_lookup_in_a_playbook_with_vault_and_no_templating(kamal_project, tmp_path):
    secret = VaultSecret(b"vault-pw")
    (kamal_project / ".kamal" / "secrets.production").write_bytes(
        VaultLib([("default", secret)]).encrypt("VAULTED='vaulted {{ value }}'\n"))
    (tmp_path / "vault-pass").write_text("vault-pw\n")
    (kamal_project / "deploy-secrets.yml").write_text(PLAYBOOK)
    out = tmp_path / "out.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local", "--vault-password-file", str(tmp_path / "vault-pass"),
         "-e", "out=%s" % out, "-e", "ansible_python_interpreter=%s" % sys.executable, "deploy-secrets.yml"],
        cwd=str(kamal_project), env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    values = json.loads(out.read_text())
    assert values["one"] == "reg-pw"
    assert values["listed"] == ["common", "{{ 7 * 6 }}"]
    assert values["everything"]["TEMPLATE"] == "{{ 7 * 6 }}"
    assert values["vaulted"] == "vaulted {{ value }}"
    for leaked in ("reg-pw", "staging-pw", "vaulted {{", "from-cmd"):
        assert leaked not in proc.stdout + proc.stderr
