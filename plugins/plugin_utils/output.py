# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an app or accessory command prints (the role's debug task shows it): per command, the lines Kamal would
print from the module's result; for the others, the operations done or the module's message."""

from __future__ import annotations

ACCESSORY_SHOWN = ("details", "logs", "exec")


def _container_lines(result):
    return ["  ".join(str(c.get(key)) for key in ("name", "status", "image")) for c in result.get("containers") or []]


def _exec_lines(result):
    return list(result.get("stdout_lines") or []) + list(result.get("stderr_lines") or [])


def _rollout_line(rollout):
    if not rollout:
        return "rollout: none"
    split = "%d%%" % rollout.get("percent", 0)
    if rollout.get("list"):
        split += " and kamal-rollout=%s" % ",".join(rollout["list"])
    return "rollout: %s (%s) gets %s" % (rollout.get("version"), rollout.get("container"), split)


def app_output(command, result):
    shown = {
        "details": lambda r: _container_lines(r) + ([_rollout_line(r["rollout"])] if r.get("rollout") else []),
        "rollout": lambda r: _rollout_line(r.get("rollout")),
        "rollout_deploy": lambda r: list(r.get("actions") or []) + [_rollout_line(r.get("rollout"))],
        "rollout_set": lambda r: list(r.get("actions") or []) + [_rollout_line(r.get("rollout"))],
        "containers": _container_lines,
        "images": lambda r: [tag for image in r.get("images") or [] for tag in image.get("tags") or []],
        "version": lambda r: r.get("version", ""),
        "versions": lambda r: r.get("versions", []),
        "logs": lambda r: r.get("lines") or [r.get("msg", "Nothing found")],
        "exec": _exec_lines,
        "stale_containers": lambda r: r.get("stale", []),
        "prune": lambda r: list(r.get("removed_containers") or []) + list(r.get("removed_images") or []),
    }
    if command in shown:
        return shown[command](result)
    return result.get("actions", []) or result.get("msg", "done")


def accessory_output(command, result):
    """None when there is nothing to print: a command without output of its own and without a message."""
    if command == "details":
        return result["containers"] if "containers" in result else result.get("container")
    if command == "logs":
        return result.get("lines", [])
    if command == "exec":
        return _exec_lines(result)
    if not result.get("msg"):
        return None
    return result["msg"]
