# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller.

DOCUMENTATION = r"""
module: kamal_build
short_description: Build the app image and push it, as C(kamal build push) does
version_added: 0.1.0
description:
  - Runs on the controller. Builds C(<repository>:<version>) and C(<repository>:<latest_tag>) with the label
    C(service=<service>) from a clean git clone of the project's HEAD (or the working tree when C(builder.context)
    is set), then pushes both tags.
  - An image already built for this version and already in the registry is neither rebuilt nor pushed again
    (C(changed=false)).
  - With a local registry (C(localhost:PORT) as the O(registry) server) the registry runs on the controller first, as Kamal runs it,
    in the container C(kamal-docker-registry) from O(local_registry_image), published on C(127.0.0.1:PORT) only (servers reach it
    through an SSH remote forward). A C(kamal-docker-registry) on another port fails with the fix.
  - Uses C(docker buildx build) when the buildx plugin is installed, otherwise the classic C(docker build);
    builder keys that need buildx (secrets, ssh, cache, provenance, sbom, a foreign arch) then fail with a clear message.
author: kamal.deploy developers (@kamal-deploy)
options:
  service:
    description: The Kamal service name; the image gets the label C(service=<service>).
    type: str
    required: true
  repository:
    description: The image repository, registry server included (C(<registry.server>/<image>)).
    type: str
    required: true
  version:
    description: The version tag, by default the full git SHA of the app.
    type: str
    required: true
  latest_tag:
    description: The moving tag, C(latest) or C(latest-<destination>).
    type: str
    default: latest
  project_dir:
    description: The app's root directory (the parent of C(config/deploy.yml)).
    type: path
    required: true
  builder:
    description: The resolved C(builder) section of deploy.yml.
    type: dict
    required: true
  registry:
    description: C(server), C(username) and C(password) (values) for C(docker login) before pushing; no login without a username
      or for a local registry.
    type: dict
    default: {}
  secret_values:
    description: Values of C(builder.secrets), exported to the build's environment.
    type: dict
    default: {}
  push:
    description: Push the image after building (false for C(--skip-push)-like runs that only build).
    type: bool
    default: true
  no_cache:
    description: Build without the builder's cache (C(kamal build push --no-cache)).
    type: bool
    default: false
  local_registry_image:
    description: The image of the local registry container (Distribution), for a C(localhost:PORT) registry.
    type: str
    default: registry:3
attributes:
  check_mode:
    description: Plans the build and push without running them.
    support: full
  diff_mode:
    description: Shows whether the image is built and pushed.
    support: full
  action:
    description: Runs on the controller as an action plugin.
    support: full
notes:
  - Remote builders and buildpacks are not supported yet.
"""

EXAMPLES = r"""
- name: Build and push the app
  kamal.deploy.kamal_build:
    service: shop
    repository: registry.example.com/acme/shop
    version: "{{ kamal_version }}"
    project_dir: "{{ playbook_dir }}"
    builder:
      arch: [amd64]
      dockerfile: Dockerfile
    registry:
      server: registry.example.com
      username: acme
      password: "{{ lookup('kamal.deploy.kamal_secrets', 'KAMAL_REGISTRY_PASSWORD') }}"
"""

RETURN = r"""
image:
  description: The version's image reference.
  returned: always
  type: str
  sample: registry.example.com/acme/shop:3f2a...
latest_image:
  description: The moving tag's image reference.
  returned: always
  type: str
built:
  description: Whether an image was (or, in check mode, would be) built.
  returned: always
  type: bool
pushed:
  description: Whether the image was (or would be) pushed.
  returned: always
  type: bool
actions:
  description: The commands run, without secrets.
  returned: always
  type: list
  elements: str
"""
