# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The arguments of the proxy's boot, defined once: kamal_proxy takes them as its own options (``command=boot``
and ``reboot``), kamal_app as the suboptions of ``proxy_boot`` (the proxy ensured inside the app's boot call,
without a remote call of its own). Documented once too: ``doc_fragments/proxy_boot.py``.

Light on purpose (no Docker, no Caddy): a module builds its argument spec from here before it knows whether
its command needs the proxy at all.
"""

from __future__ import annotations

DEFAULT_IMAGE = "kamal-deploy/proxy:2.11"


def option_spec():
    """kamal_proxy's boot options (also its reboot's)."""
    return dict(
        image=dict(type="str", default=DEFAULT_IMAGE),
        dockerfile=dict(type="str"),
        build_args=dict(type="dict"),
        run=dict(type="dict", options=dict(
            http_port=dict(type="int"),
            https_port=dict(type="int"),
            bind_ips=dict(type="list", elements="str"),
            publish=dict(type="bool", default=True),
            log_max_size=dict(type="str", default="10m"),
            metrics_port=dict(type="int"),
            debug=dict(type="bool", default=False),
            http3=dict(type="bool", default=False),
            options=dict(type="dict"),
        )),
        acme=dict(type="dict", options=dict(
            ca=dict(type="str"),
            email=dict(type="str"),
            ca_root_pem=dict(type="str"),
        )),
        takeover=dict(type="bool", default=False),
    )


def app_option_spec():
    """kamal_app's ``proxy_boot``: the same options, as one dict."""
    return dict(type="dict", options=option_spec())


def boot_args(params):
    """The keyword arguments of ``_proxy.ProxyContainer.boot``/``reboot`` from a module's parameters."""
    return {key: params.get(key) for key in option_spec()}
