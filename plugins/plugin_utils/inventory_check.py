# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before a playbook touches anything: was the kamal inventory loaded, and does the --limit leave it any host?

Both mistakes otherwise end as Ansible's "skipping: no hosts matched" with exit 0: a green run that did nothing."""

from __future__ import annotations

import re

# Groups the kamal.deploy.kamal inventory plugin always makes (possibly empty): proof that it read the source.
MARKER_GROUPS = ("kamal_app_hosts", "kamal_accessory_hosts")
ENABLE_LINES = "[inventory]\nenable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml"
# A limit made only of names (no wildcard, regex, intersection, exclusion or @file) can be checked exactly.
PLAIN_LIMIT = re.compile(r"^[A-Za-z0-9_.\-]+(?:[,:][A-Za-z0-9_.\-]+)*$")


def not_loaded_message(config_file, sources=None):
    read = ("Ansible read its settings from %s, which does not enable the plugin" % config_file) if config_file \
        else "Ansible found no ansible.cfg"
    given = " from %s" % ", ".join(str(s) for s in sources) if sources else ""
    return (
        "kamal.deploy: the kamal.deploy.kamal inventory was not loaded%s (%s), so Ansible's own yaml or ini plugin read the "
        "inventory source and no role of your deploy.yml is a group: this run would deploy nothing. Fix it one of two ways: "
        "(1) put an ansible.cfg next to your project (or set ANSIBLE_CONFIG) with these lines:\n%s\n"
        "or (2) give -i a source file named <anything>.kamal.yml containing the line `plugin: kamal.deploy.kamal` "
        "(it works with Ansible's defaults and in AWX). kamal-ansible needs neither." % (given, read, ENABLE_LINES))


def _hosts(groups, names):
    hosts = []
    for name in names:
        members = groups[name] if name in groups else [name]
        hosts += [h for h in members if h not in hosts]
    return hosts


def _known_hosts(groups):
    return {host for members in groups.values() for host in members}


def limit_problem(pattern, groups, limit):
    """The --limit names nothing of this inventory, or none of the hosts this playbook runs on."""
    if not limit or not PLAIN_LIMIT.match(limit):
        return None
    names = re.split(r"[,:]", limit)
    known = _known_hosts(groups)
    unknown = [n for n in names if n not in groups and n not in known]
    kamal_groups = sorted(g for g in groups if g not in ("all", "ungrouped") + MARKER_GROUPS)
    if unknown:
        return ("kamal.deploy: -l %s: %s is not a role, an accessory group or a host of this deploy.yml, so the run would "
                "do nothing. Groups: %s; hosts: %s"
                % (limit, ", ".join(unknown), ", ".join(kamal_groups) or "none", ", ".join(sorted(known)) or "none"))
    targets = _hosts(groups, re.split(r"[,:]", pattern))
    chosen = _hosts(groups, names)
    if not any(host in chosen for host in targets):
        return ("kamal.deploy: -l %s leaves no host for this command, which runs on %s (%s): the run would do nothing"
                % (limit, pattern, ", ".join(targets) or "no host in this deploy.yml"))
    return None


def check_inventory(pattern, groups, limit=None, config_file=None, sources=None):
    """None when the play can act, else the one error to stop the run with."""
    if not all(group in groups for group in MARKER_GROUPS):
        return not_loaded_message(config_file, sources)
    return limit_problem(pattern, groups, limit)
