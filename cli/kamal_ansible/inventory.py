"""What the kamal.deploy.kamal inventory plugin makes of deploy.yml, read through `ansible-inventory --list`.

The CLI needs it only for what ansible-playbook cannot do for it: aliases, interactive commands over
`ssh -t`, and a host filter combined with several roles."""
import fnmatch
import json
import subprocess

from kamal_ansible.errors import CliError
from kamal_ansible.tools import tool


def unwrap(value):
    """ansible-inventory marks config values unsafe as {"__ansible_unsafe": v}; the CLI wants the values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


class Inventory:
    """Groups, host variables and the resolved Kamal config (the `kamal` variable)."""

    def __init__(self, data):
        data = unwrap(data)
        meta = data.pop("_meta", {}) or {}
        self.hostvars = meta.get("hostvars", {}) or {}
        self._groups = data
        kamal = (data.get("all", {}).get("vars") or {}).get("kamal")
        if kamal is None:
            kamal = next((v["kamal"] for v in self.hostvars.values() if "kamal" in v), None)
        if kamal is None:
            raise CliError("the inventory has no `kamal` variable: is the kamal.deploy.kamal inventory plugin enabled "
                           "in ansible.cfg ([inventory] enable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml)?")
        self.kamal = kamal

    def group(self, name):
        """The hosts of a group, children included, in inventory order."""
        entry = self._groups.get(name) or {}
        hosts = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts += [h for h in self.group(child) if h not in hosts]
        return hosts

    @property
    def all_hosts(self):
        return list(self.kamal.get("all_hosts") or self.group("all"))

    @property
    def roles(self):
        """Roles with the primary role first (Kamal's order)."""
        roles = list(self.kamal.get("roles") or [])
        return sorted(roles, key=lambda role: not role.get("primary"))

    def role(self, name):
        return next((r for r in self.kamal.get("roles") or [] if r["name"] == name), None)

    def accessory(self, name):
        accessories = self.kamal.get("accessories") or []
        found = next((a for a in accessories if a["name"] == name), None)
        if found is None:
            names = [a["name"] for a in accessories]
            raise CliError("No accessory by the name of '%s'%s" % (name, " (options: %s)" % " and ".join(names) if names else ""))
        return found

    @property
    def aliases(self):
        return dict(self.kamal.get("aliases") or {})

    # Kamal's filters (-h, -r), section D.1 of the semantics ------------------------------------------------

    def match_hosts(self, patterns):
        hosts = [h for h in self.all_hosts if any(fnmatch.fnmatchcase(h, p) for p in patterns)]
        if not hosts:
            raise CliError("No --hosts match for %s" % ",".join(patterns))
        return hosts

    def match_roles(self, patterns):
        roles = [r for r in self.roles if any(fnmatch.fnmatchcase(r["name"], p) for p in patterns)]
        if not roles:
            raise CliError("No --roles match for %s" % ",".join(patterns))
        return roles

    def filtered_hosts(self, hosts=None, roles=None):
        """Kamal's KAMAL.hosts: the -h hosts (or all), intersected with the hosts of the -r roles."""
        selected = self.match_hosts(hosts) if hosts else self.all_hosts
        if roles:
            role_hosts = {h for r in self.match_roles(roles) for h in r["hosts"]}
            selected = [h for h in selected if h in role_hosts]
        return selected


def load(config_file, env):
    """Run ansible-inventory on the config (with the destination in env) and return an Inventory."""
    argv = [tool("ansible-inventory"), "-i", config_file, "--list"]
    try:
        res = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    except OSError as e:
        raise CliError("could not run ansible-inventory: %s" % e) from None
    if res.returncode != 0:
        raise CliError("ansible-inventory -i %s failed (exit %s):\n%s" % (config_file, res.returncode, res.stderr.strip()))
    try:
        return Inventory(json.loads(res.stdout))
    except ValueError as e:
        raise CliError("ansible-inventory -i %s printed no inventory (%s):\n%s" % (config_file, e, res.stderr.strip())) from None
