# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``rollback`` without a version: the version to go back to, from what every targeted host and role has (the
``versions`` of kamal_app, newest container first). Pure."""

from __future__ import annotations


class RollbackError(Exception):
    """No version can be rolled back to: the message lists what each host has."""


def choose_version(present):
    """The newest version present as a container on every host and role of ``present`` (host -> the kamal_app
    ``versions`` results of its roles, each with ``versions`` newest first and ``current``), other than a version
    running now. Kamal's rollback needs the container on every targeted host and role; the one running is where
    we roll back from."""
    results = [(host, result) for host, found in present.items() for result in found]
    if not results:
        raise RollbackError("No app host is targeted: nothing to roll back")
    current = {result.get("current") for _host, result in results if result.get("current")}
    candidates = [v for v in results[0][1].get("versions") or [] if v not in current]
    everywhere = [v for v in candidates if all(v in (result.get("versions") or []) for _host, result in results)]
    if not everywhere:
        listing = "; ".join("%s %s: %s" % (host, result.get("role") or result.get("item") or "", ", ".join(result.get("versions") or []) or "none")
                            for host, result in results)
        raise RollbackError("No version other than the running one (%s) is present as a container on every targeted host "
                            "and role, so there is nothing to roll back to (%s). Give one: kamal-ansible rollback VERSION, "
                            "-e version=V" % (", ".join(sorted(current)) or "none", listing))
    return everywhere[0]
