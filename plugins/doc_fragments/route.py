# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy route's suboptions, the documentation of ``plugins/module_utils/_route.py``'s spec.

The modules name the option differently (kamal_app and kamal_accessory C(proxy), kamal_proxy C(route)) and a
fragment can only document a whole option, so each option has its section here: the suboptions are written once,
in kamal_app's, and the other two sections are made from it. tests/unit/module_utils/test_route.py checks that
they match the spec (ansible-test's validate-modules checks each module's docs against its argspec).
"""

from __future__ import annotations


class ModuleDocFragment:
    # kamal_app's option proxy: extends_documentation_fragment: kamal.deploy.route
    DOCUMENTATION = r"""
options:
  proxy:
    description:
      - The role's effective proxy settings. Leave unset for roles that do not run the proxy.
      - Passed to the proxy backend as the route of C(<service>-<role>[-<destination>]).
    type: dict
    suboptions:
      hosts:
        description: Exact host names of the route. None makes a catch-all route.
        type: list
        elements: str
      path_prefixes:
        description: Path prefixes of the route (C(/api) matches C(/api) and C(/api/...)). None matches every path.
        type: list
        elements: str
      strip_path_prefix:
        description: Strip the matched prefix before passing the request on. Unset means true.
        type: bool
      app_port:
        description: The port the app listens on inside its container. Unset means 80.
        type: int
      tls:
        description:
          - Serve the route over HTTPS, with a certificate Caddy obtains and renews by ACME (needs C(hosts)),
            or the custom one in C(tls_certificate_pem). Unset means false.
        type: bool
      tls_certificate_pem:
        description:
          - A custom certificate (PEM) instead of an ACME one, written with mode 0600 under C(~/.kamal/proxy/tls).
          - Needs C(tls_private_key_pem). Never logged.
        type: str
      tls_private_key_pem:
        description: The private key (PEM) of the certificate in C(tls_certificate_pem). Never logged.
        type: str
      ssl_redirect:
        description: Redirect HTTP to HTTPS when TLS is on. Unset means true.
        type: bool
      forward_headers:
        description: Trust incoming C(X-Forwarded-*) headers. Unset means trust them only when TLS is off (Kamal's default).
        type: bool
      response_timeout:
        description: Seconds to wait for the app's response headers. Unset means 30 (Kamal's default).
        type: int
      buffering:
        description: Request and response buffering. Unset suboptions get Kamal's defaults.
        type: dict
        suboptions:
          requests:
            description: Buffer request bodies. Unset means true.
            type: bool
          responses:
            description: Buffer response bodies. Unset means true.
            type: bool
          memory:
            description: Bytes buffered in memory. Unset means 1000000.
            type: int
          max_request_body:
            description: Largest request body in bytes. Unset or 0 means no limit.
            type: int
          max_response_body:
            description: Largest response body in bytes (not enforced by Caddy). Unset or 0 means no limit.
            type: int
      healthcheck:
        description: The health check a new container must pass before the route moves to it.
        type: dict
        suboptions:
          path:
            description: The health path. Unset means C(/up).
            type: str
          interval:
            description: Seconds between probes. Unset means 1.
            type: int
          timeout:
            description: Seconds one probe may take. Unset means 5.
            type: int
          port:
            description:
              - The port the health path is probed on, when the app answers it on another port than C(app_port)
                (kamal-proxy's C(--health-check-port)). Unset means the app port.
              - Kamal has no key for it; deploy.yml sets it under C(x-kamal-deploy.proxy.healthcheck.port).
            type: int
      log_request_headers:
        description:
          - Request headers written to the access log. An empty list logs none.
          - Unset means C(Cache-Control), C(Last-Modified) and C(User-Agent) (Kamal's default).
        type: list
        elements: str
      log_response_headers:
        description: Response headers written to the access log.
        type: list
        elements: str
      basic_auth:
        description:
          - HTTP basic authentication in front of the route; the proxy answers 401 without the right user and password.
          - deploy.yml sets it under C(x-kamal-deploy.proxy.basic_auth) with the password's secret name; the plan hashes
            the secret on the controller, so the password never reaches a server and is never logged.
        type: dict
        suboptions:
          username:
            description: The user name.
            type: str
          password_hash:
            description:
              - The password's argon2id (or bcrypt) hash, as C(caddy hash-password --algorithm argon2id) prints it.
              - Kept in a 0600 file under C(~/.kamal/proxy/auth); diffs and results show its fingerprint. Never logged.
            type: str
      client_ip:
        description:
          - Take the client's address from a header set by a proxy in front (Cloudflare's C(CF-Connecting-IP), a load
            balancer's C(X-Real-IP)), only for requests from C(trusted_proxies).
          - The app then gets that address alone as C(X-Forwarded-For) (the peer's address for other requests), and
            the access log records it as C(client_ip). deploy.yml sets it under C(x-kamal-deploy.proxy.client_ip).
        type: dict
        suboptions:
          header:
            description: The header that holds the client's address.
            type: str
          trusted_proxies:
            description: The addresses or CIDR ranges of the proxies allowed to set the header.
            type: list
            elements: str
"""


def _section(option, description, extra=""):
    """Another module's section: the same suboptions as kamal_app's ``proxy`` (``extra``: suboptions first)."""
    suboptions = ModuleDocFragment.DOCUMENTATION.split("    suboptions:\n", 1)[1]
    return ("\noptions:\n  %s:\n    description:\n      - %s\n    type: dict\n    suboptions:\n%s%s"
            % (option, description, extra, suboptions))


# kamal_accessory's option proxy (kamal.deploy.route.accessory) and kamal_proxy's option route
# (kamal.deploy.route.named): made from the text above, so it exists once. Set after the class body because
# ansible-test's yamllint reads only literal strings there (ansible-doc and validate-modules load these too).
ModuleDocFragment.ACCESSORY = _section(
    "proxy", "The accessory's proxy settings; the container is registered with the proxy under its name.")
ModuleDocFragment.NAMED = _section(
    "route", "The route for O(command=route), with Kamal's proxy semantics.",
    "      name:\n        description: Route name, C(<service>-<role>[-<destination>]).\n        type: str\n"
    "        required: true\n")
