#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kamal_accessory
short_description: Boot, reboot and manage one Kamal accessory on a server, as C(kamal accessory) does
version_added: 0.1.0
description:
  - Runs on the server and drives Docker through its Python SDK. One call handles one accessory (the accessory
    playbooks loop over them).
  - The container is named C(<service>-<name>) (or the accessory's C(service)) and labelled C(service=<that name>),
    on its network (default C(kamal), created when missing), with Kamal's C(docker run) arguments; secret env goes
    to C(.kamal/apps/<service[-destination]>/env/accessories/<name>.env) (mode 0600, written atomically, Kamal's
    escaping).
  - Everything the container is made of (image, network, port, env and secret env, files and their contents,
    directories, volumes, labels, options, cmd, logging, C(KAMAL_HOST), proxy) is hashed and recorded as the labels
    C(kamal.deploy.spec) and C(kamal.deploy.spec-data) (secrets and file contents only as digests).
  - C(boot) leaves an existing container alone, as Kamal skips hosts where the accessory already has a container.
    When it runs with the same spec the result is C(changed=false). When the spec differs, C(boot) warns and
    returns the keys that differ (C(differs)) without touching it; only C(reboot) applies a changed spec. A
    container booted by Kamal itself (no spec label) is treated the same way; the warning says how it differs in
    image, network, port and mounts.
  - C(reboot) pulls the image before it stops anything, so a bad tag fails with the old container still running.
    It then stops the old container, parks it under another name, runs the new one, and removes the old one; if
    the new one cannot start, the old one gets its name back and is started again. It never deletes data.
    A reboot with an unchanged spec of a running container is a no-op unless O(force=true).
  - A failed boot (a Docker error, a port in use) removes the container it created.
  - C(remove) refuses to run without O(confirm=true) and lists what it would delete (RV(would_remove)); like Kamal's
    C(accessory remove) it deletes the containers, the image and C(<home>/<service name>) (uploaded files and
    relative directories with their data). Named volumes, absolute directories and the env file are kept.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.container.registry
  - kamal.deploy.container.logs
  - kamal.deploy.container.audit
  - kamal.deploy.container.progress
  - kamal.deploy.route.accessory
options:
  command:
    description:
      - The Kamal C(accessory) subcommand to run.
      - C(details) lists the running containers with the accessory's C(service) label.
      - C(exec) runs O(exec_command) in a new container (or the running one with O(reuse=true)).
      - C(upload) writes O(files) only.
    type: str
    choices: [boot, reboot, start, stop, restart, remove, details, logs, exec, upload]
    default: boot
    aliases: [state]
  service:
    description: The Kamal C(service) of the deploy.yml.
    type: str
    required: true
  destination:
    description: The destination, if any (part of the env file path).
    type: str
  name:
    description: The accessory's name (the key under C(accessories)).
    type: str
    required: true
  accessory_service:
    description: The accessory's own C(service) key; it replaces C(<service>-<name>) as container name and label.
    type: str
  image:
    description: The accessory image with a pinned tag; prefixed with O(registry.server) when that is set.
    type: str
  registry:
    description:
      - The accessory's registry; C(docker login) is done before a pull when a username is set.
      - O(registry.server) is also the image prefix.
  host:
    description: The value of C(KAMAL_HOST) in the container (the inventory host name); the server's host name when unset.
    type: str
  home:
    description: The SSH user's home on the server, where C(.kamal) and the accessory's directory live; C($HOME) when unset.
    type: path
  network:
    description: The Docker network of the container.
    type: str
    default: kamal
  port:
    description: C("5432") publishes C(5432:5432); C("127.0.0.1:5432:5432") is used as is.
    type: str
  env:
    description: Clear env (C(${VAR}) is expanded as the remote shell would in Kamal's C(docker run)).
    type: dict
    default: {}
  secret_env:
    description: Secret env (resolved values); written into the env file, never shown.
    type: dict
    default: {}
  labels:
    description: Extra labels (C(service), C(role) and C(destination) are reserved).
    type: dict
    default: {}
  options:
    description: Extra C(docker run) options, as in deploy.yml; an option the SDK cannot express fails naming it.
    type: dict
    default: {}
  cmd:
    description: The command after the image (a string is split as a shell would, or a list).
    type: raw
  files:
    description:
      - Files to upload to C(<home>/<service name><remote>) and mount at C(remote). The playbook reads them (and
        renders C(.erb) ones with the accessory env) on the controller.
    type: list
    elements: dict
    default: []
    suboptions:
      content:
        description: The file's text.
        type: str
      content_b64:
        description: The file's bytes, base64 encoded (wins over O(files[].content)).
        type: str
      remote:
        description: The absolute path in the container.
        type: str
        required: true
      mode:
        description: The file's mode (octal text, quote it); Kamal's default 0755.
        type: raw
      owner:
        description: C(user[:group]) (names or ids) to chown the file to.
        type: str
      options:
        description: Mount options (C(ro), C(z), ...).
        type: str
  directories:
    description:
      - C(local:remote[:options]) strings or C({local, remote, mode, owner, options}) dicts. A relative local path
        lives in C(<home>/<service name>/); an absolute one is used as is. Created when missing, with mode and owner.
    type: list
    elements: raw
    default: []
  volumes:
    description: Extra C(--volume) entries, passed through verbatim (a named volume stays a named volume).
    type: list
    elements: str
    default: []
  logging:
    description: The root C(logging) (C(driver), C(options)); C(max-size=10m) when no driver is set.
    type: dict
  force:
    description: With C(reboot), recreate the container even when it runs the same spec.
    type: bool
    default: false
  confirm:
    description: With C(remove), confirm the deletion (Kamal's C(-y)).
    type: bool
    default: false
  exec_command:
    description: With C(exec), the command (string or list).
    type: raw
  reuse:
    description: With C(exec), run in the running container (C(docker exec)) instead of a new one.
    type: bool
    default: false
attributes:
  check_mode:
    description: Plans every Docker and file operation (RV(actions)) without performing it.
    support: full
  diff_mode:
    description: Shows the spec keys that differ between the running container and the one asked for.
    support: full
requirements:
  - Docker SDK for Python (Debian's python3-docker 5.0.3 or later) on the server
notes:
  - C(boot) never replaces a running container whose spec differs; this keeps a database from restarting because a
    playbook changed, and matches Kamal, which skips existing accessories. Run C(reboot) to apply the change.
seealso:
  - name: Kamal accessories
    description: Kamal's documentation of accessories.
    link: https://kamal-deploy.org/docs/configuration/accessories/
"""

EXAMPLES = r"""
- name: Boot the Postgres accessory
  kamal.deploy.kamal_accessory:
    service: shop
    name: postgres
    image: postgres:15
    host: "{{ inventory_hostname }}"
    port: "127.0.0.1:5432:5432"
    env:
      POSTGRES_USER: postgres
      POSTGRES_DB: shop_production
    secret_env:
      POSTGRES_PASSWORD: "{{ secrets.POSTGRES_PASSWORD }}"
    directories:
      - data:/var/lib/postgresql/data

- name: Show what a reboot would change
  kamal.deploy.kamal_accessory:
    command: reboot
    service: shop
    name: postgres
    image: postgres:15.6
  check_mode: true
  diff: true

- name: Remove it (lists what it deletes; refuses without confirm)
  kamal.deploy.kamal_accessory:
    command: remove
    service: shop
    name: postgres
    image: postgres:15
    confirm: true
"""

RETURN = r"""
actions:
  description: The Docker and file operations performed (planned in check mode), in C(docker ...)-like notation.
  returned: always
  type: list
  elements: str
service_name:
  description: The container name and C(service) label of the accessory.
  returned: always
  type: str
  sample: shop-postgres
container:
  description: The accessory's container (id, name, image, status, started_at, labels; never its env).
  returned: when the command concerns the container
  type: dict
differs:
  description: The spec keys that differ between the existing container and the one asked for.
  returned: with boot and reboot
  type: list
  elements: str
  sample: [image]
containers:
  description: With C(details), the running containers with the accessory's label.
  returned: with details
  type: list
  elements: dict
would_remove:
  description: What C(remove) deletes (containers, image, directories) and keeps (volumes, absolute directories, env file).
  returned: with remove
  type: dict
removed:
  description: What C(remove) deleted.
  returned: with remove
  type: dict
lines:
  description: With C(logs), the log lines.
  returned: with logs
  type: list
  elements: str
rc:
  description: With C(exec), the command's exit code.
  returned: with exec
  type: int
stdout:
  description: With C(exec), the command's output.
  returned: with exec
  type: str
stderr:
  description: With C(exec), the command's error output.
  returned: with exec
  type: str
audit:
  description: The lines appended to the audit log (in check mode, the lines that would be).
  returned: when the command changed something and O(audit=true)
  type: list
  elements: str
route:
  description: What the proxy backend did for a proxied accessory.
  returned: when the accessory has a proxy section
  type: dict
"""

import socket

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kamal.deploy.plugins.module_utils import _accessory
from ansible_collections.kamal.deploy.plugins.module_utils import _audit
from ansible_collections.kamal.deploy.plugins.module_utils import _container
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _logs
from ansible_collections.kamal.deploy.plugins.module_utils import _progress
from ansible_collections.kamal.deploy.plugins.module_utils import _registry
from ansible_collections.kamal.deploy.plugins.module_utils import _route
from ansible_collections.kamal.deploy.plugins.module_utils._module import run_module


def main():
    argument_spec = dict(
        command=dict(type="str", default="boot", choices=list(_accessory.COMMANDS), aliases=["state"]),
        service=dict(type="str", required=True),
        destination=dict(type="str"),
        name=dict(type="str", required=True),
        accessory_service=dict(type="str"),
        image=dict(type="str"),
        registry=_registry.option_spec(),
        host=dict(type="str"),
        home=dict(type="path"),
        network=dict(type="str", default="kamal"),
        port=dict(type="str"),
        env=dict(type="dict", default={}),
        secret_env=dict(type="dict", default={}, no_log=True),
        labels=dict(type="dict", default={}),
        options=dict(type="dict", default={}),
        cmd=dict(type="raw"),
        files=dict(type="list", elements="dict", default=[], options=dict(
            content=dict(type="str"),
            content_b64=dict(type="str"),
            remote=dict(type="str", required=True),
            mode=dict(type="raw"),
            owner=dict(type="str"),
            options=dict(type="str"),
        )),
        directories=dict(type="list", elements="raw", default=[]),
        volumes=dict(type="list", elements="str", default=[]),
        logging=dict(type="dict"),
        proxy=_route.accessory_option_spec(),
        force=dict(type="bool", default=False),
        confirm=dict(type="bool", default=False),
        **_logs.option_spec(),
        exec_command=dict(type="raw"),
        reuse=dict(type="bool", default=False),
        **_audit.option_spec(),
        **_progress.option_spec(),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not _docker.HAS_DOCKER:
        module.fail_json(msg=missing_required_lib(_docker.DOCKER_LIBRARY, url=_docker.DOCKER_LIBRARY_URL),
                         exception=_docker.DOCKER_IMPORT_ERROR)
    params = dict(module.params)
    if not params.get("host"):
        params["host"] = socket.gethostname()
    accessory = None

    def work():
        nonlocal accessory
        spec = _accessory.AccessorySpec(params)
        # Only a proxied accessory pays for importing the proxy backend.
        proxy = _container.proxy_backend() if spec.proxied else None
        accessory = _accessory.Accessory(_docker.connect(), spec, check_mode=module.check_mode, proxy=proxy)
        accessory.progress = _progress.for_params(params, spec.home)
        try:
            result = _accessory.run(accessory, params)
        finally:
            accessory.progress.close()
        for warning in result.pop("warnings_list", []):
            module.warn(warning)
        messages = _accessory.audit_messages(params["command"], params, result)
        if messages and params["audit"]:
            result["audit"] = accessory.record_audit(messages, params.get("performer"))
        return result

    run_module(module, work, "kamal_accessory %s of %s on %s" % (params["command"], params["name"], params["host"]),
               lambda: list(accessory.actions) if accessory else [])


if __name__ == "__main__":
    main()
