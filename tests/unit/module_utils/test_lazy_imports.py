# -*- coding: utf-8 -*-
"""A module call imports only what its command uses: the proxy backend (its socket I/O, the DNS flip, drains) only
for a call that routes or boots the proxy, the health prober only for a boot that starts a container. Each case
runs in a fresh interpreter, as a module call on a server does. (Caddy's pure config builder, _caddy, is not
asserted: _route may read its defaults.)"""
import json
import os
import subprocess
import sys

import pytest


MU = "ansible_collections.kamal.deploy.plugins.module_utils."


def loaded_after(code):
    """The kamal.deploy module_utils loaded after running ``code`` in a new interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(k[len(%r):] for k in sys.modules if k.startswith(%r))))" % (MU, MU)
    out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                         check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("module", ["kamal_app", "kamal_accessory"])
def test_importing_the_module_loads_neither_the_proxy_backend_nor_the_prober(module):
    loaded = loaded_after("import ansible_collections.kamal.deploy.plugins.modules.%s" % module)
    assert {"_proxy", "_health"}.isdisjoint(loaded), loaded
    assert "_container" in loaded


def test_the_accessory_manager_does_not_load_the_app_manager():
    assert "_app" not in loaded_after("from ansible_collections.kamal.deploy.plugins.module_utils import _accessory")


def test_the_backend_and_the_prober_load_when_a_call_needs_them():
    loaded = loaded_after("from ansible_collections.kamal.deploy.plugins.module_utils import _app, _container\n"
                          "assert _container.proxy_backend() is not None\n_app.health()")
    assert {"_proxy", "_caddy", "_health"} <= loaded
