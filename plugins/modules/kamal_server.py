#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kamal_server
short_description: Kamal's commands on a server outside the app, accessory and proxy containers
version_added: 0.1.0
description:
  - "With O(command=exec), Kamal's C(server exec CMD) on one host. The command line runs with C(/bin/sh) in the
    SSH user's home directory and C(Executed cmd '<CMD>' on <host>) goes to the service's audit log. A non-zero
    exit fails the task with the command's output."
  - With O(command=login) and O(command=logout), Kamal's C(registry login) and C(registry logout) on the server
    (C(docker login SERVER -u USER --password-stdin), C(docker logout SERVER)), the docker CLI's own session in
    C(~/.docker/config.json).
  - With O(command=boot_config), Kamal's C(proxy boot_config get|set|reset) (O(boot_config)) on the files of
    C(.kamal/proxy/) (C(options), C(image), C(image_version), C(run_command)). C(set) writes each file that
    differs from Kamal's default and removes the others, C(reset) removes them all, C(get) reads them.
  - Every result lists its operations in RV(actions); in check mode they are planned and nothing runs.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.container.registry
  - kamal.deploy.container.audit
options:
  command:
    description: What to do.
    type: str
    required: true
    choices: [exec, login, logout, boot_config]
  service:
    description: The Kamal C(service) name (the audit log's name).
    type: str
    required: true
  destination:
    description: The destination (C(-d)), if any.
    type: str
  host:
    description: The host name as written in deploy.yml, for the audit line and messages. Pass C(inventory_hostname).
    type: str
  home:
    description: The directory C(.kamal) lives in, the SSH user's home by default (as Kamal).
    type: path
  exec_command:
    description: With O(command=exec), the command line to run.
    type: str
  boot_config:
    description: With O(command=boot_config), what to do with the boot config files.
    type: str
    choices: [get, set, reset]
    default: get
  boot_settings:
    description:
      - With O(boot_config=set), C(kamal proxy boot_config set)'s options.
    type: dict
    suboptions:
      publish:
        description: Publish the proxy's ports on the host.
        type: bool
        default: true
      publish_host_ip:
        description: Host IP addresses to bind the ports to (all interfaces when unset).
        type: list
        elements: str
      http_port:
        description: The host's HTTP port.
        type: int
        default: 80
      https_port:
        description: The host's HTTPS port.
        type: int
        default: 443
      log_max_size:
        description: The proxy's log size limit.
        type: str
        default: 10m
      registry:
        description: The registry of the proxy image.
        type: str
      repository:
        description: The repository of the proxy image.
        type: str
      image_version:
        description: The proxy image's version.
        type: str
      metrics_port:
        description: The port the proxy reports Prometheus metrics on.
        type: int
      debug:
        description: Run the proxy in debug mode.
        type: bool
        default: false
      docker_options:
        description: Docker options for the proxy container, as C(option=value).
        type: list
        elements: str
        default: []
attributes:
  check_mode:
    description: Plans the operations (RV(actions)) and runs or changes nothing.
    support: full
  diff_mode:
    description: With O(command=boot_config), the boot config files before and after.
    support: full
"""

EXAMPLES = r"""
- name: Show the uptime of every server (kamal server exec uptime)
  kamal.deploy.kamal_server:
    command: exec
    service: my-app
    host: "{{ inventory_hostname }}"
    exec_command: uptime

- name: Log the docker CLI in to the registry
  kamal.deploy.kamal_server:
    command: login
    service: my-app
    registry:
      server: registry.example.com
      username: deploy
      password: "{{ registry_password }}"
"""

RETURN = r"""
actions:
  description: The operations performed (or, in check mode, planned).
  returned: always
  type: list
  elements: str
stdout:
  description: The command's output.
  returned: with O(command=exec)
  type: str
stderr:
  description: The command's error output.
  returned: with O(command=exec)
  type: str
rc:
  description: The command's exit status (null in check mode).
  returned: with O(command=exec)
  type: int
audit:
  description: The audit line written (in check mode, the line it would write).
  returned: with O(command=exec)
  type: str
files:
  description: The boot config files present (after O(boot_config=set) or O(boot_config=reset), the ones left).
  returned: with O(command=boot_config)
  type: dict
boot_config:
  description: What C(kamal proxy boot_config get) prints for the host, after C(Host <host>:).
  returned: with O(command=boot_config)
  type: str
msg:
  description: The docker CLI's answer.
  returned: with O(command=login) and O(command=logout)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kamal.deploy.plugins.module_utils import _audit, _registry, _server
from ansible_collections.kamal.deploy.plugins.module_utils._module import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="str", required=True, choices=list(_server.COMMANDS)),
            service=dict(type="str", required=True),
            destination=dict(type="str"),
            host=dict(type="str"),
            home=dict(type="path"),
            exec_command=dict(type="str"),
            registry=_registry.option_spec(),
            boot_config=dict(type="str", default="get", choices=["get", "set", "reset"]),
            boot_settings=dict(type="dict", options=dict(
                publish=dict(type="bool", default=True),
                publish_host_ip=dict(type="list", elements="str"),
                http_port=dict(type="int", default=80),
                https_port=dict(type="int", default=443),
                log_max_size=dict(type="str", default="10m"),
                registry=dict(type="str"),
                repository=dict(type="str"),
                image_version=dict(type="str"),
                metrics_port=dict(type="int"),
                debug=dict(type="bool", default=False),
                docker_options=dict(type="list", elements="str", default=[]),
            )),
            **_audit.option_spec(),
        ),
        supports_check_mode=True,
        required_if=[("command", "exec", ("exec_command",))],
    )
    server = _server.Server(module.params, check_mode=module.check_mode)
    run_module(module, lambda: _server.run(server, module.params),
               "kamal_server %s on %s" % (module.params["command"], module.params.get("host") or "this server"),
               lambda: server.actions)


if __name__ == "__main__":
    main()
