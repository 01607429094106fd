# -*- coding: utf-8 -*-
"""kamal_app's proxy_boot: the proxy ensured inside the app's boot call, through the proxy backend's own boot
(module_utils/_proxy.py ProxyContainer, faked here), its operations and changes reported with the boot's."""
import yaml

from ansible_collections.kamal.deploy.plugins.doc_fragments import proxy_boot as fragment
from ansible_collections.kamal.deploy.plugins.module_utils import _app, _proxy, _proxy_boot
from test_app_fakes import REPO, World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import
import pytest


class FakeProxyContainer:
    """ProxyContainer's boot as the app sees it: operations and a kamal_proxy-shaped result."""
    booted = []

    def __init__(self, client, home, check_mode=False):
        self.check_mode = check_mode
        self.home = home
        self.actions = []

    def boot(self, **kwargs):
        FakeProxyContainer.booted.append(dict(kwargs, home=self.home, check_mode=self.check_mode))
        changed = len(FakeProxyContainer.booted) == 1
        if changed:
            self.actions.append("run container kamal-proxy (%s)" % kwargs["image"])
        if self.check_mode:
            self.actions.insert(0, "create network kamal")
        return {"changed": changed, "actions": self.actions, "warnings": [],
                "diff": {"before": {"container": None}, "after": {"container": {"name": "kamal-proxy"}}},
                "proxy": {"container": {"name": "kamal-proxy"}, "routes": []}}


@pytest.fixture
def world(tmp_path, monkeypatch):
    FakeProxyContainer.booted = []
    w = World(tmp_path)
    w.proxy.ProxyContainer = FakeProxyContainer
    w.proxy.NETWORK = _proxy.NETWORK
    return w


BOOT = dict(_proxy_boot.boot_args({}), image="kamal-deploy/proxy:2.11", takeover=False)


def test_boot_ensures_the_proxy_first_with_kamal_proxys_boot_arguments(world):
    result = world.run(proxy_boot=BOOT, proxy={"hosts": ["app.test"]})
    assert FakeProxyContainer.booted == [dict(BOOT, home=world.home, check_mode=False)]
    assert result["actions"][0] == "run container kamal-proxy (kamal-deploy/proxy:2.11)"
    assert result["actions"].index("run container kamal-proxy (kamal-deploy/proxy:2.11)") < \
        next(i for i, a in enumerate(result["actions"]) if a.startswith("docker run"))
    assert result["proxy_boot"]["changed"] is True and result["proxy_boot"]["proxy"]["container"]["name"] == "kamal-proxy"
    assert result["diff"]["after"]["proxy"] == {"container": {"name": "kamal-proxy"}}
    assert result["changed"] is True and result["boot_changed"] is True


def test_a_proxy_change_alone_changes_the_call_but_is_not_an_app_boot(world):
    world.run(proxy={"hosts": ["app.test"]})
    result = world.run(proxy_boot=BOOT, proxy={"hosts": ["app.test"]})
    assert result["changed"] is True and result["boot_changed"] is False
    assert _app.audit_message("boot", {"version": "v1"}, result) is None  # the app did not boot
    again = world.run(proxy_boot=BOOT, proxy={"hosts": ["app.test"]})
    assert again["changed"] is False and again["actions"] == []


def test_check_mode_passes_to_the_proxy_boot_and_plans_the_network_once(world):
    world.engine.network_names.remove("kamal")
    plan = world.run(check_mode=True, proxy_boot=BOOT, proxy={"hosts": ["app.test"]})
    assert FakeProxyContainer.booted[0]["check_mode"] is True
    assert plan["actions"][:2] == ["create network kamal", "run container kamal-proxy (kamal-deploy/proxy:2.11)"]
    assert "docker network create kamal" not in plan["actions"] and plan["changed"] is True
    assert [name for name in world.engine.mutations() if name != "inspect distribution"] == []


def test_without_proxy_boot_the_proxy_is_not_touched(world):
    result = world.run()
    assert FakeProxyContainer.booted == [] and "proxy_boot" not in result


def test_the_app_uses_the_backends_own_boot():
    assert _proxy.ProxyContainer.boot.__code__.co_varnames[1:7] == tuple(_proxy_boot.option_spec())


def _doc_spec(options):
    """The argspec that documentation describes (names, types, defaults, elements, suboptions)."""
    spec = {}
    for name, doc in options.items():
        entry = {k: doc[k] for k in ("type", "default", "elements") if k in doc}
        if "suboptions" in doc:
            entry["options"] = _doc_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def test_both_modules_document_exactly_the_one_spec():
    top = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    app = yaml.safe_load(fragment.ModuleDocFragment.APP)["options"]["proxy_boot"]
    assert _doc_spec(top) == _proxy_boot.option_spec() == _doc_spec(app["suboptions"])
    assert _proxy_boot.app_option_spec() == {"type": "dict", "options": _proxy_boot.option_spec()}
