"""Finding ansible-playbook and ansible-inventory, and the installed collection's version."""
import configparser
import json
import os
import shutil
import sys


def tool(name):
    """PATH first (a test or a user can put their own first); else next to this Python (the virtualenv's bin,
    when kamal-ansible is run by its full path without activating the virtualenv)."""
    found = shutil.which(name)
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else name


def _ansible_cfg_collections_paths(env):
    """collections_path from the ansible.cfg that Ansible would read (ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg)."""
    candidates = [env.get("ANSIBLE_CONFIG"), "ansible.cfg", os.path.expanduser("~/.ansible.cfg"), "/etc/ansible/ansible.cfg"]
    for path in candidates:
        if path and os.path.isfile(path):
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read(path, encoding="utf-8")
            except (configparser.Error, OSError):
                return []
            value = parser.get("defaults", "collections_path", fallback=None) or parser.get("defaults", "collections_paths", fallback=None)
            if not value:
                return []
            base = os.path.dirname(os.path.abspath(path))
            return [os.path.join(base, os.path.expanduser(p.strip())) for p in value.split(":") if p.strip()]
    return []


def collection_search_paths(env=None):
    env = os.environ if env is None else env
    paths = []
    for var in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        paths += [p for p in env.get(var, "").split(":") if p]
    paths += _ansible_cfg_collections_paths(env)
    paths += [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"]
    paths += [p for p in sys.path if p]
    return paths


def collection_version(env=None):
    """(version, where) of the kamal.deploy collection Ansible would use, from MANIFEST.json (an installed
    collection) or galaxy.yml (a source checkout on the collections path)."""
    for base in collection_search_paths(env):
        root = os.path.join(os.path.expanduser(base), "ansible_collections", "kamal", "deploy")
        manifest = os.path.join(root, "MANIFEST.json")
        if os.path.isfile(manifest):
            with open(manifest, encoding="utf-8") as f:
                return json.load(f)["collection_info"]["version"], root
        galaxy = os.path.join(root, "galaxy.yml")
        if os.path.isfile(galaxy):
            return _galaxy_version(galaxy), root
    return None, None


def _galaxy_version(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    return None
