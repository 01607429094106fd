#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kamal_registry_forward
short_description: Check that a server reaches the deployer's local registry through the SSH remote forward
version_added: 0.1.0
description:
  - With a local registry (C(localhost:PORT) as C(registry.server)), servers pull C(localhost:PORT/<image>) through an OpenSSH
    remote forward (C(-R PORT:127.0.0.1:PORT)) on the connection Ansible uses. This module runs on the server, over that
    connection, before anything is built. It passes when a socket listens on O(port) and belongs to the sshd process the
    module itself runs under (so it is this connection's forward, not something else on the port).
  - When it does not, it fails within a second naming the host and checking, in order, what usually refuses the forward
    (sshd's C(AllowTcpForwarding), a C(Match) block, C(PermitListen), the jump host, the port already taken on the server)
    with what the server says (C(sshd -T) when run as root, else C(/etc/ssh/sshd_config)), then the fixes.
  - Changes nothing.
author: kamal.deploy developers (@kamal-deploy)
options:
  port:
    description: The local registry's port (C(localhost:PORT) in C(registry.server)).
    type: int
    required: true
  registry:
    description: The registry as deploy.yml names it, for the message; C(localhost:<port>) by default.
    type: str
  host:
    description: The server's name, for the message (the inventory hostname).
    type: str
  jump_host:
    description: The jump host (C(ssh.proxy)) when there is one; its sshd must allow forwarding too.
    type: str
attributes:
  check_mode:
    description: Checks the same way; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
notes:
  - The forward itself comes from the connection's SSH arguments, set by the C(kamal.deploy.prepare) role.
"""

EXAMPLES = r"""
- name: Check the local registry's forward on every server
  kamal.deploy.kamal_registry_forward:
    port: 5555
    host: "{{ inventory_hostname }}"
  vars:
    ansible_ssh_extra_args: -R 5555:127.0.0.1:5555
"""

RETURN = r"""
listening:
  description: Whether this connection's forward listens on the port.
  returned: always
  type: bool
checks:
  description: When it does not, each likely cause in order with what the server says and whether it is the cause.
  returned: failure
  type: list
  elements: dict
sshd:
  description: The forwarding settings read from sshd (C(global), C(effective) for this connection, C(source)).
  returned: failure
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kamal.deploy.plugins.module_utils import _registry
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, run_module


def main():
    module = AnsibleModule(argument_spec=dict(
        port=dict(type="int", required=True),
        registry=dict(type="str"),
        host=dict(type="str"),
        jump_host=dict(type="str"),
    ), supports_check_mode=True)
    run_module(module, lambda: check_forward(module), "kamal_registry_forward check of port %s" % module.params["port"])


def check_forward(module):
    """Listening: a result; not listening: a failure that says which sshd setting or network step is why."""
    p = module.params
    port = p["port"]
    state = _registry.forward_state(port)
    if state["listening"]:
        return dict(changed=False, listening=True, msg="The local registry's forward listens on port %d" % port)

    def run(args):
        return module.run_command(args, environ_update={"LC_ALL": "C"})

    facts = _registry.sshd_settings(run, os.environ.get("SSH_CONNECTION"))
    checks = _registry.diagnose(port, state, facts, p["jump_host"])
    message = _registry.forward_failure_message(p["host"] or "this server", p["registry"] or "localhost:%d" % port, port, checks,
                                                p["jump_host"])
    raise KamalError(message, listening=False, sshd=facts,
                     checks=[{"check": name, "finding": finding, "cause": cause} for name, finding, cause in checks])


if __name__ == "__main__":
    main()
