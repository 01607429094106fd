"""A Kamal project directory set up to deploy to the lab with this collection, as a user would have it:
config/deploy.yml, .kamal/secrets and an ansible.cfg that enables the kamal inventory plugin.
Used by the integration tests and the benchmarks."""
import os
import textwrap

import yaml

ANSIBLE_CFG = """\
[defaults]
collections_path = {collections_path}
interpreter_python = /usr/bin/python3
forks = 20
[inventory]
unparsed_is_failed = True
enable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
"""


def write_lab_project(root, config, collections_path, secrets="KAMAL_REGISTRY_PASSWORD=none\n", proxy_image=None):
    """Write the project's files under ``root``; ``proxy_image``: the lab's prebuilt proxy (group_vars)."""
    root = str(root)
    os.makedirs(os.path.join(root, "config"), exist_ok=True)
    os.makedirs(os.path.join(root, ".kamal"), exist_ok=True)
    with open(os.path.join(root, "config", "deploy.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    with open(os.path.join(root, ".kamal", "secrets"), "w", encoding="utf-8") as f:
        f.write(secrets)
    with open(os.path.join(root, "ansible.cfg"), "w", encoding="utf-8") as f:
        f.write(ANSIBLE_CFG.format(collections_path=collections_path))
    if proxy_image:
        os.makedirs(os.path.join(root, "config", "group_vars"), exist_ok=True)
        with open(os.path.join(root, "config", "group_vars", "all.yml"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(f"""\
                ---
                kamal_proxy_image: {proxy_image}
                """))
