# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's hooks, run on the controller (controller only).

A hook is the executable ``<hooks_path>/<name>`` (default ``.kamal/hooks``), run from the project's root as
``/usr/bin/env <hooks_path>/<name>`` when the file exists, with the controller's environment plus Kamal's
``KAMAL_*`` variables and, for ``pre-connect``, ``pre-deploy`` and ``post-deploy``, every secret under its own
name. A non-zero exit fails the run with ``Hook `<name>` failed:`` and the hook's output.

Secret values never leave this module unmasked: they are in the hook's environment only, and the output and
error text returned are masked.
"""

from __future__ import annotations

import math
import os
import pwd
import subprocess
import time

HOOKS = ("pre-connect", "pre-build", "pre-deploy", "post-deploy", "pre-app-boot", "post-app-boot",
         "pre-proxy-reboot", "post-proxy-reboot", "docker-setup",
         # Kamal main after 2.12 (unreleased when written), around app remove.
         "pre-app-remove", "post-app-remove")
SECRET_HOOKS = frozenset(("pre-connect", "pre-deploy", "post-deploy"))
RENAMED_HOOKS = ("pre-traefik-reboot", "post-traefik-reboot")
DEFAULT_HOOKS_PATH = ".kamal/hooks"
OUTPUT_LEVELS = ("quiet", "verbose")
MASK = "********"


class HookError(Exception):
    """A hook could not run or failed; the message is what the user reads."""


class Runner:
    """Runs a command; tests replace it. Returns (rc, stdout, stderr)."""

    def __call__(self, args, cwd=None, env=None):
        res = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        return res.returncode, res.stdout.decode("utf-8", "replace"), res.stderr.decode("utf-8", "replace")


def _utc_iso8601(now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def abbreviated_version(version):
    """Kamal's abbreviation: the first 7 characters, or all of a version with ``_`` in it
    (``<sha>_uncommitted_<hex>``)."""
    if version is None:
        return None
    version = str(version)
    return version if "_" in version else version[:7]


def service_version(service, version):
    """``<service>@<abbreviated version>`` (just the service without a version)."""
    abbreviated = abbreviated_version(version)
    return "%s@%s" % (service, abbreviated) if abbreviated is not None else str(service)


def ruby_round(value):
    """Ruby's ``Float#round``: halves away from zero (Python rounds them to even)."""
    value = float(value)
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def _git(project_dir, *args, runner=None):
    runner = runner or Runner()
    try:
        rc, out, _err = runner(["git"] + list(args), cwd=project_dir, env=None)
    except OSError:
        return ""
    return out.strip() if rc == 0 else ""


def performer(project_dir, runner=None):
    """``git config user.email``, else the login name (``whoami``): Kamal's KAMAL_PERFORMER."""
    email = _git(project_dir, "config", "user.email", runner=runner)
    if email:
        return email
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def locked_by(project_dir, runner=None):
    """``git config user.name`` (Kamal's ``Locked by:``); ``Unknown`` when git is missing."""
    runner = runner or Runner()
    try:
        rc, out, _err = runner(["git", "config", "user.name"], cwd=project_dir, env=None)
    except OSError:
        return "Unknown"
    return out.strip() if rc == 0 else ""


def output_level(hooks_output, name):
    """``quiet``, ``verbose`` or None (follow Ansible's verbosity) for hook ``name``, from deploy.yml's
    ``hooks_output`` (one level for every hook, or a mapping per hook; ``:verbose`` spellings accepted)."""
    if isinstance(hooks_output, dict):
        level = hooks_output.get(name)
    else:
        level = hooks_output
    if level in (None, ""):
        return None
    level = str(level).lstrip(":")
    if level not in OUTPUT_LEVELS:
        raise HookError("hooks_output: invalid level '%s'%s, must be one of: %s" % (
            level, " for %s" % name if isinstance(hooks_output, dict) else "", ", ".join(OUTPUT_LEVELS)))
    return level


def hook_env(name, *, service, version=None, destination=None, hosts=(), roles=None, command=None, subcommand=None,
             lock=False, runtime=None, performer_name=None, recorded_at=None):
    """Kamal's ``KAMAL_*`` variables for hook ``name`` (without secrets and without the process env).

    Like Kamal, unset values are left out: KAMAL_DESTINATION, KAMAL_ROLES (only when roles were selected),
    KAMAL_SUBCOMMAND, KAMAL_RUNTIME (post-deploy). KAMAL_HOSTS and KAMAL_LOCK are always there.
    """
    now = time.time() if recorded_at is None else recorded_at
    env = {
        "KAMAL_RECORDED_AT": now if isinstance(now, str) else _utc_iso8601(now),
        "KAMAL_PERFORMER": performer_name,
        "KAMAL_DESTINATION": destination or None,
        "KAMAL_VERSION": None if version is None else str(version),
        "KAMAL_SERVICE_VERSION": service_version(service, version),
        "KAMAL_SERVICE": str(service),
        "KAMAL_HOSTS": ",".join(str(h) for h in hosts or ()),
        "KAMAL_ROLES": ",".join(str(r) for r in roles) if roles else None,
        "KAMAL_LOCK": "true" if lock else "false",
        "KAMAL_COMMAND": command or None,
        "KAMAL_SUBCOMMAND": subcommand or None,
        "KAMAL_RUNTIME": None if runtime is None or name != "post-deploy" else str(ruby_round(runtime)),
    }
    return {key: value for key, value in env.items() if value is not None}


def mask(text, secrets):
    for value in sorted({str(v) for v in (secrets or {}).values() if v not in (None, "")}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def check_renamed_hooks(project_dir, hooks_path=DEFAULT_HOOKS_PATH):
    """Kamal refuses to run with Kamal 1's traefik hooks in place; so do we."""
    base = os.path.join(project_dir, hooks_path)
    found = [name for name in RENAMED_HOOKS if os.path.lexists(os.path.join(base, name))]
    if found:
        raise HookError("Found %s in %s: these should be renamed to (pre|post)-proxy-reboot (Kamal 2 no longer runs "
                        "them, and refuses to start while they exist)" % (", ".join(found), base))


def hook_file(project_dir, name, hooks_path=DEFAULT_HOOKS_PATH):
    """(path relative to the project as Kamal runs it, absolute path)."""
    relative = os.path.join(hooks_path, name)
    return relative, os.path.join(project_dir, relative)


def run_hook(name, *, project_dir, service, hooks_path=DEFAULT_HOOKS_PATH, version=None, destination=None, hosts=(),
             roles=None, command=None, subcommand=None, lock=False, runtime=None, performer_name=None,
             recorded_at=None, secrets=None, skip=False, check_mode=False, environ=None, runner=None):
    """Run hook ``name`` if it exists; returns a result dict (see the kamal_hook module's RETURN). ``rc`` is
    only there when the hook ran (Ansible takes any ``rc`` but 0 as a failure).

    ``secrets`` (name -> value) are exported only to the hooks that get them. ``environ`` is the base
    environment (default: this process's).
    """
    if name not in HOOKS:
        raise HookError("Unknown hook '%s': Kamal's hooks are %s" % (name, ", ".join(HOOKS)))
    project_dir = os.path.abspath(project_dir)
    relative, path = hook_file(project_dir, name, hooks_path)
    result = {"changed": False, "hook": name, "path": path, "ran": False, "skipped_reason": None,
              "stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": [], "env": {}, "cmd": [],
              "secrets_exported": False}
    if skip:
        result["skipped_reason"] = "skip_hooks"
        return result
    check_renamed_hooks(project_dir, hooks_path)
    if not os.path.exists(path):
        result["skipped_reason"] = "no hook file %s" % relative
        return result
    if not os.path.isfile(path):
        raise HookError("Hook `%s`: %s is not a file" % (name, path))
    if not os.access(path, os.X_OK):
        raise HookError("Hook `%s` is not executable: run `chmod +x %s`" % (name, relative))

    if performer_name is None:
        performer_name = performer(project_dir, runner=runner)
    kamal_env = hook_env(name, service=service, version=version, destination=destination, hosts=hosts, roles=roles,
                         command=command, subcommand=subcommand, lock=lock, runtime=runtime,
                         performer_name=performer_name, recorded_at=recorded_at)
    env = dict(os.environ if environ is None else environ)
    env.update(kamal_env)
    with_secrets = name in SECRET_HOOKS and bool(secrets)
    if with_secrets:
        env.update({str(k): str(v) for k, v in secrets.items() if v is not None})
    cmd = ["/usr/bin/env", relative] if os.path.exists("/usr/bin/env") else [path]
    result.update(env=kamal_env, cmd=cmd, secrets_exported=with_secrets, changed=True)
    if check_mode:
        # A hook is the user's side effect on the controller, never counted as a change (the roles say
        # changed_when: false, which Ansible does not apply to a check-mode result): the plan says it would run.
        result.update(changed=False, would_run=True, skipped_reason="check mode")
        return result

    runner = runner or Runner()
    started = time.time()
    try:
        rc, out, err = runner(cmd, cwd=project_dir, env=env)
    except OSError as e:
        raise HookError("Hook `%s` failed:\ncannot run %s: %s" % (name, relative, e)) from None
    out, err = mask(out, secrets), mask(err, secrets)
    result.update(ran=True, rc=rc, stdout=out, stderr=err, stdout_lines=out.splitlines(), stderr_lines=err.splitlines(),
                  start=_utc_iso8601(started), delta=round(time.time() - started, 3))
    if rc != 0:
        output = "\n".join(part for part in (out.rstrip("\n"), err.rstrip("\n")) if part)
        error = HookError("Hook `%s` failed:\n%s exited with status %d%s" % (
            name, relative, rc, ("\n" + output) if output else " and printed nothing"))
        error.result = result
        raise error
    return result
