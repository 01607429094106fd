"""kamal-ansible's tests import it from the source tree (cli/), so they test what is being edited, and
run it in-process with a fake `ansible-inventory` and `ansible-playbook` first on PATH."""
import json
import os
import stat
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "cli"))


def unsafe(value):
    """How ansible-inventory --list prints values the inventory plugin marked unsafe."""
    return {"__ansible_unsafe": value}


def kamal_config(destination=None):
    suffix = "-" + destination if destination else ""
    logging = {"args": ["--log-opt", "max-size=\"10m\""], "driver": None, "options": {}}
    return {
        "service": unsafe("cliapp"), "destination": destination, "primary_host": "10.0.0.1",
        "primary_role": "web", "latest_tag": "latest" + suffix, "repository": "registry.test:5000/cliapp",
        "all_hosts": ["10.0.0.1", "10.0.0.2", "10.0.0.3"], "volume_args": ["--volume", "/data:/data"],
        "aliases": {
            "shell": unsafe('app exec --interactive --reuse "bash"'),
            "console": unsafe('app exec -i "bin/rails console"'),
            "worker-logs": unsafe("app logs -r workers -n 5"),
        },
        "roles": [
            {"name": "web", "primary": True, "hosts": ["10.0.0.1", "10.0.0.2"], "container_prefix": "cliapp-web" + suffix,
             "env_file": ".kamal/apps/cliapp%s/env/roles/web.env" % suffix, "logging": logging, "option_args": [],
             "env": {"10.0.0.1": {"clear": {"RAILS_ENV": "production"}}, "10.0.0.2": {"clear": {"RAILS_ENV": "production"}}}},
            {"name": "workers", "primary": False, "hosts": ["10.0.0.3"], "container_prefix": "cliapp-workers" + suffix,
             "env_file": ".kamal/apps/cliapp%s/env/roles/workers.env" % suffix, "logging": logging,
             "option_args": ["--memory", "\"512m\""], "env": {"10.0.0.3": {"clear": {}}}},
        ],
        "accessories": [
            {"name": "db", "hosts": ["10.0.0.3"], "service_name": "cliapp-db", "image": "postgres:15", "network": "kamal",
             "env_file": ".kamal/apps/cliapp/env/accessories/db.env", "env": {"clear": {"POSTGRES_USER": "app"}},
             "volume_args": ["--volume", "$PWD/cliapp-db/data:/var/lib/postgresql/data"], "option_args": []},
        ],
    }


def inventory_json(destination=None):
    hostvars = {}
    for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        hostvars[host] = {"ansible_user": unsafe("deploy"), "ansible_port": 2222,
                          "ansible_ssh_private_key_file": unsafe("/keys/id_ed25519"),
                          "ansible_ssh_common_args": unsafe("-F /keys/ssh_config -o ProxyJump=bastion.test")}
    return {
        "_meta": {"hostvars": hostvars},
        "all": {"children": ["ungrouped", "web", "workers", "accessory_db", "kamal_proxy", "kamal_primary", "kamal_app_hosts"],
                "vars": {"kamal": kamal_config(destination)}},
        "web": {"hosts": ["10.0.0.1", "10.0.0.2"]}, "workers": {"hosts": ["10.0.0.3"]},
        "accessory_db": {"hosts": ["10.0.0.3"]}, "kamal_proxy": {"hosts": ["10.0.0.1", "10.0.0.2"]},
        "kamal_primary": {"hosts": ["10.0.0.1"]}, "kamal_app_hosts": {"hosts": ["10.0.0.1", "10.0.0.2", "10.0.0.3"]},
    }


FAKE_TOOL = """#!{python}
import json, os, sys
with open(os.path.join(os.path.dirname(__file__), "calls.jsonl"), "a") as f:
    f.write(json.dumps({{"argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
                        "destination": os.environ.get("KAMAL_DESTINATION")}}) + "\\n")
if os.path.basename(sys.argv[0]) == "ansible-inventory":
    with open(os.path.join(os.path.dirname(__file__), "inventory-%s.json" % (os.environ.get("KAMAL_DESTINATION") or "base"))) as f:
        sys.stdout.write(f.read())
if os.path.basename(sys.argv[0]) == "ansible-playbook":
    print("PLAY [the fake ansible-playbook's own output]")
    sys.stderr.write(os.environ.get("FAKE_STDERR", ""))
    for value in sys.argv[1:]:
        if value.startswith("{{") and "raw_output" in json.loads(value) and os.environ.get("FAKE_EXIT", "0") == "0":
            with open(json.loads(value)["raw_output"], "wb") as out:  # what the app_exec playbook does with raw_output
                out.write(bytes(range(256)))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


class Tools:
    """The fake ansible-inventory / ansible-playbook / ssh: what they were called with."""

    def __init__(self, path):
        self.path = path

    def calls(self, name=None):
        log = os.path.join(self.path, "calls.jsonl")
        if not os.path.exists(log):
            return []
        with open(log, encoding="utf-8") as f:
            calls = [json.loads(line) for line in f]
        return [c for c in calls if name is None or c["argv"][0] == name]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory (cwd) with config/deploy.yml, and fake Ansible tools first on PATH."""
    (tmp_path / "config").mkdir()
    # The aliases are read from deploy.yml itself, as Kamal reads them (the rest comes from the fake inventory).
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: cliapp\naliases:\n  shell: app exec --interactive --reuse \"bash\"\n  console: app exec -i \"bin/rails console\"\n"
        "  worker-logs: app logs -r workers -n 5\n")
    (tmp_path / "config" / "deploy.staging.yml").write_text("servers: [10.0.0.2]\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("ansible-inventory", "ansible-playbook", "ssh"):
        script = bin_dir / name
        script.write_text(FAKE_TOOL.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (bin_dir / "inventory-base.json").write_text(json.dumps(inventory_json()))
    (bin_dir / "inventory-staging.json").write_text(json.dumps(inventory_json("staging")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "%s%s%s" % (bin_dir, os.pathsep, os.environ.get("PATH", "")))
    monkeypatch.delenv("KAMAL_DESTINATION", raising=False)
    monkeypatch.delenv("KAMAL_ANSIBLE_DRY_RUN", raising=False)
    return Tools(str(bin_dir))
