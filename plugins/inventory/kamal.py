# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kamal
short_description: A Kamal 2 config/deploy.yml as an Ansible inventory
version_added: 0.1.0
description:
  - Reads a Kamal 2 C(config/deploy.yml) (and C(config/deploy.<destination>.yml)) exactly as Kamal does, validates it,
    and makes one group per role (C(web), C(workers), ...), one group per accessory (C(accessory_<name>), so it can
    never clash with a role), C(kamal_proxy) (the hosts that run the proxy), C(kamal_primary) (the primary host),
    C(kamal_app_hosts) (every host that runs a role) and C(kamal_accessory_hosts) (every host that runs an accessory).
  - Every host gets its SSH settings from the config (C(ansible_user), C(ansible_port), key files, the jump host of
    C(ssh.proxy) as ProxyJump), its tags as C(kamal_tags) and its roles as C(kamal_roles). The group C(all) gets the
    whole resolved config as the variable C(kamal).
  - "Two ways to use it. A source file whose name ends in C(.kamal.yml) or C(.kamal.yaml) containing C(plugin: kamal.deploy.kamal)
    works with Ansible's default settings (and so in AWX/Tower, sourced from a project). Or point C(-i) at
    C(config/deploy.yml) or C(config/deploy.<destination>.yml) directly, after enabling the plugin before C(yaml) in
    C(ansible.cfg): C([inventory] enable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml)."
  - Every C(deploy.yml) and C(deploy.<destination>.yml) in a C(config/) folder, and every C(*.kamal.yml), is this plugin's
    whatever it holds (a C(deploy.yml) elsewhere when it has a top-level Kamal key). A config with a mistake stops the
    run with one error naming the file, the key and the fix, and exit status 1, before any play. Ansible's other
    inventory plugins never see the file, so it cannot become an inventory of nonsense groups that matches no host.
  - Values from the config are never templated, so a C({{) in a label or env value stays text.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin; it makes a C(*.kamal.yml) source file this plugin's.
    type: str
    required: false
    choices: [kamal.deploy.kamal, kamal]
  config_file:
    description:
      - The Kamal config file, relative to the source file's directory (not the working directory).
      - When the inventory source is a deploy.yml itself, that file.
    type: str
    default: config/deploy.yml
  destination:
    description:
      - The Kamal destination (C(-d) in Kamal); C(config/deploy.<destination>.yml) is merged over the base.
      - When the inventory source is C(deploy.<destination>.yml), taken from its name.
    type: str
    env:
      - name: KAMAL_DESTINATION
  version:
    description:
      - The app version; by default C(VERSION) from the environment, else the git commit of the app (with
        C(_uncommitted_<hex>) when the tree is dirty), as Kamal does. Playbooks also take C(-e version=...).
    type: str
"""

EXAMPLES = r"""
# inventory.kamal.yml - works with Ansible's default settings and in AWX
plugin: kamal.deploy.kamal
config_file: config/deploy.yml
destination: staging

# Or use config/deploy.yml directly, with this in ansible.cfg:
#   [inventory]
#   enable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml
# ansible-playbook -i config/deploy.yml kamal.deploy.deploy -l web

# Extra groups from the config, as with any constructed inventory
plugin: kamal.deploy.kamal
keyed_groups:
  - key: kamal_tags
    prefix: tag
"""

import os
import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.display import Display

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import DEPLOY_FILE, KamalConfigError, load_config, source_config

SOURCE_SUFFIXES = (".kamal.yml", ".kamal.yaml")
GIT_VERSION_ERROR = "Can't use commit hash as version"

display = Display()
# config file -> the destinations loaded from it in this process (see _refuse_second_destination).
LOADED = {}
# What makes a deploy.yml outside a config/ folder ours: a top-level Kamal key, quoted or not.
KAMAL_KEY = re.compile(r"""^["']?(service|servers|accessories|image)["']?\s*:""", re.M)


def claims(path):
    """Every *.kamal.yml, and every deploy.yml / deploy.<destination>.yml in a config/ folder, whatever is in it: a broken
    file is ours to reject, never the yaml plugin's to accept. A deploy.yml elsewhere is ours when it looks like a
    Kamal config, so other YAML inventories named deploy.yml still reach the yaml plugin."""
    name = os.path.basename(path)
    if name.endswith(SOURCE_SUFFIXES):
        return True
    if not DEPLOY_FILE.match(name):
        return False
    if os.path.basename(os.path.dirname(os.path.abspath(path))) == "config":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", "replace")
    except OSError:
        return False
    return KAMAL_KEY.search(head) is not None


def stop(path, error):
    """End the run with this one error, before any other inventory plugin reads the file and before any play.

    Ansible catches every Exception an inventory plugin raises and goes on with its next plugin, so SystemExit is the
    only way a claimed source can fail the run; ansible-playbook, ansible-inventory (AWX's inventory sync) and
    ansible-runner all exit non-zero with it.
    """
    message = str(error)
    if not isinstance(error, KamalConfigError):
        message = "kamal.deploy.kamal inventory %s: %s" % (path, message)
    display.error(message)
    raise SystemExit(1)


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "kamal.deploy.kamal"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        return claims(path)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        # A source this plugin claimed is never handed on: when parsing fails, Ansible would try its yaml and ini
        # plugins next, which "parse" a deploy.yml into nonsense groups, so the run would match no host and exit 0.
        try:
            self._parse(path)
        except (AnsibleError, OSError) as e:
            stop(path, e)

    def _parse(self, path):
        name = os.path.basename(path)
        if name.endswith(SOURCE_SUFFIXES):
            self._read_config_data(path)
            config_file = self.get_option("config_file")
            if not os.path.isabs(config_file):
                config_file = os.path.join(os.path.dirname(os.path.abspath(path)), config_file)
            destination = self.get_option("destination")
            version = self.get_option("version")
        else:
            self.set_options()
            # -i config/deploy.staging.yml is `kamal -d staging`: that destination over the base deploy.yml.
            config_file, destination = source_config(os.path.abspath(path), os.environ.get("KAMAL_DESTINATION"))
            version = None
            if not os.path.exists(config_file):
                raise AnsibleParserError("a destination file needs its base config %s, which does not exist" % config_file)
            self._refuse_second_destination(path, config_file, destination)
        version_error = None
        try:
            try:
                config = load_config(config_file, destination=destination or None, version=version or None)
            except KamalConfigError as e:
                if not getattr(e, "kamal_message", str(e)).startswith(GIT_VERSION_ERROR):
                    raise
                # Not a git repository: the inventory still loads; a playbook fails on it only when no
                # version is given (-e version=...), with this reason.
                version_error = str(e)
                config = load_config(config_file, destination=destination or None, resolve_version=False)
        except KamalConfigError as e:
            if e.file is None:  # every message names the file it is about
                raise KamalConfigError(e.kamal_message, file=config_file, line=e.line, hint=e.hint, key_path=e.key_path) from None
            raise
        self._populate(config, path, version_error)

    def _refuse_second_destination(self, path, config_file, destination):
        """`-i config/` makes Ansible read deploy.yml and every deploy.<destination>.yml as separate sources, which
        would merge production and staging hosts into one inventory."""
        LOADED.setdefault(config_file, set()).add(destination)
        if len(LOADED[config_file]) > 1:
            names = sorted("deploy.%s.yml" % d if d else "deploy.yml" for d in LOADED[config_file])
            raise AnsibleParserError(
                "%s holds more than one destination (%s) and all of them were given as inventory sources, which would mix "
                "their hosts: give one file, -i config/deploy.yml (no destination) or -i config/deploy.<destination>.yml"
                % (os.path.dirname(config_file), ", ".join(names)))

    def _populate(self, config, path, version_error=None):
        inventory = self.inventory
        groups = config.inventory_groups()
        # Playbooks target these: every host that runs a role / an accessory (Kamal's app_hosts, accessory_hosts).
        groups["kamal_app_hosts"] = list(config.app_hosts)
        groups["kamal_accessory_hosts"] = list(config.accessory_hosts)
        for group in groups:
            inventory.add_group(group)
        roles_of = {}
        for role in config.roles:
            for host in role.hosts:
                roles_of.setdefault(host, []).append(role.name)
        for group, hosts in groups.items():
            for host in hosts:
                inventory.add_host(host, group=group)
        everything = config.to_dict()
        everything["secret_names"] = config.secret_names()
        everything["version_error"] = version_error
        inventory.set_variable("all", "kamal", everything)
        strict = self.get_option("strict") if self.has_option("strict") else False
        for host in config.all_hosts:
            inventory.add_host(host)
            hostvars = dict(config.host_vars(host), kamal_roles=roles_of.get(host, []))
            for key, value in hostvars.items():
                inventory.set_variable(host, key, value)
            # compose/groups/keyed_groups see the host's vars and the whole config.
            variables = dict(hostvars, kamal=everything)
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
