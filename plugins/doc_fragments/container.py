# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options documented once for every module that has them: ``logs`` (kamal_app, kamal_accessory, kamal_proxy;
spec in ``module_utils/_logs.py``), ``registry`` (kamal_app, kamal_accessory; spec in ``module_utils/_registry.py``), ``performer`` and
``audit`` (kamal_app, kamal_accessory, kamal_proxy; spec in ``module_utils/_audit.py``). The attributes of the
controller-only modules are ``controller_action.py``.

A module may give an option its own C(description); the fragment's keys fill in the rest.
"""

from __future__ import annotations


class ModuleDocFragment:
    # extends_documentation_fragment: kamal.deploy.container.logs
    LOGS = r"""
options:
  lines:
    description: With O(command=logs), the number of last lines (100 unless O(since) or O(grep) is set, as Kamal).
    type: int
  since:
    description:
      - With O(command=logs), only the lines since this time.
      - A duration (C(30s), C(30m), C(1h30m), C(2d)), an ISO 8601 time (C(2026-12-04T10:00:00Z), with an offset,
        or a date C(2026-12-04)) or a Unix timestamp.
    type: str
  grep:
    description: With O(command=logs), keep the lines matching this regular expression.
    type: str
  timestamps:
    description: With O(command=logs), prefix lines with timestamps.
    type: bool
    default: true
"""

    # extends_documentation_fragment: kamal.deploy.container.registry
    REGISTRY = r"""
options:
  registry:
    description: The registry to log in to on the server (C(docker login)) before a pull, when it has a username.
    type: dict
    suboptions:
      server:
        description: The registry host; Docker Hub when unset.
        type: str
      username:
        description: The login user.
        type: str
      password:
        description: The login password (a secret value).
        type: str
"""

    # extends_documentation_fragment: kamal.deploy.container.progress
    PROGRESS = r"""
options:
  progress_file:
    description:
      - A file (relative to the SSH user's home) where a long pull or health wait writes how far it got, at most
        twice a second, removed when the call ends. The action plugin names one and shows it while the call runs
        for more than two seconds (C(-e kamal_progress=false) turns that off).
    type: str
"""

    # extends_documentation_fragment: kamal.deploy.container.audit
    AUDIT = r"""
options:
  performer:
    description: Who runs the command, as written in the audit log (Kamal uses C(git config user.email)).
    type: str
  audit:
    description:
      - Append Kamal's audit lines for what the command changed to C(~/.kamal/<service>[-<destination>]-audit.log)
        (app C(Booted app version V), accessory C(Booted db accessory), proxy C(Rebooted proxy) ...). Secret values
        are masked in them.
    type: bool
    default: true
"""
