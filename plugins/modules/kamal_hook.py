# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller.

DOCUMENTATION = r"""
module: kamal_hook
short_description: Run one of Kamal's hooks on the controller, with Kamal's environment
version_added: 0.1.0
description:
  - Runs on the controller. Runs C(<hooks_path>/<name>) from the project's root, as Kamal does
    (C(/usr/bin/env .kamal/hooks/<name>)), when the file exists; a missing hook is not an error.
  - The hook gets the controller's environment plus C(KAMAL_RECORDED_AT), C(KAMAL_PERFORMER), C(KAMAL_VERSION),
    C(KAMAL_SERVICE_VERSION), C(KAMAL_SERVICE), C(KAMAL_HOSTS), C(KAMAL_COMMAND), C(KAMAL_LOCK) and, when set,
    C(KAMAL_DESTINATION), C(KAMAL_ROLES), C(KAMAL_SUBCOMMAND) and (post-deploy) C(KAMAL_RUNTIME).
    C(pre-connect), C(pre-deploy) and C(post-deploy) also get every secret under its own name.
  - A hook that exits non-zero fails the task with C(Hook `<name>` failed:) and its output. A hook file that is not
    executable fails with the C(chmod +x) that fixes it. Kamal 1's C(pre-traefik-reboot)/C(post-traefik-reboot) in
    the hooks directory fail every hook, as Kamal refuses to run with them.
  - Secret values are masked in the output returned.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.controller_action
options:
  name:
    description: The hook to run.
    type: str
    required: true
    choices: [pre-connect, pre-build, pre-deploy, post-deploy, pre-app-boot, post-app-boot, pre-proxy-reboot,
              post-proxy-reboot, docker-setup, pre-app-remove, post-app-remove]
  project_dir:
    description: The app's root directory (the parent of C(config/deploy.yml)); the hook runs from there.
    type: path
    required: true
  hooks_path:
    description: The C(hooks_path) of deploy.yml, relative to O(project_dir) or absolute.
    type: str
    default: .kamal/hooks
  service:
    description: The Kamal service (C(KAMAL_SERVICE)).
    type: str
    required: true
  version:
    description: The version deployed (C(KAMAL_VERSION); C(KAMAL_SERVICE_VERSION) is C(<service>@<first 7 characters>)).
    type: str
  destination:
    description: The destination (C(KAMAL_DESTINATION), left out when unset).
    type: str
  hosts:
    description: The hosts acted on (C(KAMAL_HOSTS), comma-separated); for the boot and proxy hooks, the current group.
    type: list
    elements: str
    default: []
  roles:
    description: The roles selected by the user (C(KAMAL_ROLES), left out when no role filter was given).
    type: list
    elements: str
  command:
    description: The command first invoked, such as C(deploy) (C(KAMAL_COMMAND)).
    type: str
  subcommand:
    description: Its subcommand, such as C(boot) for C(app boot) (C(KAMAL_SUBCOMMAND), left out when unset).
    type: str
  lock:
    description: Whether the run holds the deploy lock (C(KAMAL_LOCK=true)); hooks then must not lock again.
    type: bool
    default: false
  runtime:
    description: Seconds the deploy took, for C(post-deploy) (C(KAMAL_RUNTIME), rounded).
    type: float
  performer:
    description: C(KAMAL_PERFORMER). Defaults to C(git config user.email) in O(project_dir), else the user name.
    type: str
  recorded_at:
    description: C(KAMAL_RECORDED_AT). Defaults to now, in UTC ISO 8601.
    type: str
  secrets:
    description: Secret values by name, exported to C(pre-connect), C(pre-deploy) and C(post-deploy) only.
    type: dict
    default: {}
  skip_hooks:
    description: Do not run the hook (Kamal's C(--skip-hooks)).
    type: bool
    default: false
  hooks_output:
    description:
      - The C(hooks_output) of deploy.yml, C(quiet) or C(verbose) for every hook or a mapping of hook name to level.
        With C(verbose) the hook's output is printed; otherwise it is only returned (and shown with C(-v)).
    type: raw
attributes:
  check_mode:
    description: Reports whether the hook would run, without running it (use C(check_mode=false) on the task to run it anyway).
    support: full
"""

EXAMPLES = r"""
- name: Run the pre-deploy hook inside the lock
  kamal.deploy.kamal_hook:
    name: pre-deploy
    project_dir: "{{ kamal_project_dir }}"
    service: shop
    version: "{{ kamal_version }}"
    hosts: "{{ ansible_play_hosts }}"
    command: deploy
    lock: true
    secrets: "{{ kamal_secrets }}"
    skip_hooks: "{{ skip_hooks | default(false) }}"
"""

RETURN = r"""
hook:
  description: The hook's name.
  returned: always
  type: str
path:
  description: The hook file's absolute path.
  returned: always
  type: str
ran:
  description: Whether the hook ran.
  returned: always
  type: bool
would_run:
  description: In check mode, the hook exists and would have run (check mode never counts it as a change).
  returned: in check mode, when the hook exists
  type: bool
skipped_reason:
  description: Why it did not run (C(skip_hooks), C(no hook file ...), C(check mode)), or null.
  returned: always
  type: str
rc:
  description: The hook's exit status.
  returned: when the hook ran
  type: int
stdout:
  description: What the hook printed on stdout, secrets masked.
  returned: always
  type: str
stderr:
  description: What the hook printed on stderr, secrets masked.
  returned: always
  type: str
env:
  description: The C(KAMAL_*) variables given to the hook (secrets are not listed).
  returned: always
  type: dict
secrets_exported:
  description: Whether the secrets were put in the hook's environment.
  returned: always
  type: bool
cmd:
  description: The command run.
  returned: always
  type: list
  elements: str
output_shown:
  description: Whether the output was printed (C(hooks_output=verbose)).
  returned: always
  type: bool
"""
