# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Kamal does on a server outside the app, accessory and proxy containers: ``server exec`` (a command in
the SSH user's home, audited), ``registry login``/``logout`` (the docker CLI's own session, as ``docker login``
leaves it in ~/.docker/config.json) and ``proxy boot_config get|set|reset`` (the files of _boot_config).

Every operation goes to ``actions``; in check mode they are planned and nothing runs or changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

from ansible_collections.kamal.deploy.plugins.module_utils import _audit
from ansible_collections.kamal.deploy.plugins.module_utils import _boot_config
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError

COMMANDS = ("exec", "login", "logout", "boot_config")


class ServerError(KamalError):
    """A server command that failed: the message names the host, the command and its output."""


def _shell(argv_or_command, home, input_text=None, shell=False):
    try:
        return subprocess.run(argv_or_command, cwd=home, shell=shell, input=input_text, capture_output=True,  # noqa: S602
                              text=True, check=False, executable="/bin/sh" if shell else None)
    except OSError as exc:
        return subprocess.CompletedProcess(argv_or_command, 127, "", str(exc))


class Server:
    """One host: ``params`` are kamal_server's (home, host, service, destination, performer ...)."""

    def __init__(self, params, check_mode=False, run=_shell):
        self.params = params
        self.check_mode = check_mode
        self.run = run
        self.home = params.get("home") or os.path.expanduser("~")
        self.host = params.get("host") or "this server"
        self.actions = []

    def result(self, changed=False, **values):
        return dict(values, changed=changed, actions=list(self.actions))

    # -- server exec
    def exec_command(self, command):
        """``server exec CMD``: Kamal runs the words as the login shell's command line, in the home directory."""
        if not command or not str(command).strip():
            raise ServerError("No command provided. You must specify a command to execute.")
        params = self.params
        audit = [None]
        if params.get("audit", True):
            audit = _audit.record_all(self.home, params["service"], ["Executed cmd '%s' on %s" % (command, self.host)],
                                      params.get("performer"), destination=params.get("destination"),
                                      check_mode=self.check_mode)
        self.actions.append(command)
        if self.check_mode:
            return self.result(changed=True, audit=audit[0], stdout="", stderr="", rc=None)
        done = self.run(command, self.home, shell=True)
        result = self.result(changed=True, audit=audit[0], stdout=done.stdout, stderr=done.stderr, rc=done.returncode,
                             stdout_lines=done.stdout.splitlines(), stderr_lines=done.stderr.splitlines())
        if done.returncode != 0:
            raise ServerError("'%s' exited with %s on %s: %s" % (command, done.returncode, self.host,
                                                                 (done.stderr or done.stdout).strip()[-2000:]),
                              **{k: v for k, v in result.items() if k != "changed"})
        return result

    # -- registry login / logout
    def login(self, registry):
        server = registry.get("server") or ""
        username = registry.get("username")
        if not username:
            raise ServerError("registry login needs registry.username (and registry.password) in deploy.yml")
        argv = ["docker", "login"] + ([server] if server else []) + ["-u", str(username), "--password-stdin"]
        self.actions.append("docker login %s-u %s -p [redacted]" % (server + " " if server else "", username))
        if self.check_mode:
            return self.result(changed=True)
        done = self.run(argv, self.home, input_text=str(registry.get("password") or ""))
        if done.returncode != 0:
            raise ServerError("docker login to %s as %s failed on %s: %s" % (server or "Docker Hub", username, self.host,
                                                                             (done.stderr or done.stdout).strip()))
        return self.result(changed=True, msg=done.stdout.strip() or "Login Succeeded")

    def logout(self, registry):
        server = registry.get("server") or ""
        argv = ["docker", "logout"] + ([server] if server else [])
        self.actions.append(" ".join(argv))
        if self.check_mode:
            return self.result(changed=True)
        done = self.run(argv, self.home)
        if done.returncode != 0:
            raise ServerError("docker logout from %s failed on %s: %s"
                              % (server or "Docker Hub", self.host, (done.stderr or done.stdout).strip()))
        return self.result(changed=True, msg=done.stdout.strip())

    # -- proxy boot_config
    def boot_config(self, action, settings):
        directory = os.path.join(self.home, _boot_config.DIRECTORY)
        before = _boot_config.read_files(self.home)
        if action == "get":
            return self.result(files=before, boot_config=_boot_config.describe(before))
        if action == "set":
            try:
                desired = _boot_config.desired_files(settings or {})
            except _boot_config.BootConfigError as exc:
                raise ServerError(str(exc))
        elif action == "reset":
            desired = dict.fromkeys(_boot_config.FILES)
        else:
            raise ServerError("Unknown boot_config subcommand %s (get, set or reset)" % action)
        changed = False
        for name in _boot_config.FILES:
            path = os.path.join(directory, name)
            want = desired[name]
            if want is None and name in before:
                self.actions.append("rm %s" % os.path.join(_boot_config.DIRECTORY, name))
                changed = True
                if not self.check_mode:
                    os.remove(path)
            elif want is not None and before.get(name) != want:
                self.actions.append("write %s: %s" % (os.path.join(_boot_config.DIRECTORY, name), want))
                changed = True
                if not self.check_mode:
                    if not os.path.isdir(directory):
                        os.makedirs(directory)
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(want)
        after = {name: content for name, content in desired.items() if content is not None}
        return self.result(changed=changed, files=after, boot_config=_boot_config.describe(after),
                           diff={"before": before, "after": after})


def run(server, params):
    command = params.get("command")
    if command == "exec":
        return server.exec_command(params.get("exec_command"))
    if command == "login":
        return server.login(params.get("registry") or {})
    if command == "logout":
        return server.logout(params.get("registry") or {})
    if command == "boot_config":
        return server.boot_config(params.get("boot_config") or "get", params.get("boot_settings") or {})
    raise ServerError("unknown command %s (one of %s)" % (command, ", ".join(COMMANDS)))
