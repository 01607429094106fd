#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kamal_deliver
short_description: Deliver the app image to a server over SSH, without a registry (C(x-kamal-deploy.image_delivery) C(ssh))
version_added: 0.1.0
description:
  - kamal.deploy's own delivery, for C(image_delivery) C(ssh) under C(x-kamal-deploy) in deploy.yml (Kamal has no such key). The image built on the
    controller is saved there (C(docker save), gzip-compressed, once per image ID for all servers), copied to each server
    over the SSH connection Ansible already uses (jump hosts included) and loaded there (C(docker load)). No registry, no
    login and no port forwarding are involved.
  - A server that already has the image ID gets the tag if it misses it, and nothing is copied (C(changed=false)).
  - The action plugin of the same name does the controller's part and calls this module twice at most on the server,
    to compare image IDs, then to load the copied archive.
author: kamal.deploy developers (@kamal-deploy)
options:
  image:
    description:
      - The image reference to deliver, C(<repository>:<version>).
      - In a kamal inventory's run the action plugin fills it with the image the resolved command boots.
    type: str
    required: true
  image_id:
    description: The image ID on the controller (C(sha256:...)); set by the action plugin.
    type: str
  archive:
    description: Path on the server of the copied archive to load and then delete; set by the action plugin.
    type: path
  compress_level:
    description: The gzip level of the archive (1 is fast; 0 sends it uncompressed, for fast networks).
    type: int
    default: 1
attributes:
  check_mode:
    description: Compares image IDs and reports whether the image would be delivered.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  action:
    description: The controller's part runs in the action plugin.
    support: full
requirements:
  - Docker SDK for Python on the server; C(docker) and C(gzip) on the controller.
"""

EXAMPLES = r"""
- name: Deliver the image to every server over SSH
  kamal.deploy.kamal_deliver:
    image: "{{ kamal.repository }}:{{ kamal_version }}"
"""

RETURN = r"""
image_id:
  description: The image ID on the server after delivery.
  returned: success
  type: str
delivered:
  description: Whether the image was (or, in check mode, would be) copied and loaded.
  returned: always
  type: bool
bytes:
  description: The size of the archive copied to this server.
  returned: when delivered
  type: int
seconds:
  description: Time spent on this server (copy and load), and on the controller saving the archive when this host did it.
  returned: when delivered
  type: dict
actions:
  description: What was done.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError, run_module


def _tag(client, image, reference, actions, check_mode):
    _registry_part, _repository, tag = _docker.split_image(reference)
    repository = reference[:-(len(tag) + 1)] if reference.endswith(":" + tag) else reference
    if reference in (image.tags or []):
        return False
    actions.append("docker tag %s %s" % (image.id, reference))
    if not check_mode:
        _docker.call("tagging %s as %s" % (image.id, reference), image.tag, repository, tag=tag)
    return True


def main():
    module = AnsibleModule(argument_spec=dict(
        image=dict(type="str", required=True),
        image_id=dict(type="str"),
        archive=dict(type="path"),
        compress_level=dict(type="int", default=1),
    ), supports_check_mode=True)
    if not _docker.HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker", url=_docker.DOCKER_LIBRARY_URL), exception=_docker.DOCKER_IMPORT_ERROR)
    actions = []
    run_module(module, lambda: deliver(module, actions), "kamal_deliver of %s" % module.params["image"],
               lambda: actions)


def deliver(module, actions):
    """Load the archive the action copied, or say whether this server already has the image (by ID)."""
    p = module.params
    client = _docker.connect()
    if p["archive"]:
        size = os.path.getsize(p["archive"])
        actions.append("docker load < %s (%d bytes)" % (p["archive"], size))
        try:
            with open(p["archive"], "rb") as archive:
                _docker.call("loading %s" % p["image"], client.images.load, archive)
        finally:
            os.unlink(p["archive"])
        image = _docker.find_image(client, p["image_id"] or p["image"])
        if image is None:
            raise KamalError("loaded %s on this server but the engine does not list %s" % (p["image"], p["image_id"] or p["image"]))
        _tag(client, image, p["image"], actions, False)
        return dict(changed=True, delivered=True, image_id=image.id, bytes=size, actions=actions)

    if p["image_id"]:
        image = _docker.find_image(client, p["image_id"])
        if image is not None:
            changed = _tag(client, image, p["image"], actions, module.check_mode)
            return dict(changed=changed, delivered=False, image_id=image.id, actions=actions)
        return dict(changed=module.check_mode, delivered=module.check_mode, needed=True, actions=actions)
    image = _docker.find_image(client, p["image"])
    if image is None:
        raise KamalError("%s is neither on the controller nor on this server: build it first (a deploy without skip_push)"
                         % p["image"], delivered=False)
    return dict(changed=False, delivered=False, image_id=image.id, actions=actions)


if __name__ == "__main__":
    main()
