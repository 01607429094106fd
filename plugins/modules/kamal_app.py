#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kamal_app
short_description: Boot, switch and manage the app containers of one Kamal role on a server
version_added: 0.1.0
description:
  - Runs on the server and drives its Docker engine through the Docker SDK for Python.
  - With O(command=boot) (the default) it does a role's whole deploy step in one call, like C(kamal app boot)
    for one host and role. It pulls the image, writes the role's env file (mode 0600, Kamal's path and
    escaping) and renames a container already named for the version to C(<name>_replaced_<16 hex>). It then
    runs the new container like Kamal's C(docker run) and waits for it to be healthy. For proxied roles the
    route then moves to the new container and the old one drains. Finally the old container stops and
    C(latest[-<destination>]) is tagged.
  - Proxied roles (O(proxy) set) are healthy when the container answers 2xx on the health path at
    C(<container ip>:<app_port>) within O(deploy_timeout), before the route moves. Other roles are healthy
    when Docker's HEALTHCHECK says C(healthy), or when they are still running O(readiness_delay) seconds
    after starting.
  - When the health check fails, the new container is stopped, the old one keeps serving, and the error
    names the probed URL, the last status or error, the timeout and the last 50 log lines of the new container.
  - At the end of the boot (after the switch, the old container's stop and the tag) the new container must
    still be running, never restarted; with O(min_uptime) it is watched until it has been up that long. If
    it is not, the boot fails, the new container is stopped (kept for its logs), the previous container is
    started again (the same container) and, for a proxied role, routed to, and C(latest) is moved back. The
    error names the host, the container, its exit code, restart count and last 50 log lines, and what the
    host is left with (RV(serving_version)). Kamal only checks that the container is running after
    O(readiness_delay), which a restart loop passes.
  - Idempotent. If the current running container of the role already is the version, from the same image
    ID, with the same configuration and env (a digest kept in the C(kamal.deploy.spec) label), nothing is
    touched and C(changed=false).
  - Other commands are Kamal's C(app) subcommands for one host and role. They are C(start), C(stop),
    C(remove), C(details), C(containers), C(images), C(version), C(logs), C(exec), C(stale_containers),
    C(maintenance) and C(live). There are also C(prune) (retention per service and destination),
    C(tag_latest), C(versions) (the versions present as containers, for rollback), C(pull) (Kamal's
    C(build pull), a fresh pull of the version's image, which must carry the C(service) label) and C(assets)
    (Kamal's assets step alone, for O(asset_path); a boot that spans several hosts does it on every host before
    any boots).
  - Canary rollouts (kamal-proxy's C(rollout deploy|set|stop), which Kamal does not expose). O(command=rollout_deploy)
    boots O(version) next to the live container as the route's rollout target; it gets traffic only once healthy,
    and only its split's share. O(command=rollout_set) sets the split, O(rollout_percent) of the clients (kept on
    their side by a cookie the proxy sets) and every C(kamal-rollout) cookie in O(rollout_list). O(command=rollout_stop)
    sends all traffic back to the live container, drains the rollout and stops its container. O(command=rollout) only
    reads. A O(command=boot) of the rollout's version promotes its container to live; a boot of another version
    ends the rollout first. A split change only writes a file the proxy reads at every request, without a reload.
  - Every result lists the Docker and proxy operations performed in RV(actions). In check mode they are the
    planned ones and nothing changes.
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.proxy_boot.app
  - kamal.deploy.container.registry
  - kamal.deploy.container.logs
  - kamal.deploy.container.audit
  - kamal.deploy.container.progress
  - kamal.deploy.route
requirements:
  - Docker SDK for Python (Debian C(python3-docker)) 5.0 or later on the server
options:
  command:
    description: The Kamal C(app) subcommand to run.
    type: str
    default: boot
    choices: [boot, start, stop, remove, details, containers, images, version, versions, logs, exec,
              stale_containers, prune, tag_latest, maintenance, live, rollout_deploy, rollout_set, rollout_stop, rollout,
              pull, assets]
  service:
    description: The Kamal C(service) name.
    type: str
    required: true
  role:
    description: The role whose containers are managed.
    type: str
    default: web
  destination:
    description: The destination (C(-d)), if any. It is part of the container names, labels and paths.
    type: str
  version:
    description:
      - The version to boot, start or exec, usually the git SHA the image was built from.
      - Defaults to C(latest) (C(latest-<destination>)), as C(kamal app boot) without C(--version).
    type: str
  image:
    description: The image repository with the registry, without a tag (C(<registry.server>/<image>)).
    type: str
  host:
    description:
      - The host name as written in deploy.yml. It is the value of C(KAMAL_HOST) and the start of the container
        hostname. Pass C(inventory_hostname).
      - Defaults to the server's own host name.
    type: str
  home:
    description: The directory C(.kamal) lives in, the SSH user's home by default (as Kamal).
    type: path
  network:
    description: The Docker network app containers join.
    type: str
    default: kamal
  env:
    description: Clear environment variables of the role on this host (root, role and tag envs merged).
    type: dict
    default: {}
  secret_env:
    description: Secret environment variables (name to value), written to the role's env file with mode 0600.
    type: dict
    default: {}
  logging:
    description:
      - C(driver) and C(options) of the role's logging (root and role merged).
      - C(max-size=10m) is added whenever the driver rotates files and no max-size is given.
    type: dict
    default: {}
  volumes:
    description: C(--volume) values for every app container.
    type: list
    elements: str
    default: []
  labels:
    description: Custom labels, added after C(service), C(role) and C(destination).
    type: dict
    default: {}
  options:
    description:
      - The role's C(options), as in deploy.yml. A key is a C(docker run) option without C(--), a list value
        repeats it and C(true) is a bare flag.
      - Options the Docker SDK cannot express fail with an error naming the option.
    type: dict
    default: {}
  cmd:
    description: The role's C(cmd), a string (split like a shell would) or a list.
    type: raw
  asset_path:
    description:
      - Kamal's asset bridging, for a role behind the proxy (O(proxy) set). The directory of the image that holds
        its assets (C(/rails/public/assets)), from the role's or the root C(asset_path) of deploy.yml.
      - A boot copies it out of the new image to C(.kamal/apps/<service>[-<destination>]/assets/extracted/<role>-<version>),
        adds the previous version's files to it and the new files to the previous version's directory (nothing is
        overwritten), and mounts C(.../assets/volumes/<role>-<version>) there. Pages of either version find their
        assets on every container while the proxy switches and after. Other versions' directories go once the old
        container stopped.
    type: str
  error_pages:
    description:
      - With O(command=boot), the app's own error pages (Kamal's C(error_pages_path)), file name (C(503.html))
        to content. They are written to C(.kamal/proxy/apps-config/<service>[-<destination>]/error_pages/<version>/)
        (the other versions' go once the old container stopped) and, for a role behind the proxy, the proxy answers
        the errors it makes for the route (502 when the app does not answer, 504, the 503 of maintenance with its
        message where the page says C({{ .Message }})) with them. A boot without them removes the route's pages.
      - Kamal's pages are Go templates; C({{ .Message }}), C({{ if .Message }}), C({{ else }}), C({{ end }}) and
        comments are rendered, anything else is refused.
    type: dict
  asset_path_options:
    description: The mount options of the asset volume (C(ro)), what follows the first C(:) of C(asset_path) in deploy.yml.
    type: str
  readiness_delay:
    description: Roles without the proxy and without a HEALTHCHECK pass when still running this many seconds after start.
    type: int
    default: 7
  deploy_timeout:
    description: Seconds a new container has to become healthy.
    type: int
    default: 30
  min_uptime:
    description:
      - Seconds the new container must run, without exiting or restarting, counted from its start (the time
        spent in the health check and stopping the old container counts). It is polled every 0.5 s and the
        boot fails as soon as the container exits or restarts.
      - With C(0) it is checked once, at the end of the boot. C(x-kamal-deploy.min_uptime) in deploy.yml.
    type: int
    default: 0
  drain_timeout:
    description: Seconds in-flight requests get to finish on the old container (proxied roles). Also the
      C(docker stop -t) of roles without the proxy.
    type: int
    default: 30
  stop_timeout:
    description: C(docker stop -t) for the old container. Without it, O(drain_timeout) for roles without the
      proxy and Docker's default for proxied roles (Kamal 2.12).
    type: int
  retain_containers:
    description: Stopped containers kept by O(command=prune), counted per service and destination.
    type: int
    default: 5
  pull:
    description: When to pull C(<image>:<version>). C(missing) pulls only when it is not on the server.
    type: str
    default: missing
    choices: [missing, always, never]
  registry:
    description:
      - The registry to log in to on the server before a pull (C(docker login), as C(kamal build pull) does). No login
        without a username, for a local registry (C(localhost:PORT)), or when the image is already on the server.
      - A failed login names the registry, the user and the host.
  check_service_label:
    description: Refuse an image without the label C(service=<service>), as Kamal does.
    type: bool
    default: true
  stop_stale:
    description: With O(command=boot), first stop running containers of the role other than the current one
      (C(kamal app stale_containers --stop), as C(kamal deploy) does).
    type: bool
    default: false
  tag_latest:
    description: With O(command=boot), tag the image C(latest[-<destination>]) after a successful boot.
    type: bool
    default: true
  remove_images:
    description: With O(command=remove), also remove the service's images. Kamal does this only when every role of the host is removed.
    type: bool
    default: false
  remove_app_directory:
    description: With O(command=remove), also remove C(.kamal/apps/<service>[-<destination>]) and the proxy's app config directory.
    type: bool
    default: false
  container_id:
    description: With O(command=logs), read this container instead of the current one.
    type: str
  exec_command:
    description: With O(command=exec), the command to run, a string (split like a shell would) or a list.
    type: raw
  exec_env:
    description: With O(command=exec), extra environment variables.
    type: dict
    default: {}
  reuse:
    description: With O(command=exec), run in the current running container (C(docker exec)) instead of a new one.
    type: bool
    default: false
  detach:
    description: With O(command=exec), start the new container and return at once (it is not removed).
    type: bool
    default: false
  exec_timeout:
    description: With O(command=exec), seconds to wait for the command in a new container.
    type: int
  raw:
    description:
      - With O(command=exec), also return the command's output byte for byte, base64-encoded (RV(stdout_b64)), as
        Kamal's C(app exec --raw) prints it. A new container's output is always read from its own streams, never
        its log driver, so binary output is exact either way.
    type: bool
    default: false
  stop:
    description: With O(command=stale_containers), stop them.
    type: bool
    default: false
  maintenance_message:
    description: With O(command=maintenance), the message of the 503 page (Kamal's C(--message)).
    type: str
  rollout_percent:
    description: With O(command=rollout_set), the percentage (0 to 100) of clients sent to the rollout target.
    type: int
    default: 0
  rollout_list:
    description:
      - With O(command=rollout_set), C(kamal-rollout) cookie values always sent to the rollout target (kamal-proxy's
        C(--list)), for instance your own account's.
    type: list
    elements: str
    default: []
  prune_only:
    description: With O(command=prune), prune only stopped containers or only unused images (C(kamal prune containers|images)).
    type: str
    choices: [containers, images]
  parallel_roles:
    description:
      - With O(command=boot), Kamal's C(boot.parallel_roles). The host's other roles boot in the same call, each in a
        thread of its own, at the same time as O(role). Each entry is that role's arguments, as this module takes
        them (C(role), C(env), C(cmd), C(proxy) ...); the call's host, home and command apply, and its secret values
        come from O(parallel_secrets).
      - With O(barrier) they start only once the new container of O(role) (the primary role) passed its health
        check, and not at all when it failed (Kamal's barrier). The proxy is ensured before (O(proxy_boot)) and the
        service pruned once after (O(prune)).
      - The result is O(role)'s with RV(parallel), one entry per role. A role that failed fails the call, naming
        it, and the others' results stay in RV(parallel).
    type: list
    elements: dict
  parallel_secrets:
    description: The secret values of the O(parallel_roles) entries, by role name (C(secret_env), and in C(proxy) the
      route's values the module does not log, its certificate and key and the basic auth hash), kept out of the
      entries so that Ansible masks them.
    type: dict
  barrier:
    description: With O(parallel_roles), O(role) is the primary role and the others wait for its healthy container.
    type: bool
    default: false
  prune:
    description:
      - With O(command=boot), prune after a successful boot in the same call (Kamal's C(prune all) after a deploy),
        removing stopped containers beyond O(retain_containers) for this service and destination, and unused images.
    type: bool
    default: false
  check_registry:
    description:
      - In check mode, when the version's image is not on the host, ask its registry whether it has it (through the
        engine, after the login) and fail as the pull would when it does not. The plan lists what it found in
        RV(image_plan).
      - The action sets it to false when the run builds and pushes (or delivers) the image before the boot.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check mode and return the planned operations without changing anything.
    support: full
  diff_mode:
    description: Returns the running container, image and live target before and after.
    support: full
notes:
  - Clear env values, labels, volumes and options get the values a container gets from Kamal's shell
    command line. C(${VAR}) is expanded from the server's environment, and control characters arrive
    escaped (a newline as the two characters C(\n)).
  - O(command=exec) without O(reuse) runs a new container named
    C(<service>-<role>[-<destination>]-exec-<version>-<6 hex>) and removes it afterwards. On a host that never booted
    the role, the role's env file is written first (Kamal fails there, kamal#1180).
seealso:
  - name: Kamal app commands
    description: The commands this module reimplements.
    link: https://kamal-deploy.org/docs/commands/app/
"""

EXAMPLES = r"""
- name: Boot version abc123 of the web role behind the proxy
  kamal.deploy.kamal_app:
    service: hey
    role: web
    version: abc123
    image: registry.example.com/hey
    host: "{{ inventory_hostname }}"
    env:
      RAILS_LOG_TO_STDOUT: "1"
    secret_env:
      RAILS_MASTER_KEY: "{{ rails_master_key }}"
    proxy:
      hosts: [hey.example.com]
      app_port: 3000
    stop_stale: true

- name: Boot the workers (no proxy), passing when still running after 5 s
  kamal.deploy.kamal_app:
    service: hey
    role: workers
    version: abc123
    image: registry.example.com/hey
    cmd: bin/jobs
    readiness_delay: 5

- name: Run a migration in a new container
  kamal.deploy.kamal_app:
    command: exec
    service: hey
    version: abc123
    image: registry.example.com/hey
    exec_command: [bin/rails, db:migrate]

- name: The last 20 log lines of the current container
  kamal.deploy.kamal_app:
    command: logs
    service: hey
    lines: 20

- name: Keep 3 stopped containers per service and destination
  kamal.deploy.kamal_app:
    command: prune
    service: hey
    image: registry.example.com/hey
    retain_containers: 3
"""

RETURN = r"""
actions:
  description: The Docker and proxy operations performed (in check mode, the planned ones).
  returned: always
  type: list
  elements: str
  sample: ["docker pull registry.example.com/hey:abc123", "docker run --detach --name hey-web-abc123 ...",
           "proxy switch hey-web to 172.18.0.5 (was 172.18.0.4)", "docker stop hey-web-0ff1ce"]
container:
  description: The container booted, started or stopped (name, id, image, status, version, ip, labels).
  returned: when a container is involved
  type: dict
version:
  description: The version booted, or the current running version (O(command=version)).
  returned: with O(command=boot) and O(command=version)
  type: str
old_version:
  description: The version that was running before the boot.
  returned: with O(command=boot)
  type: str
health:
  description: How the health check went (URL, probes, time waited, last status).
  returned: with O(command=boot) when a container was booted
  type: dict
uptime:
  description: The check at the end of the boot (O(min_uptime), seconds the new container was up, restarts).
  returned: with O(command=boot) when a container was booted
  type: dict
serving_version:
  description:
    - The version of the role running on the host after the boot. When a boot fails it is the previous
      version if it runs (again), or null when the role is not running on the host.
  returned: with O(command=boot), also when it fails
  type: str
proxy_boot:
  description:
    - What ensuring the proxy did before the boot (O(proxy_boot)); its operations are also the first RV(actions).
    - C(changed), C(actions), C(diff) and C(proxy) (the container, never its environment, and the routes), as
      C(kamal.deploy.kamal_proxy) with O(command=boot) returns them.
  returned: with O(command=boot) and O(proxy_boot)
  type: dict
parallel:
  description:
    - With O(parallel_roles), one entry per role booted in the call (O(role) first), each its own result (C(role),
      C(changed), C(version), C(old_version), C(serving_version), C(actions) ...) or, for a role that failed, C(failed)
      and C(msg).
  returned: with O(parallel_roles), also when it fails
  type: list
  elements: dict
role:
  description: The role booted.
  returned: with O(command=boot), also when it fails
  type: str
crash:
  description: How the new container was not up at the end of its boot (status, exit code, uptime, restarts).
  returned: when O(command=boot) failed that way
  type: dict
route:
  description: What the proxy backend did (route ensured, live target switched, drain).
  returned: for proxied roles
  type: dict
timings:
  description: Seconds spent in each phase of the boot (image, run, health, route, stop_old).
  returned: with O(command=boot)
  type: dict
  sample: {"image": 0.4, "run": 0.3, "health": 1.2, "route": 0.5, "stop_old": 0.4}
containers:
  description: Containers of the role (O(command=details)), service and destination (O(command=containers)) or versions (O(command=versions)).
  returned: with those commands
  type: list
  elements: dict
versions:
  description: Versions present as containers of the role, in any state.
  returned: with O(command=versions)
  type: list
  elements: str
images:
  description: Images of the repository.
  returned: with O(command=images)
  type: list
  elements: dict
lines:
  description: Log lines.
  returned: with O(command=logs)
  type: list
  elements: str
stale:
  description: Versions of running containers other than the current one.
  returned: with O(command=stale_containers)
  type: list
  elements: str
removed_containers:
  description: Containers removed by O(command=prune).
  returned: with O(command=prune)
  type: list
  elements: str
removed_images:
  description: Image tags removed by O(command=prune).
  returned: with O(command=prune)
  type: list
  elements: str
rc:
  description: Exit code of the command.
  returned: with O(command=exec)
  type: int
stdout:
  description: Output of the command.
  returned: with O(command=exec)
  type: str
stdout_b64:
  description: The command's output, byte for byte, base64-encoded.
  returned: with O(command=exec) and O(raw)
  type: str
stderr:
  description: Error output of the command.
  returned: with O(command=exec)
  type: str
rollout:
  description: The role's rollout on the host (C(version), C(container), C(ip), C(percent), C(list)), or null.
  returned: with O(command=details) for a proxied role and the rollout commands
  type: dict
split:
  description: The split in words (C(10%), C(0% and kamal-rollout=beta)).
  returned: with O(command=rollout_set)
  type: str
promoted:
  description: True when O(command=boot) made the rollout container of its version the live one.
  returned: with O(command=boot) when it promoted a rollout
  type: bool
image_plan:
  description:
    - In check mode, each image the call needs, whether it is on the host, would be pulled, and what its registry
      said (C(has it), or not asked when the run pushes it first).
  returned: in check mode, when an image is involved
  type: list
  elements: dict
image:
  description: The image pulled (C(<image>:<version>)).
  returned: with O(command=pull)
  type: str
image_id:
  description: Its ID on the host (null in check mode when it is not there yet).
  returned: with O(command=pull)
  type: str
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kamal.deploy.plugins.module_utils import _app, _audit, _container
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _logs
from ansible_collections.kamal.deploy.plugins.module_utils import _module
from ansible_collections.kamal.deploy.plugins.module_utils import _progress
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy_boot
from ansible_collections.kamal.deploy.plugins.module_utils import _registry
from ansible_collections.kamal.deploy.plugins.module_utils import _route
from ansible_collections.kamal.deploy.plugins.module_utils._module import run_module


# What the plan keeps out of parallel_roles' entries (it passes them in parallel_secrets, which is no_log).
PARALLEL_SECRETS = ("secret_env",)
PARALLEL_OPTIONS = ("parallel_roles", "parallel_secrets", "barrier")


class AppManager:
    """One host, one role (or, with parallel_roles, the roles of the host at once): builds the spec, connects,
    dispatches the command, shapes the result."""

    def __init__(self, module, role_spec=None):
        self.module = module
        params = dict(module.params)
        if not params.get("host"):
            params["host"] = socket.gethostname()
        self.params = params
        self.role_spec = role_spec or {}
        self.app = None
        self.apps = []

    def new_app(self, params):
        spec = _app.RoleSpec(params)
        client = _docker.connect()
        # Only a call that routes or boots the proxy pays for importing its backend.
        needs_proxy = spec.proxied or params.get("proxy_boot") or params["command"] in _app.PROXY_COMMANDS
        proxy = _container.proxy_backend() if needs_proxy else None
        # The call's progress (a long pull or wait, for the controller) comes from its first app: in a parallel
        # boot the roles pull the same image and wait together.
        progress = _progress.NONE
        if not self.apps:
            progress = self.progress = _progress.for_params(self.params, spec.home)
        app = _app.App(client, spec, check_mode=self.module.check_mode, proxy=proxy, sleep=progress.sleeping(time.sleep))
        app.progress = progress
        self.apps.append(app)
        return app

    progress = _progress.NONE

    def run(self):
        try:
            if self.params.get("parallel_roles"):
                return self.run_parallel()
            self.app = self.new_app(self.params)
            result = _app.run(self.app, self.params)
        finally:
            self.progress.close()
        for warning in (result.get("proxy_boot") or {}).pop("warnings", []):
            self.module.warn(warning)
        self.audit(self.app, self.params, result)
        return result

    def role_params(self, entry):
        """One entry of parallel_roles as the module's parameters: checked against the module's own spec, the
        call's host, command and home, and the role's secrets from parallel_secrets."""
        secrets = (self.params.get("parallel_secrets") or {}).get(entry.get("role")) or {}
        given = {k: v for k, v in entry.items() if k not in PARALLEL_SECRETS and k not in PARALLEL_OPTIONS}
        given.update(command="boot", host=self.params["host"], home=self.params.get("home"),
                     secret_env=secrets.get("secret_env") or {}, registry=self.params.get("registry"),
                     performer=self.params.get("performer"))
        if secrets.get("proxy") and isinstance(given.get("proxy"), dict):
            proxy = dict(given["proxy"])
            for key, value in secrets["proxy"].items():
                proxy[key] = dict(proxy.get(key) or {}, **value) if isinstance(value, dict) else value
            given["proxy"] = proxy
        validated = ArgumentSpecValidator(self.role_spec).validate(given)
        if validated.error_messages:
            raise _app.AppError("parallel_roles: role %s: %s" % (entry.get("role"), "; ".join(validated.error_messages)))
        return validated.validated_parameters

    def run_parallel(self):
        """boot.parallel_roles: this call's role and the host's others boot at once (module_utils/_app.boot_parallel)."""
        if self.params["command"] != "boot":
            raise _app.AppError("parallel_roles is for command=boot only")
        params_list = [{k: v for k, v in self.params.items() if k not in PARALLEL_OPTIONS}]
        params_list += [self.role_params(entry) for entry in self.params["parallel_roles"]]
        for params in params_list:
            self.new_app(params)
        self.app = self.apps[0]
        outcomes, proxy_booted, pruned = _app.boot_parallel(self.apps, params_list, barrier=self.params.get("barrier"))
        roles, failures = [], []
        for app, (params, result, error) in zip(self.apps, outcomes):
            if error is not None:
                details = _module.failure(error, "kamal_app boot of role %s" % app.spec.role, app.actions)
                details.pop("exception", None)
                entry = dict(details, role=app.spec.role, failed=True, changed=app.changed)
                failures.append("%s: %s" % (app.spec.role, details["msg"]))
            else:
                self.audit(app, params, result)
                entry = dict(result, role=app.spec.role)
                entry.pop("diff", None)
            entry.setdefault("serving_version", None)
            roles.append(entry)
        main = roles[0]
        result = {k: v for k, v in main.items() if k not in ("failed", "msg")}
        result.update(parallel=roles, role=self.app.spec.role,
                      changed=any(r.get("changed") for r in roles) or bool((proxy_booted or {}).get("changed")),
                      actions=[a for app in self.apps for a in app.actions])
        if proxy_booted is not None:
            for warning in proxy_booted.pop("warnings", []):
                self.module.warn(warning)
            result["proxy_boot"] = proxy_booted
        if pruned is not None:
            result["pruned"] = {"containers": pruned["removed_containers"], "images": pruned["removed_images"]}
        if failures:
            raise _app.AppError("; ".join(failures), **result)
        return result

    def actions(self):
        """What was done so far (also reported when the module fails half-way)."""
        return [a for app in self.apps for a in app.actions]

    def doing(self):
        p = self.params
        return "kamal_app %s of %s role %s on %s" % (p["command"], p["service"], p["role"], p["host"])

    def audit(self, app, params, result):
        """Kamal's audit line on this host for what changed; secret values never reach it."""
        message = _app.audit_message(params["command"], params, result)
        if message and params.get("audit", True):
            result["audit"] = app.record_audit([message], params.get("performer"), app.spec.role)[0]


def main():
    role_spec = dict(
        command=dict(type="str", default="boot", choices=list(_app.COMMANDS)),
        service=dict(type="str", required=True),
        role=dict(type="str", default="web"),
        destination=dict(type="str"),
        version=dict(type="str"),
        image=dict(type="str"),
        host=dict(type="str"),
        home=dict(type="path"),
        network=dict(type="str", default="kamal"),
        env=dict(type="dict", default={}),
        secret_env=dict(type="dict", default={}, no_log=True),
        logging=dict(type="dict", default={}),
        volumes=dict(type="list", elements="str", default=[]),
        labels=dict(type="dict", default={}),
        options=dict(type="dict", default={}),
        cmd=dict(type="raw"),
        asset_path=dict(type="str"),
        asset_path_options=dict(type="str"),
        error_pages=dict(type="dict"),
        proxy=_route.app_option_spec(),
        readiness_delay=dict(type="int", default=7),
        deploy_timeout=dict(type="int", default=30),
        min_uptime=dict(type="int", default=0),
        drain_timeout=dict(type="int", default=30),
        stop_timeout=dict(type="int"),
        retain_containers=dict(type="int", default=5),
        pull=dict(type="str", default="missing", choices=["missing", "always", "never"]),
        registry=_registry.option_spec(),
        check_service_label=dict(type="bool", default=True),
        stop_stale=dict(type="bool", default=False),
        tag_latest=dict(type="bool", default=True),
        remove_images=dict(type="bool", default=False),
        remove_app_directory=dict(type="bool", default=False),
        **_logs.option_spec(),
        container_id=dict(type="str"),
        exec_command=dict(type="raw"),
        exec_env=dict(type="dict", default={}),
        reuse=dict(type="bool", default=False),
        detach=dict(type="bool", default=False),
        exec_timeout=dict(type="int"),
        raw=dict(type="bool", default=False),
        stop=dict(type="bool", default=False),
        maintenance_message=dict(type="str"),
        rollout_percent=dict(type="int", default=0),
        rollout_list=dict(type="list", elements="str", default=[]),
        prune_only=dict(type="str", choices=["containers", "images"]),
        **_audit.option_spec(),
        prune=dict(type="bool", default=False),
        proxy_boot=_proxy_boot.app_option_spec(),
        check_registry=dict(type="bool", default=True),
        **_progress.option_spec(),
    )
    argument_spec = dict(
        role_spec,
        parallel_roles=dict(type="list", elements="dict"),
        parallel_secrets=dict(type="dict", no_log=True),
        barrier=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("command", "boot", ("image",)), ("command", "rollout_deploy", ("image",)), ("command", "pull", ("image",)),
                     ("command", "assets", ("image",)), ("command", "exec", ("image", "exec_command")),
                     ("command", "images", ("image",)), ("command", "tag_latest", ("image",))],
    )
    if not _docker.HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker", url=_docker.DOCKER_LIBRARY_URL),
                         exception=_docker.DOCKER_IMPORT_ERROR)
    manager = AppManager(module, role_spec)
    run_module(module, manager.run, manager.doing(), manager.actions)


if __name__ == "__main__":
    main()
