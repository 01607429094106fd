# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running commands for secrets files on the controller.

Two kinds of command run here:

* the text inside `$(...)` in a secrets file: it is the user's own shell code, so it goes to
  `/bin/sh -c` unchanged, as Kamal's Ruby backticks do;
* vendor CLIs called by the adapters (`op`, `bw`, `aws`...): always an argv list, never a shell string,
  so a secret name or value can never be read as shell syntax.

stdin and stderr are inherited (vendor CLIs may prompt for a password, as they do under Kamal); stdout is
captured. Every command has a timeout.
"""
from __future__ import annotations

import os
import subprocess

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.errors import SecretsCommandError

DEFAULT_TIMEOUT = 300
SHELL = "/bin/sh"


class CliNotFound(Exception):
    """The executable of an argv command is not on PATH."""


class CommandResult:
    __slots__ = ("returncode", "stdout")

    def __init__(self, returncode, stdout):
        self.returncode = returncode
        self.stdout = stdout

    @property
    def ok(self):
        return self.returncode == 0


class CommandRunner:
    """Runs commands with one environment, working directory and timeout."""

    def __init__(self, environ=None, cwd=None, timeout=DEFAULT_TIMEOUT):
        self.environ = dict(os.environ if environ is None else environ)
        self.cwd = cwd
        self.timeout = timeout

    def shell(self, command, what):
        """Run a secrets-file command through the shell; `what` describes it for error messages."""
        return self._run([SHELL, "-c", command], what=what, quiet=False, extra_env=None)

    def run(self, argv, quiet=False, extra_env=None):
        """Run a vendor CLI. `quiet` sends stderr to /dev/null (Kamal's `2> /dev/null`)."""
        return self._run(list(argv), what="`%s`" % " ".join(argv[:3]), quiet=quiet, extra_env=extra_env)

    def _run(self, argv, what, quiet, extra_env):
        env = self.environ
        if extra_env:
            env = dict(env)
            env.update(extra_env)
        try:
            proc = subprocess.run(
                argv,
                stdin=None,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if quiet else None,
                env=env,
                cwd=self.cwd,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            if argv[0] == SHELL:
                raise SecretsCommandError("cannot run %s: %s not found" % (what, SHELL)) from exc
            raise CliNotFound(argv[0]) from exc
        except subprocess.TimeoutExpired as exc:
            raise SecretsCommandError("%s did not finish within %s seconds" % (what, self.timeout)) from exc
        except OSError as exc:
            raise SecretsCommandError("cannot run %s: %s" % (what, exc.strerror or exc)) from exc
        return CommandResult(proc.returncode, proc.stdout.decode("utf-8", errors="replace"))
