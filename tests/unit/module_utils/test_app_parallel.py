"""boot.parallel_roles on one host (module_utils/_app.boot_parallel): the roles boot at once, the others behind
the primary role's healthy container (Kamal's barrier), the proxy ensured before and the service pruned once after."""
from ansible_collections.kamal.deploy.plugins.module_utils import _app
from test_app_fakes import World, fake_docker_errors, params  # noqa: F401  pylint: disable=unused-import

PROXY = {"hosts": ["app.example.com"], "app_port": 80}


def apps(world, version, roles):
    made, plist = [], []
    for role, extra in roles:
        p = params(home=world.home, version=version, role=role, readiness_delay=0, **extra)
        app = world.app(**{k: v for k, v in p.items() if k != "home"})
        made.append(app)
        plist.append(app.spec.params)
    return made, plist


def test_the_roles_of_a_host_boot_at_once_and_the_workers_wait_for_the_web_container(tmp_path):
    world = World(tmp_path)
    made, plist = apps(world, "v1", [("web", {"proxy": PROXY}), ("workers", {"cmd": "sleep 1"}), ("jobs", {})])
    outcomes, proxy_booted, pruned = _app.boot_parallel(made, plist, barrier=True)
    assert proxy_booted is None and pruned is None
    assert [(p["role"], error) for p, _result, error in outcomes] == [("web", None), ("workers", None), ("jobs", None)]
    assert all(result["changed"] for _p, result, _e in outcomes)
    # workers and jobs were created only after web's container passed its health check
    creates = [c[1] for c in world.engine.calls if c[0] == "create"]
    assert creates[0] == "app-web-v1" and sorted(creates[1:]) == ["app-jobs-v1", "app-workers-v1"]
    assert world.proxy.targets["app-web"]


def test_a_failed_primary_closes_the_barrier_and_the_others_never_run(tmp_path):
    world = World(tmp_path)
    made, plist = apps(world, "broken", [("web", {"proxy": PROXY, "deploy_timeout": 2}), ("workers", {})])
    outcomes, _proxy, pruned = _app.boot_parallel(made, plist, barrier=True)
    (_p, web, web_error), (_p2, workers, workers_error) = outcomes
    assert web is None and "app-web-broken" in str(web_error)
    assert workers is None and str(workers_error) == "First web container is unhealthy, not booting workers on vm1.example.com"
    assert world.engine.named("app-workers-broken") is None and pruned is None


def test_without_a_barrier_a_failing_role_leaves_the_others_booting(tmp_path):
    world = World(tmp_path)
    world.engine.publish("registry.test/app:v3", {"service": "app"}, {"state": "exited"})
    made, plist = apps(world, "v3", [("workers", {}), ("jobs", {})])
    plist[1] = dict(plist[1], version="v1")
    made[1] = world.app(**dict({k: v for k, v in plist[1].items() if k != "home"}))
    outcomes, _proxy, _pruned = _app.boot_parallel(made, plist, barrier=False)
    assert outcomes[0][2] is not None and outcomes[1][2] is None
    assert world.engine.named("app-jobs-v1").status == "running"


def test_the_proxy_is_ensured_first_and_the_service_pruned_once(tmp_path, monkeypatch):
    world = World(tmp_path)
    made, plist = apps(world, "v1", [("web", {"proxy": PROXY, "proxy_boot": {"image": "proxy:1"}, "prune": True}),
                                     ("workers", {"prune": True})])
    seen = []
    monkeypatch.setattr(made[0], "ensure_proxy", lambda args: seen.append(("proxy", args)) or {"changed": False})
    monkeypatch.setattr(made[0], "prune", lambda retain: seen.append(("prune", retain)) or {"removed_containers": []})
    monkeypatch.setattr(made[1], "prune", lambda retain: seen.append(("prune by workers", retain)))
    _outcomes, proxy_booted, pruned = _app.boot_parallel(made, plist, barrier=True)
    assert [s[0] for s in seen] == ["proxy", "prune"] and proxy_booted == {"changed": False}
    assert pruned == {"removed_containers": []}


class FakeModule:
    """What AppManager uses of AnsibleModule."""

    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def test_the_module_boots_its_parallel_roles_with_their_own_secrets_and_audits_each(tmp_path, monkeypatch):
    from ansible_collections.kamal.deploy.plugins.modules import kamal_app
    from ansible_collections.kamal.deploy.plugins.module_utils import _docker, _container

    world = World(tmp_path)
    monkeypatch.setattr(_docker, "connect", lambda: world.engine)
    monkeypatch.setattr(_container, "proxy_backend", lambda: world.proxy)
    monkeypatch.setattr(_app.App, "__init__", _fake_init(world))
    role_spec = _role_spec(kamal_app)
    main = dict(params(home=world.home, role="web", proxy=PROXY, readiness_delay=0, secret_env={"S": "web-secret"},
                       performer="me", audit=True),
                parallel_roles=[{"service": "app", "role": "workers", "image": "registry.test/app", "version": "v1",
                                 "readiness_delay": 0, "cmd": "sleep 1"}],
                parallel_secrets={"workers": {"secret_env": {"S": "workers-secret"}}}, barrier=True)
    manager = kamal_app.AppManager(FakeModule(main), role_spec)
    result = manager.run()
    assert [r["role"] for r in result["parallel"]] == ["web", "workers"] and result["role"] == "web"
    assert result["changed"] and all(r["changed"] for r in result["parallel"])
    workers = world.engine.named("app-workers-v1")
    assert "S=workers-secret" in workers.attrs["Config"]["Env"] and workers.kwargs["command"] == ["sleep", "1"]
    audit = (tmp_path / ".kamal" / "app-audit.log").read_text()
    assert "[web] Booted app version v1" in audit and "[workers] Booted app version v1" in audit


def _role_spec(kamal_app):
    """The module's own argument spec (main() builds it), captured from the AnsibleModule call."""
    captured = {}

    class Stop(Exception):
        pass

    def capture(argument_spec, **_kw):
        captured.update(argument_spec)
        raise Stop()

    original = kamal_app.AnsibleModule
    kamal_app.AnsibleModule = capture
    try:
        kamal_app.main()
    except Stop:
        pass
    finally:
        kamal_app.AnsibleModule = original
    return {k: v for k, v in captured.items() if k not in kamal_app.PARALLEL_OPTIONS}


def _fake_init(world):
    original = _app.App.__init__

    def init(self, client, spec, check_mode=False, proxy=None, **_kw):
        original(self, client, spec, check_mode=check_mode, proxy=proxy, random_hex=world.random_hex, clock=world.clock,
                 sleep=world.clock.sleep, probe=__import__("test_app_fakes").probe_for(world.engine, world.clock))
    return init
