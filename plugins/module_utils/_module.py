# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error boundary of kamal.deploy's modules (and the error type every manager raises).

A module's ``main()`` builds its ``AnsibleModule`` and hands the rest to :func:`run_module`. Whatever
goes wrong in there ends as one ``fail_json`` with a one-line ``msg`` and the operations done so far
(``actions``), never as a raw traceback:

- a :class:`KamalError` (``AppError``, ``AccessoryError``, ``DockerError``, ``ProxyError`` ...) is already
  phrased for a human: its message is the ``msg`` and its details go into the result unchanged;
- anything else is a bug or a surprise: the ``msg`` names what the module was doing and the exception,
  and the traceback goes in ``exception`` only, which Ansible shows when asked (``-vvv`` before
  ansible-core 2.19, ``ANSIBLE_DISPLAY_TRACEBACK=error`` since).

Stdlib only: the controller's action plugins use :func:`failure` too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback


class KamalError(Exception):
    """A failure with a message for humans and details for the module result."""

    def __init__(self, message, **details):
        super(KamalError, self).__init__(message)
        self.message = message
        self.details = details


def unexpected_message(doing, exc):
    """One line for an exception nobody phrased: what we were doing, and what Python said."""
    text = " ".join(str(exc).split())
    return "%s: unexpected %s%s" % (doing, type(exc).__name__, ": " + text if text else "")


def failure(exc, doing, actions=None):
    """The failed result's fields (without ``failed``) for ``exc``, raised while ``doing``.

    ``actions`` is the list of operations done so far; a known error that carries its own keeps it."""
    if isinstance(exc, KamalError):
        details = dict(exc.details)
        if actions is not None:
            details.setdefault("actions", list(actions))
        return dict(details, msg=exc.message)
    return {"msg": unexpected_message(doing, exc), "actions": list(actions or []),
            "exception": traceback.format_exc()}


def run_module(module, work, doing, actions=None):
    """``exit_json(**work())``, or one ``fail_json`` for any exception ``work`` raises.

    ``doing`` names the task for an unexpected error ("kamal_app logs of hey-web on vm1"); ``actions()``
    returns the operations done so far. ``work`` may call ``module.fail_json`` itself (it exits). The
    result's ``diff`` is kept only when Ansible asked for one (``--diff``)."""
    try:
        result = work()
    except Exception as exc:  # pylint: disable=broad-except
        # Called inside the except block, so Ansible can attach the traceback of a known error when asked.
        module.fail_json(**failure(exc, doing, actions() if actions else None))
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    module.exit_json(**result)
