#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kamal_proxy
short_description: Run kamal.deploy's proxy (Caddy and dnsmasq) on a server and manage its routes
version_added: 0.1.0
description:
  - Runs the C(kamal-proxy) container (Caddy 2.11 with dnsmasq beside it) on the C(kamal) network,
    publishing ports 80 and 443, with Caddy's admin API on a unix socket under C(~/.kamal/proxy/run) (never TCP).
  - Every route sends traffic to a DNS name that only the proxy's dnsmasq answers. Switching a route to another
    container, maintenance mode and going live again change that answer, never Caddy's configuration, so no
    request is lost to a reload. Caddy's configuration changes only when a route itself changes.
  - The Caddy configuration is kept in C(~/.kamal/proxy/caddy.json), so routes survive a proxy restart and a
    server reboot. Several services share one proxy; each only touches its own routes.
  - A container named C(kamal-proxy) that this collection did not create (for example Kamal's own proxy) is
    never replaced unless O(takeover=true).
author: kamal.deploy developers (@kamal-deploy)
extends_documentation_fragment:
  - kamal.deploy.proxy_boot
  - kamal.deploy.container.logs
  - kamal.deploy.container.audit
  - kamal.deploy.route.named
requirements:
  - Docker SDK for Python (Debian package C(python3-docker), 5.0.3 or later) on the server
options:
  command:
    description:
      - V(boot) makes sure the proxy runs (starts it when stopped, runs it when missing); like C(kamal proxy boot),
        an existing container is not recreated, a warning says when its image or run options differ.
      - V(reboot) replaces the container (C(kamal proxy reboot)); routes come back from the saved configuration.
      - V(start), V(stop) and V(restart) start, stop, or stop then start the existing container (C(kamal proxy start),
        C(stop), C(restart)); every app it routes stops answering on the host while it is stopped.
      - V(remove) removes the container and C(~/.kamal/proxy); refused while apps are installed unless O(force=true).
      - V(details) and V(logs) only read.
      - V(route) makes the route O(route) exist and, with O(target), switches it to that container and drains the old one.
      - V(remove_route), V(maintenance) and V(live) act on the route O(name).
    type: str
    default: boot
    choices: [boot, reboot, start, stop, restart, remove, details, logs, route, remove_route, maintenance, live]
  home:
    description: Home directory of the deploy user on the server; C(.kamal/proxy) lives there. Defaults to the remote user's home.
    type: path
  service:
    description:
      - The service this run deploys; with it, O(command=reboot), O(command=start), O(command=stop) and O(command=remove)
        append Kamal's audit line (C(Rebooted proxy), C(Started proxy), C(Stopped proxy), C(Removed proxy container)) to
        that service's audit log, as C(kamal proxy) does.
    type: str
  destination:
    description: The destination of O(service) (its audit log is C(<service>-<destination>-audit.log)).
    type: str
  force:
    description: With O(command=remove), remove the proxy even though apps are installed (C(kamal proxy remove --force)).
    type: bool
    default: false
  keep_in_use:
    description:
      - With O(command=remove), leave the proxy in place when apps are still installed (C(changed=false), a warning
        names them) instead of failing; what C(kamal remove) does after removing its own app.
    type: bool
    default: false
  name:
    description: Route name for O(command=remove_route), O(command=maintenance) and O(command=live).
    type: str
  target:
    description:
      - With O(command=route), the container (name, or its IP on the C(kamal) network) the route sends traffic to.
        The old target is drained (see O(drain_timeout)); stopping it is the caller's business.
    type: str
  drain_timeout:
    description: Seconds to wait for requests in flight to the old target after a switch.
    type: int
    default: 30
  maintenance_message:
    description: Message of the 503 page in maintenance mode (Kamal's C(app maintenance --message)).
    type: str
notes:
  - Check mode and diff mode are exact; RV(actions) lists the Docker operations performed or, in check mode, planned.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

EXAMPLES = r"""
- name: Boot the proxy, building its image on the server
  kamal.deploy.kamal_proxy:
    command: boot
    dockerfile: "{{ lookup('ansible.builtin.file', 'Dockerfile') }}"
    run:
      log_max_size: 30m

- name: Route app.example.com to the web role, with TLS from Let's Encrypt
  kamal.deploy.kamal_proxy:
    command: route
    route:
      name: app-web
      hosts: [app.example.com]
      tls: true
      app_port: 3000
    target: app-web-6ef8a6a84c525b123c5245345a8483f86d05a123

- name: Maintenance mode
  kamal.deploy.kamal_proxy:
    command: maintenance
    name: app-web
    maintenance_message: Back in ten minutes

- name: Live again
  kamal.deploy.kamal_proxy:
    command: live
    name: app-web
"""

RETURN = r"""
actions:
  description: Docker and proxy operations performed (in check mode, planned).
  returned: always
  type: list
  elements: str
  sample: ["create network kamal", "pull image kamal-deploy/proxy:2.11", "run container kamal-proxy (kamal-deploy/proxy:2.11)"]
proxy:
  description: The proxy container (never its environment) and the routes with their live state.
  returned: when command is boot, reboot, remove or details
  type: dict
route:
  description: The route as stored (normalized; a custom certificate appears as its fingerprint).
  returned: when command is route
  type: dict
switch:
  description: The target switch (C(before), C(after) addresses) and, when an old target existed, its drain result.
  returned: when command is route and target is given
  type: dict
audit:
  description: The lines appended to O(service)'s audit log (in check mode, the lines that would be).
  returned: when O(service) is set and O(command=reboot) or O(command=remove) changed something
  type: list
  elements: str
lines:
  description: Log lines of the proxy container.
  returned: when command is logs
  type: list
  elements: str
logs:
  description: The same as RV(lines), the name this result had first.
  returned: when command is logs
  type: list
  elements: str
"""

import ipaddress
import os
import pwd

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kamal.deploy.plugins.module_utils import _audit
from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _logs
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy_boot
from ansible_collections.kamal.deploy.plugins.module_utils import _route
from ansible_collections.kamal.deploy.plugins.module_utils._module import run_module


class KamalProxyManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.home = self.params["home"] or os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        self.results = {"changed": False, "actions": []}
        self.container = None

    def actions(self):
        """What was done so far (also reported when the module fails half-way)."""
        return list(self.container.actions if self.container else []) + list(self.results["actions"])

    def client(self):
        if not _docker.HAS_DOCKER:
            self.module.fail_json(msg=missing_required_lib(_docker.DOCKER_LIBRARY, url=_docker.DOCKER_LIBRARY_URL),
                                  exception=_docker.DOCKER_IMPORT_ERROR)
        return _docker.connect()

    def run(self):
        command = self.params["command"]
        if command in ("boot", "reboot", "remove", "details", "logs", "start", "stop"):
            self.container_command(command)
        elif command == "restart":
            # Kamal's proxy restart: stop, then start.
            self.container_command("stop")
            self.container_command("start")
        elif command == "route":
            self.route()
        elif command == "remove_route":
            self.simple(_proxy.remove_route(self.home, self.params["name"], self.check_mode),
                        "remove route %s" % self.params["name"])
        elif command == "maintenance":
            result = _proxy.maintenance(self.home, self.params["name"], self.params["maintenance_message"], self.check_mode)
            self.simple(result, "route %s: DNS answer -> maintenance page" % self.params["name"])
        elif command == "live":
            result = _proxy.live(self.home, self.params["name"], self.check_mode)
            self.simple(result, "route %s: DNS answer -> %s" % (self.params["name"], result.get("target")))
        return self.results

    def simple(self, result, action):
        self.results["changed"] = result["changed"]
        if result["changed"]:
            self.results["actions"].append(action)
        diff = result.get("diff") or {"before": result.get("before"), "after": result.get("after")}
        self.results["diff"] = diff
        for key in ("wait", "target"):
            if key in result:
                self.results[key] = result[key]

    def container_command(self, command):
        manager = self.container = _proxy.ProxyContainer(self.client(), self.home, self.check_mode)
        p = self.params
        if command == "details":
            self.results["proxy"] = manager.describe()
            return
        if command == "logs":
            self.results["lines"] = self.results["logs"] = manager.logs(p["lines"], p["since"], p["grep"], p["timestamps"])
            return
        if command == "remove":
            result = manager.remove(force=p["force"], keep_in_use=p["keep_in_use"])
        elif command in ("start", "stop"):
            result = manager.start() if command == "start" else manager.stop()
        else:
            method = manager.boot if command == "boot" else manager.reboot
            result = method(**_proxy_boot.boot_args(p, self.home))
        for warning in result.pop("warnings"):
            self.module.warn(warning)
        changed, earlier = self.results.get("changed"), list(self.results.get("actions") or [])
        self.results.update(result)
        # restart is stop then start: the two calls' operations and changes add up.
        self.results["changed"] = bool(changed or result["changed"])
        self.results["actions"] = earlier + list(result["actions"])
        messages = _proxy.audit_messages(command, result)
        if messages and p["service"] and p["audit"]:
            self.results["audit"] = _audit.record_all(self.home, p["service"], messages, p["performer"],
                                                      destination=p["destination"], check_mode=self.check_mode)

    def route(self):
        route = _route.route(self.params["route"]["name"], self.params["route"])
        result = _proxy.ensure_route(self.home, route, self.check_mode)
        name = result["diff"]["after"]["name"]
        self.results.update(changed=result["changed"], diff=result["diff"], route=result["diff"]["after"])
        if result["changed"]:
            self.results["actions"].append("load Caddy config (route %s)" % name)
        target = self.params["target"]
        if not target:
            return
        ip, container = self.resolve_target(target)
        old = _proxy.live_target(self.home, name)
        switch = _proxy.switch_live_target(self.home, name, ip, self.check_mode, container=container)
        if switch["changed"]:
            self.results["changed"] = True
            self.results["actions"].append("route %s: DNS answer %s -> %s" % (name, old, ip))
            if old and old != ip and self.params["drain_timeout"] and not self.check_mode:
                address = "%s:%d" % (old, result["diff"]["after"]["app_port"])
                switch["drain"] = _proxy.drain(self.home, address, self.params["drain_timeout"])
                self.results["actions"].append("drain %s (%.2f s)" % (address, switch["drain"]["waited"]))
        self.results["switch"] = switch
        self.results["diff"] = {"before": dict(self.results["diff"]["before"] or {}, target=switch["before"]),
                                "after": dict(self.results["diff"]["after"], target=switch["after"])}

    def resolve_target(self, target):
        try:
            return str(ipaddress.IPv4Address(target)), None
        except ValueError:
            pass
        container = _docker.find_container(self.client(), target)
        if container is None:
            raise _proxy.ProxyError("target container %s does not exist on this host" % target)
        ip = _docker.container_ip(container, _proxy.NETWORK)
        if not ip:
            raise _proxy.ProxyError("target container %s is not running on the %s network (state %s)" % (
                target, _proxy.NETWORK, _docker.container_state(container)))
        return ip, container.id[:12]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="str", default="boot",
                         choices=["boot", "reboot", "start", "stop", "restart", "remove", "details", "logs", "route",
                                  "remove_route", "maintenance", "live"]),
            home=dict(type="path"),
            **_proxy_boot.option_spec(),
            force=dict(type="bool", default=False),
            keep_in_use=dict(type="bool", default=False),
            route=_route.named_option_spec(),
            name=dict(type="str"),
            target=dict(type="str"),
            drain_timeout=dict(type="int", default=30),
            maintenance_message=dict(type="str"),
            **_logs.option_spec(),
            service=dict(type="str"),
            destination=dict(type="str"),
            **_audit.option_spec(),
        ),
        required_if=[
            ("command", "route", ["route"]),
            ("command", "remove_route", ["name"]),
            ("command", "maintenance", ["name"]),
            ("command", "live", ["name"]),
        ],
        supports_check_mode=True,
    )
    manager = KamalProxyManager(module)
    run_module(module, manager.run, "kamal_proxy %s on this host" % module.params["command"], manager.actions)


if __name__ == "__main__":
    main()
