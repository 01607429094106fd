# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy's boot options (spec: ``plugins/module_utils/_proxy_boot.py``), documented once.

kamal_proxy has them as its own options (C(kamal.deploy.proxy_boot)), kamal_app as the suboptions of
O(proxy_boot) (C(kamal.deploy.proxy_boot.app)). The second section is made from the first, so the text exists
once; tests/unit/module_utils/test_app_proxy_boot.py checks that both describe exactly the one spec.
"""

from __future__ import annotations


class ModuleDocFragment:
    # kamal_proxy: extends_documentation_fragment: kamal.deploy.proxy_boot
    DOCUMENTATION = r"""
options:
  image:
    description:
      - Proxy image. Pulled when missing, unless O(dockerfile) is given, then built on the server under this tag.
    type: str
    default: kamal-deploy/proxy:2.11
  dockerfile:
    description:
      - Text of the proxy's Dockerfile (the collection ships it as C(roles/proxy/files/Dockerfile)). The image is
        built on the server (no build context) when missing or when this text or O(build_args) changed.
    type: str
  build_args:
    description: Build arguments for O(dockerfile); C(BASE) defaults to C(caddy:2.11-alpine).
    type: dict
  run:
    description: Kamal's C(proxy.run) settings.
    type: dict
    suboptions:
      http_port:
        description: Host port published for port 80.
        type: int
      https_port:
        description: Host port published for port 443.
        type: int
      bind_ips:
        description: Publish on these addresses only (one pair of ports per address).
        type: list
        elements: str
      publish:
        description: Publish ports at all.
        type: bool
        default: true
      log_max_size:
        description: Docker log rotation size of the proxy container.
        type: str
        default: 10m
      metrics_port:
        description: Serve Caddy's Prometheus metrics on this port inside the C(kamal) network.
        type: int
      debug:
        description: Debug logging in Caddy.
        type: bool
        default: false
      http3:
        description:
          - Serve HTTP/3 (QUIC) next to HTTP/1.1 and HTTP/2 on the HTTPS port, publishing it over UDP as well
            (kamal-proxy's C(run --http3)). Off, the proxy advertises no HTTP/3.
          - Kamal has no key for it; deploy.yml sets it under C(x-kamal-deploy.proxy.run.http3). Publishing the UDP
            port needs a proxy reboot (a boot does not recreate a running proxy).
        type: bool
        default: false
      options:
        description:
          - Extra C(docker run) options as Kamal writes them (C(memory), C(cpus), C(label), C(sysctl), C(add-host),
            C(dns), C(ulimit), C(log-opt), ...). Unsupported keys fail with the list of supported ones.
        type: dict
  acme:
    description: ACME issuer for hosts with automatic TLS. Without it Caddy uses its defaults (Let's Encrypt, ZeroSSL).
    type: dict
    suboptions:
      ca:
        description: ACME directory URL (for example a Pebble test server).
        type: str
      email:
        description: Account e-mail.
        type: str
      ca_root_pem:
        description: PEM of a root Caddy must trust to talk to O(acme.ca).
        type: str
  takeover:
    description:
      - Take over a C(kamal-proxy) container this collection did not create (Kamal's). The routes in its state file
        (every service it serves) are recreated in this proxy first, then it is stopped and renamed
        C(kamal-proxy_replaced_<hex>) and this proxy starts in its place. In check mode the routes that would move
        are listed in the actions.
    type: bool
    default: false
"""


def _app_section(documentation):
    """kamal_app's section: kamal_proxy's options as the suboptions of proxy_boot (a reference to a sibling
    option, O(x), becomes O(proxy_boot.x))."""
    options = documentation.split("options:\n", 1)[1].replace("O(", "O(proxy_boot.")
    return """
options:
  proxy_boot:
    description:
      - With O(command=boot), ensure the proxy on this host first, in the same call, exactly as
        C(kamal.deploy.kamal_proxy) with O(command=boot) does with these options (C(kamal proxy boot) before
        C(kamal app boot)). The proxy's operations come first in RV(actions) and count in C(changed).
      - Leave unset on hosts that do not run the proxy.
    type: dict
    suboptions:
""" + "".join(("    " + line if line.strip() else line) + "\n" for line in options.rstrip("\n").split("\n"))


# kamal_app: extends_documentation_fragment: kamal.deploy.proxy_boot.app. Set after the class body because
# ansible-test's yamllint reads only literal strings there (ansible-doc and validate-modules load this one too).
ModuleDocFragment.APP = _app_section(ModuleDocFragment.DOCUMENTATION)
