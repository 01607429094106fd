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
        "pull": lambda r: "%s %s" % (r.get("image"), "pulled" if r.get("changed") else "is up to date"),
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


def server_output(command, result):
    """server exec: the command's output; boot_config: Kamal's ``get`` line; login/logout: the docker CLI's answer."""
    if command == "exec":
        return _exec_lines(result)
    if command == "boot_config":
        return result.get("boot_config")
    return result.get("msg") or result.get("actions", [])


# What a plan (check mode) says per host: each planned operation under a word a person scans for.
_PLAN_WORDS = (
    (("docker run ",), "create"),
    (("docker stop", "docker container stop"), "stop"),
    (("docker rename", "docker container rename"), "rename"),
    (("docker start", "docker container start"), "start"),
    (("proxy ",), "route"),
    (("docker tag ",), "tag"),
    (("write ", "upload "), "upload"),
    (("mkdir ", "chmod ", "chown "), "files"),
    (("docker rm ", "docker rmi ", "docker image prune", "docker container rm", "docker image rm", "rm -"), "remove"),
    (("create network", "docker network create"), "network"),
    (("run container kamal-proxy", "build image", "pull image"), "proxy"),
)
_PLAN_SKIPPED = ("docker pull ", "docker image pull ", "docker login ")  # the image lines say these


def _plan_word(action):
    for prefixes, word in _PLAN_WORDS:
        if action.startswith(prefixes):
            return word
    return "do"


_REGISTRY_SAYS = {"has it": "the registry has it", "missing": "the registry does NOT have it"}


def _image_line(entry):
    if not entry.get("pull"):
        return "image   %s: on the host" % entry["image"]
    said = entry.get("registry") or ""
    return "image   %s: pull (%s)" % (entry["image"], _REGISTRY_SAYS.get(said, "this run builds and pushes it first"))


def _created(action):
    words = action.split()
    return "create  %s" % (words[words.index("--name") + 1] if "--name" in words[:-1] else action)


def plan_lines(result):
    """A host's plan from its module result in check mode: the images (and whether the registry has them), then each
    operation by kind (create, stop, route, upload, remove ...); secret values never appear (env files name their
    keys, masked)."""
    lines = [_image_line(entry) for entry in result.get("image_plan") or []]
    for action in result.get("actions") or []:
        if action.startswith(_PLAN_SKIPPED):
            continue
        word = _plan_word(action)
        lines.append(_created(action) if word == "create" else "%-7s %s" % (word, action))
    if "built" in result:
        lines.append("build   %s%s" % (result.get("image"), ", then push it" if result.get("pushed") else "")
                     if result.get("built") or result.get("pushed") else "build   %s: built and pushed already" % result.get("image"))
    if not lines or not result.get("changed"):
        lines.append("nothing to change")
    return lines
