# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of a proxy route on the module side: its argument spec and the route it becomes.

kamal_app (option ``proxy``), kamal_accessory (option ``proxy``) and kamal_proxy (option ``route``) take
the same suboptions, documented once per option name in ``doc_fragments/route.py``.

The spec carries no defaults: an unset suboption stays ``None`` and ``_caddy.normalize_route`` fills in
Kamal's default, so the defaults live in one place (``_caddy``) and every module gets the same ones.
"""

from __future__ import annotations

import copy
import hashlib

# Suboptions of a route, as kamal_app has always named them (the roles pass these keys).
ROUTE_OPTIONS = dict(
    hosts=dict(type="list", elements="str"),
    path_prefixes=dict(type="list", elements="str"),
    strip_path_prefix=dict(type="bool"),
    app_port=dict(type="int"),
    tls=dict(type="bool"),
    # A certificate is not secret, but a key pasted into the wrong option would be logged: hide both.
    tls_certificate_pem=dict(type="str", no_log=True),
    tls_private_key_pem=dict(type="str", no_log=True),
    ssl_redirect=dict(type="bool"),
    forward_headers=dict(type="bool"),
    response_timeout=dict(type="int"),
    buffering=dict(type="dict", options=dict(
        requests=dict(type="bool"),
        responses=dict(type="bool"),
        memory=dict(type="int"),
        max_request_body=dict(type="int"),
        max_response_body=dict(type="int"),
    )),
    healthcheck=dict(type="dict", options=dict(
        path=dict(type="str"),
        interval=dict(type="int"),
        timeout=dict(type="int"),
    )),
    log_request_headers=dict(type="list", elements="str"),
    log_response_headers=dict(type="list", elements="str"),
)
ROUTE_KEYS = tuple(ROUTE_OPTIONS)
# What never leaves the server as it is: the keys the modules do not log.
SECRET_KEYS = tuple(key for key, option in ROUTE_OPTIONS.items() if option.get("no_log"))

# kamal_proxy names the route itself; the other modules derive the name from the service.
NAME_OPTION = dict(name=dict(type="str", required=True))


def _option(options):
    return dict(type="dict", options=copy.deepcopy(options))


def app_option_spec():
    """kamal_app's ``proxy``."""
    return _option(ROUTE_OPTIONS)


def accessory_option_spec():
    """kamal_accessory's ``proxy``: the same route (the plan makes it from the accessory's deploy.yml section)."""
    return _option(ROUTE_OPTIONS)


def named_option_spec():
    """kamal_proxy's ``route``: the route and its name."""
    return _option(dict(NAME_OPTION, **ROUTE_OPTIONS))


def route(name, option):
    """The route ``_proxy.ensure_route`` takes (``_caddy.normalize_route`` checks it and fills the defaults).

    ``option`` is a module's validated route option; unset values stay None."""
    option = option or {}
    result = {"name": name}
    for key in ROUTE_KEYS:
        result[key] = copy.deepcopy(option.get(key))  # the module's params stay untouched
    return result


def public(route):
    """The route with its secrets as digests (``sha256:<16 hex>``): for labels and diffs, which anyone may read."""
    shown = dict(route)
    for key in SECRET_KEYS:
        if shown.get(key):
            shown[key] = "sha256:" + hashlib.sha256(str(shown[key]).encode("utf-8")).hexdigest()[:16]
    return shown
