#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kamal_lock
short_description: Kamal's deploy lock (acquire, release, status) and audit log tail on a server
version_added: 0.1.0
description:
  - Runs on the primary host of the targeted set, as Kamal's lock does. The lock is the directory
    C(~/.kamal/lock-<service>[-<destination>]) with Kamal's C(details) file (base64 of C(Locked by), C(Version),
    C(Message)), so C(kamal lock status) shows a lock taken here and this module reads a lock taken by Kamal.
  - Extra fields (run id, controller host and pid, manual flag, TTL and expiry) go to C(kamal-deploy.json) in the
    same directory; Kamal ignores that file and its C(lock release) removes it with the directory.
  - A held lock fails O(command=acquire) within seconds, naming holder, version, message, since when (and how long
    ago) and the commands that release it.
  - An automatic lock older than its TTL is stale and is broken by the next acquire. A lock taken by kamal.deploy
    from the same controller host whose pid is not in O(live_pids) is reported as stale (owner gone) but broken only
    with O(force=true), like any other lock. Manual locks never expire.
  - O(command=audit) returns the last lines of the service's audit log (C(~/.kamal/<service>[-<destination>]-audit.log)),
    as C(kamal audit) shows them.
author: kamal.deploy developers (@kamal-deploy)
options:
  command:
    description:
      - V(acquire) takes the lock (re-entrant for the same O(run_id)), V(release) removes it, V(status) reports it,
        V(audit) returns the tail of the audit log.
    type: str
    choices: [acquire, release, status, audit]
    default: status
  service:
    description: The Kamal service name.
    type: str
    required: true
  destination:
    description: The Kamal destination; the lock and log names get C(-<destination>).
    type: str
  home:
    description: The directory C(.kamal) lives in. Defaults to the home directory of the user the module runs as (the SSH user).
    type: path
  lock_message:
    description:
      - The lock message (C(Message:), Kamal's C(-m)). Defaults to Kamal's C(Automatic deploy lock) for automatic locks;
        required with O(manual=true).
    type: str
  version:
    description: The version being deployed, written to the details as C(Version:).
    type: str
    default: ''
  locked_by:
    description: The holder's name, written as C(Locked by:) (Kamal uses C(git config user.name), else C(Unknown)).
    type: str
    default: Unknown
  performer:
    description: The holder's audit identity (C(git config user.email), else C(whoami)), kept in the extra file.
    type: str
  manual:
    description: A manual lock (C(lock_acquire -e message=...)), held until released; it never expires and is never waited for.
    type: bool
    default: false
  run_id:
    description:
      - Identifies the run holding the lock. An acquire with the run id of the current holder succeeds without
        change (re-entry); a release with a run id only removes a lock taken with that run id.
    type: str
  controller_host:
    description: The controller's host name, recorded in the lock and compared with a holder's for the liveness check.
    type: str
  controller_pid:
    description: The pid of the controller process holding the lock (C(ansible-playbook)), recorded in the lock.
    type: int
  live_pids:
    description:
      - The pids alive on the controller now. When given, a kamal.deploy lock taken from the same O(controller_host)
        whose pid is not in the list is reported as stale (its owner is gone). The module runs on the server and
        cannot look at the controller's processes itself.
    type: list
    elements: int
  ttl:
    description:
      - Seconds after which an automatic lock expires; recorded in the lock taken. Also applied to Kamal's own
        automatic locks (C(Automatic deploy lock)), which carry no TTL. V(0) means no expiry.
    type: int
    default: 3600
  force:
    description: Break the lock found, whoever holds it, and take it (acquire). The broken holder is returned and warned about.
    type: bool
    default: false
  wait:
    description: Seconds to wait for a held automatic lock to be released before failing; V(0) fails at once. Manual locks are not waited for.
    type: int
    default: 0
  wait_interval:
    description: Seconds between two looks at a held lock while waiting.
    type: float
    default: 2.0
  lines:
    description: How many audit log lines O(command=audit) returns.
    type: int
    default: 50
  watchdog:
    description:
      - On the controller (the action plugin), for O(command=acquire) and O(command=release) with O(run_id) and
        O(controller_pid). Before an acquire, start a detached watchdog that waits for the O(controller_pid) process
        (C(ansible-playbook)) to end and then releases this run's lock, so a run killed by SIGINT or SIGTERM leaves no
        lock behind; after a release, stop it. The module on the server ignores it. Not in check mode.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reports whether the lock would be acquired or released (and fails where the real run would) without writing.
    support: full
  diff_mode:
    description: Shows the decoded lock details before and after.
    support: full
  action:
    description: The watchdog (O(watchdog)) runs in the action plugin, on the controller.
    support: full
  platform:
    description: Runs on the POSIX servers Kamal deploys to.
    support: full
    platforms: posix
notes:
  - Run it once, on the primary host (C(run_once) with C(delegate_to)); the lock lives there only.
  - Hooks run inside a lock see C(KAMAL_LOCK=true); a playbook skips locking again in that case, or re-enters with the same O(run_id).
"""

EXAMPLES = r"""
- name: Take the deploy lock
  kamal.deploy.kamal_lock:
    command: acquire
    service: shop
    version: "{{ kamal_version }}"
    locked_by: "{{ kamal_locked_by }}"
    run_id: "{{ kamal_run_id }}"
    controller_host: "{{ kamal_controller_host }}"
    controller_pid: "{{ kamal_controller_pid }}"
    live_pids: "{{ kamal_controller_live_pids }}"
    wait: "{{ lock_wait | default(0) }}"
    force: "{{ force_unlock | default(false) }}"
    watchdog: true
  run_once: true
  delegate_to: "{{ kamal_primary_host }}"

- name: Release it (only if it is still ours) and stop the watchdog
  kamal.deploy.kamal_lock:
    command: release
    service: shop
    run_id: "{{ kamal_run_id }}"
    controller_pid: "{{ kamal_controller_pid }}"
    watchdog: true

- name: Who holds the lock?
  kamal.deploy.kamal_lock:
    command: status
    service: shop
    destination: staging
  register: lock

- name: Last 20 lines of the audit log
  kamal.deploy.kamal_lock:
    command: audit
    service: shop
    lines: 20
"""

RETURN = r"""
locked:
  description: Whether the lock is held after the command (for V(status), whether it is held).
  returned: always except for O(command=audit)
  type: bool
path:
  description: The lock directory (or, for O(command=audit), the audit log).
  returned: always
  type: str
  sample: /root/.kamal/lock-shop
holder:
  description:
    - The lock's holder. After an acquire, our own lock; after a release, the lock removed; null when there is no lock.
    - Keys C(locked_by), C(locked_at), C(version), C(message), C(details) (decoded), C(age) (seconds), C(tool)
      (C(kamal) or C(kamal.deploy)), C(run_id), C(controller_host), C(pid), C(manual), C(ttl), C(expires_at),
      C(owner_alive) (null when unknown), C(stale), C(stale_reason).
  returned: when O(command) is not V(audit)
  type: dict
acquired:
  description: Whether we hold the lock now.
  returned: O(command=acquire)
  type: bool
reentrant:
  description: The lock was already ours (same O(run_id)); nothing was written.
  returned: O(command=acquire)
  type: bool
broken:
  description: The holder whose (expired or forced) lock was broken to take it, or null.
  returned: O(command=acquire)
  type: dict
waited:
  description: Seconds spent waiting for the lock.
  returned: O(command=acquire)
  type: int
released:
  description: Whether a lock was removed (would be, in check mode).
  returned: O(command=release)
  type: bool
not_released_reason:
  description: Why a lock found was left in place (another run holds it), or null.
  returned: O(command=release)
  type: str
audit_lines:
  description: The last O(lines) lines of the audit log, oldest first; empty when there is no log.
  returned: O(command=audit)
  type: list
  elements: str
msg:
  description: What happened, in one sentence.
  returned: always
  type: str
"""

import os
import pwd
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kamal.deploy.plugins.module_utils import _audit
from ansible_collections.kamal.deploy.plugins.module_utils import _lock
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, run_module


def _diff(before, after):
    return {"before": (before or "") + ("\n" if before else ""), "after": (after or "") + ("\n" if after else ""),
            "before_header": "lock details", "after_header": "lock details"}


def main():
    argument_spec = dict(
        command=dict(type="str", default="status", choices=["acquire", "release", "status", "audit"]),
        service=dict(type="str", required=True),
        destination=dict(type="str"),
        home=dict(type="path"),
        lock_message=dict(type="str"),
        version=dict(type="str", default=""),
        locked_by=dict(type="str", default="Unknown"),
        performer=dict(type="str"),
        manual=dict(type="bool", default=False),
        run_id=dict(type="str"),
        controller_host=dict(type="str"),
        controller_pid=dict(type="int"),
        live_pids=dict(type="list", elements="int"),
        ttl=dict(type="int", default=_lock.DEFAULT_TTL),
        force=dict(type="bool", default=False),
        wait=dict(type="int", default=0),
        wait_interval=dict(type="float", default=2.0),
        lines=dict(type="int", default=_audit.DEFAULT_TAIL_LINES),
        watchdog=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("manual", True, ("lock_message",))])
    run_module(module, lambda: lock_command(module), "kamal_lock %s of %s" % (module.params["command"], module.params["service"]))


def lock_command(module):
    """The result of the lock command; a lock that cannot be taken or read fails with its holder and path."""
    p = module.params
    home = p["home"] or pwd.getpwuid(os.geteuid()).pw_dir
    command = p["command"]

    if command == "audit":
        path = _audit.log_path(home, p["service"], p["destination"])
        try:
            lines = _audit.tail(path, p["lines"])
        except OSError as e:
            raise KamalError("Cannot read the audit log %s: %s" % (path, e), path=path)
        return dict(changed=False, path=path, audit_lines=lines,
                    msg="%d line(s) of %s" % (len(lines), path) if lines else "No audit log at %s" % path)

    lock = _lock.DeployLock(home, p["service"], p["destination"], hostname=socket.gethostname())
    try:
        return _run_lock(module, lock)
    except _lock.LockError as e:
        raise KamalError(str(e), locked=True, path=lock.path, **e.info)
    except OSError as e:
        raise KamalError("Deploy lock %s on %s: %s" % (lock.path, lock.hostname, e), path=lock.path)


def _run_lock(module, lock):
    p = module.params
    command = p["command"]
    if command == "status":
        status = lock.status(ttl=p["ttl"], controller_host=p["controller_host"], live_pids=p["live_pids"])
        holder = status["holder"]
        msg = "There is no deploy lock" if holder is None else lock.describe(holder)
        return dict(changed=False, locked=status["locked"], holder=holder, path=lock.path, msg=msg)

    if command == "acquire":
        result = lock.acquire(
            locked_by=p["locked_by"], version=p["version"],
            message=p["lock_message"] if p["lock_message"] is not None else _lock.AUTOMATIC_MESSAGE,
            run_id=p["run_id"], controller_host=p["controller_host"], pid=p["controller_pid"], manual=p["manual"],
            ttl=p["ttl"], force=p["force"], wait=p["wait"], wait_interval=p["wait_interval"],
            live_pids=p["live_pids"], performer=p["performer"], check_mode=module.check_mode)
        if result["broken"]:
            module.warn("Broke the deploy lock on %s: %s%s" % (
                lock.hostname, lock.describe(result["broken"]), "" if result["broken"]["stale"] else " (forced)"))
        if result["reentrant"]:
            msg = "The deploy lock is already ours (run %s)" % p["run_id"]
        else:
            msg = "Acquired the deploy lock" if not module.check_mode else "Would acquire the deploy lock"
        out = dict(result, locked=True, path=lock.path, msg=msg)
        if module._diff and result["changed"]:  # pylint: disable=protected-access
            out["diff"] = _diff(result["broken"]["details"] if result["broken"] else "", result["holder"]["details"])
        return out

    result = lock.release(run_id=p["run_id"], ttl=p["ttl"], check_mode=module.check_mode)
    if result["not_released_reason"]:
        module.warn("Did not release the deploy lock on %s: %s" % (lock.hostname, result["not_released_reason"]))
    if result["released"]:
        msg = "Released the deploy lock" if not module.check_mode else "Would release the deploy lock"
    elif result["holder"] is None:
        msg = "There is no deploy lock"
    else:
        msg = "Left the deploy lock in place: %s" % result["not_released_reason"]
    out = dict(result, locked=result["holder"] is not None and not result["released"], path=lock.path, msg=msg)
    if module._diff and result["changed"]:  # pylint: disable=protected-access
        out["diff"] = _diff(result["holder"]["details"], "")
    return out


if __name__ == "__main__":
    main()
