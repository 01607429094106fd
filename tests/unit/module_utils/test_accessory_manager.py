"""kamal_accessory's manager (module_utils/_accessory.py) against a fake Docker engine."""
import base64
import builtins
import itertools
import json
import os
import re
import types

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _accessory as acc
from ansible_collections.kamal.deploy.plugins.module_utils import _docker


# A fake engine: just the SDK surface _docker and _accessory use --------------------------------------------

class APIError(Exception):
    def __init__(self, message, status_code=500):
        super().__init__(message)
        self.status_code = status_code
        self.explanation = message


class NotFound(APIError):
    def __init__(self, message):
        super().__init__(message, 404)


class ImageNotFound(NotFound):
    pass


ERRORS = types.SimpleNamespace(DockerException=Exception, APIError=APIError, NotFound=NotFound,
                               ImageNotFound=ImageNotFound, BuildError=type("BuildError", (Exception,), {}))


@pytest.fixture(autouse=True)
def fake_docker_errors(monkeypatch):
    monkeypatch.setattr(_docker, "docker_errors", ERRORS)


class Image:
    def __init__(self, image_id):
        self.id = image_id
        self.attrs = {"Id": image_id, "Config": {"Labels": {}}}


class Container:
    def __init__(self, engine, cid, name, image_ref, kwargs):
        self.engine = engine
        self.id = cid
        self.kwargs = kwargs
        mounts = [{"Type": "volume" if not v.startswith("/") else "bind", "Name": v.split(":")[0],
                   "Source": v.split(":")[0]} for v in kwargs.get("volumes") or []]
        ports = {}
        for port, binding in (kwargs.get("ports") or {}).items():
            host_ip, host_port = binding if isinstance(binding, tuple) else ("", binding)
            ports[port] = [{"HostIp": host_ip, "HostPort": str(host_port)}]
        self.attrs = {
            "Id": cid, "Name": "/" + name, "Image": engine.tags[image_ref].id, "Created": "2026-01-01T00:00:%02d" % cid,
            "Config": {"Image": image_ref, "Labels": dict(kwargs.get("labels") or {}),
                       "Env": list(kwargs.get("environment") or [])},
            "State": {"Status": "created", "StartedAt": "0001-01-01T00:00:00Z"},
            "HostConfig": {"NetworkMode": kwargs.get("network"), "Binds": list(kwargs.get("volumes") or []),
                           "PortBindings": ports},
            "Mounts": mounts,
            "NetworkSettings": {"Networks": {}},
        }

    @property
    def name(self):
        return self.attrs["Name"].lstrip("/")

    @property
    def labels(self):
        return self.attrs["Config"]["Labels"]

    def reload(self):
        pass

    def start(self):
        self.engine.calls.append(("start", self.name))
        if self.engine.fail_start.get(self.attrs["Config"]["Image"]):
            raise APIError(self.engine.fail_start[self.attrs["Config"]["Image"]])
        self.engine.clock += 1
        self.attrs["State"] = {"Status": "running", "StartedAt": "2026-01-01T00:01:%02d" % self.engine.clock}
        self.attrs["NetworkSettings"]["Networks"][self.kwargs.get("network")] = {"IPAddress": "172.18.0.%d" % self.id}

    def stop(self, timeout=None):
        self.engine.calls.append(("stop", self.name))
        self.attrs["State"]["Status"] = "exited"

    def rename(self, name):
        self.engine.calls.append(("rename", self.name, name))
        self.attrs["Name"] = "/" + name

    def remove(self, force=False, v=False):
        self.engine.calls.append(("rm", self.name, v))
        del self.engine.by_id[self.id]

    def logs(self, **kwargs):
        return b"line one\nerror two\nline three\n"

    def exec_run(self, argv, demux=False):
        self.engine.calls.append(("exec", self.name, argv))
        return 0, (b"ok\n", b"")

    def wait(self):
        return {"StatusCode": 0}

    def attach(self, **kwargs):
        """Its streams once started: (stdout, stderr) frames."""
        return iter([(self.logs(), None)])


class Containers:
    def __init__(self, engine):
        self.engine = engine

    def get(self, key):
        for container in self.engine.by_id.values():
            if key in (container.id, container.name):
                return container
        raise NotFound("No such container: %s" % key)

    def list(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        found = []
        for container in self.engine.by_id.values():
            if not all and container.attrs["State"]["Status"] != "running":
                continue
            if builtins.all(container.labels.get(k) == v for k, _s, v in (f.partition("=") for f in filters["label"])):
                found.append(container)
        return found

    def create(self, image, name=None, detach=False, command=None, **kwargs):
        if any(c.name == name for c in self.engine.by_id.values()):
            raise APIError('Conflict. The container name "/%s" is already in use' % name, 409)
        if image not in self.engine.tags:
            raise ImageNotFound("No such image: %s" % image)
        cid = next(self.engine.ids)
        container = Container(self.engine, cid, name, image, dict(kwargs, command=command))
        self.engine.by_id[cid] = container
        self.engine.calls.append(("create", name, image))
        return container


class Images:
    def __init__(self, engine):
        self.engine = engine

    def get(self, ref):
        if ref in self.engine.tags:
            return self.engine.tags[ref]
        raise ImageNotFound("No such image: %s" % ref)

    def pull(self, repository, tag=None):
        ref = "%s:%s" % (repository, tag)
        self.engine.calls.append(("pull", ref))
        if ref not in self.engine.registry:
            raise NotFound("manifest for %s not found: manifest unknown" % ref)
        self.engine.tags[ref] = self.engine.registry[ref]

    def remove(self, ref, force=False):
        self.engine.calls.append(("rmi", ref))
        self.engine.tags.pop(ref, None)


class Engine:
    def __init__(self):
        self.calls = []
        self.ids = itertools.count(1)
        self.clock = 0
        self.registry = {}
        self.tags = {}
        self.by_id = {}
        self.fail_start = {}
        self.network_names = ["bridge"]
        self.containers = Containers(self)
        self.images = Images(self)
        self.api = types.SimpleNamespace(
            networks=lambda names=None: [{"Name": n} for n in self.network_names if n in (names or [n])],
            containers=self._api_containers, inspect_distribution=self._inspect_distribution)
        self.networks = types.SimpleNamespace(create=self._create_network)

    def _api_containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        pattern = re.compile(filters["name"])
        return [{"Id": c.id, "Names": ["/" + c.name]} for c in self.by_id.values() if pattern.search("/" + c.name)]

    def _create_network(self, name, driver=None):
        self.calls.append(("network create", name))
        self.network_names.append(name)

    def _inspect_distribution(self, ref):
        if ref not in self.registry:
            raise NotFound("manifest unknown")
        return {}

    def login(self, username=None, password=None, registry=None, reauth=False):
        self.calls.append(("login", registry, username))

    def publish(self, ref):
        self.registry[ref] = Image("sha256:%064x" % (len(self.registry) + 1))


IMAGE = "registry.test/postgres:15"
SECRET = "s3cr$t with 'quote'\nand newline"


@pytest.fixture
def engine():
    eng = Engine()
    eng.publish(IMAGE)
    eng.publish("registry.test/postgres:15-b")
    return eng


@pytest.fixture
def home(tmp_path):
    return str(tmp_path / "home")


def params(home, **over):
    base = {
        "command": "boot", "service": "shop", "name": "postgres", "destination": None, "accessory_service": None,
        "image": "postgres:15", "registry": {"server": "registry.test", "username": "u", "password": "registry-pw"},
        "host": "vm2", "home": home, "network": "kamal", "port": "127.0.0.1:5432:5432",
        "env": {"POSTGRES_USER": "postgres", "POSTGRES_DB": "shop"}, "secret_env": {"POSTGRES_PASSWORD": SECRET},
        "labels": {"team": "db"}, "options": {}, "cmd": None,
        "files": [{"content": "max_connections = 50\n", "remote": "/etc/pg/extra.conf", "mode": None, "owner": None,
                   "options": "ro"}],
        "directories": ["data:/var/lib/postgresql/data"], "volumes": ["pg_run:/run/postgresql"],
        "logging": None, "proxy": None, "force": False, "confirm": False,
    }
    base.update(over)
    return base


def manager(engine, home, check_mode=False, **over):
    spec = acc.AccessorySpec(params(home, **over), environ={"HOME": home})
    return acc.Accessory(engine, spec, check_mode=check_mode, random_hex=lambda n: "ab" * n)


def mutations(engine):
    return [c for c in engine.calls if c[0] != "login"]


# The spec ----------------------------------------------------------------------------------------------

def test_names_paths_and_mount_order_follow_kamal(home):
    spec = acc.AccessorySpec(params(home), environ={})
    assert spec.svc_name == "shop-postgres"
    assert spec.env_file == home + "/.kamal/apps/shop/env/accessories/postgres.env"
    assert spec.image() == IMAGE
    # volumes, then files, then directories; a named volume stays named
    assert spec.mounts() == ["pg_run:/run/postgresql", home + "/shop-postgres/etc/pg/extra.conf:/etc/pg/extra.conf:ro",
                             home + "/shop-postgres/data:/var/lib/postgresql/data"]


def test_accessory_service_key_names_container_and_label(home):
    spec = acc.AccessorySpec(params(home, accessory_service="pg", destination="staging", port="5432",
                                    directories=[{"local": "/srv/pg", "remote": "/data", "mode": "0700"}]), environ={})
    kwargs = spec.create_kwargs()
    assert spec.svc_name == "pg" and kwargs["labels"]["service"] == "pg"
    assert spec.env_file.endswith("/.kamal/apps/shop-staging/env/accessories/postgres.env")
    assert spec.port() == "5432:5432" and kwargs["ports"] == {"5432/tcp": 5432}
    assert spec.mounts()[-1] == "/srv/pg:/data"
    assert spec.directories()[0]["mode"] == 0o700


def test_run_kwargs_are_kamals_docker_run(home):
    kwargs = acc.AccessorySpec(params(home, cmd="postgres -c fsync=off", options={"shm-size": "256m"}),
                               environ={}).create_kwargs()
    assert kwargs["restart_policy"] == {"Name": "unless-stopped"}
    assert kwargs["network"] == "kamal"
    assert kwargs["ports"] == {"5432/tcp": ("127.0.0.1", 5432)}
    assert kwargs["environment"][:3] == ["KAMAL_HOST=vm2", "POSTGRES_USER=postgres", "POSTGRES_DB=shop"]
    assert kwargs["environment"][3] == "POSTGRES_PASSWORD=s3cr$t with 'quote'\\nand newline"  # as docker reads the file
    assert kwargs["labels"] == {"service": "shop-postgres", "team": "db"}
    assert kwargs["log_config"] == {"type": "", "config": {"max-size": "10m"}}
    assert kwargs["command"] == ["postgres", "-c", "fsync=off"]
    assert kwargs["shm_size"] == "256m"


def test_unknown_option_fails_naming_it(home):
    with pytest.raises(acc.AccessoryError) as err:
        acc.AccessorySpec(params(home, options={"frobnicate": "yes"}), environ={}).create_kwargs()
    assert "accessories/postgres/options/frobnicate" in err.value.message
    assert "kamal_accessory" in err.value.message and "kamal_app" not in err.value.message


def test_reserved_labels_are_rejected(home):
    with pytest.raises(acc.AccessoryError, match="labels/role: invalid label"):
        acc.AccessorySpec(params(home, labels={"role": "x"}), environ={}).labels()


@pytest.mark.parametrize("value,expected", [("0644", 0o644), ("755", 0o755), (0o600, 0o600), (None, 0o755)])
def test_file_modes(value, expected):
    assert acc.parse_mode(value, "f", 0o755) == expected


def test_bad_mode_is_an_error():
    with pytest.raises(acc.AccessoryError, match="quote it"):
        acc.parse_mode("rw-r--r--", "accessories/db/files/0")


def test_spec_changes_with_file_content_and_secret_but_never_shows_secrets(home):
    base = acc.AccessorySpec(params(home), environ={})
    other_file = acc.AccessorySpec(params(home, files=[dict(params(home)["files"][0], content="x\n")]), environ={})
    other_secret = acc.AccessorySpec(params(home, secret_env={"POSTGRES_PASSWORD": "other"}), environ={})
    assert len({base.spec_hash(), other_file.spec_hash(), other_secret.spec_hash()}) == 3
    assert SECRET not in json.dumps(base.public_spec()) and "s3cr" not in json.dumps(base.public_spec())


# boot ----------------------------------------------------------------------------------------------------

def test_boot_runs_the_container_and_writes_files_dirs_env(engine, home):
    result = manager(engine, home).boot()
    assert result["changed"] is True
    assert [c[0] for c in mutations(engine)] == ["network create", "pull", "create", "start"]
    assert ("login", "registry.test", "u") in engine.calls  # before the pull only
    container = engine.containers.get("shop-postgres")
    assert container.labels[acc.SPEC_LABEL] == acc.AccessorySpec(params(home), environ={}).spec_hash()
    assert container.attrs["State"]["Status"] == "running"
    env_file = home + "/.kamal/apps/shop/env/accessories/postgres.env"
    assert oct(os.stat(env_file).st_mode & 0o777) == "0o600"
    with open(env_file, encoding="utf-8") as handle:
        assert handle.read() == "POSTGRES_PASSWORD=s3cr$t with 'quote'\\nand newline\n"
    uploaded = home + "/shop-postgres/etc/pg/extra.conf"
    assert oct(os.stat(uploaded).st_mode & 0o777) == "0o755"
    assert os.path.isdir(home + "/shop-postgres/data")
    text = json.dumps(result)
    assert SECRET not in text and "registry-pw" not in text and "s3cr" not in text
    assert any(a.startswith("docker run --name shop-postgres --detach --restart unless-stopped --network kamal "
                            "--log-opt max-size=10m --publish 127.0.0.1:5432:5432 --env KAMAL_HOST=vm2")
               for a in result["actions"])


def test_boot_again_is_a_noop_same_container_same_start(engine, home):
    manager(engine, home).boot()
    container = engine.containers.get("shop-postgres")
    started, cid = container.attrs["State"]["StartedAt"], container.id
    engine.calls.clear()
    result = manager(engine, home).boot()
    assert result["changed"] is False and result["actions"] == [] and result["differs"] == []
    assert result["container"]["id"] == cid and result["container"]["started_at"] == started
    assert engine.calls == []


def test_check_mode_boot_plans_without_touching(engine, home):
    result = manager(engine, home, check_mode=True).boot()
    assert result["changed"] is True
    # Only reads: the login (bad credentials fail the plan) before asking the registry whether it has the image.
    assert engine.calls == [("login", "registry.test", "u")] and not os.path.exists(home)
    assert result["image_plan"] == [{"image": IMAGE, "on_host": False, "pull": True, "registry": "has it"}]
    assert [a.split(" ")[0] for a in result["actions"]] == ["docker", "mkdir", "mkdir", "upload", "write", "docker",
                                                            "docker", "docker"]
    assert result["diff"]["before"] == {"container": None}


def test_check_mode_boot_fails_when_the_registry_has_no_such_image(engine, home):
    with pytest.raises(acc.AccessoryError, match="registry.test has no image postgres:16"):
        manager(engine, home, check_mode=True, image="postgres:16").boot()
    assert not os.path.exists(home)


def test_boot_on_a_changed_spec_reports_the_keys_and_touches_nothing(engine, home):
    manager(engine, home).boot()
    engine.calls.clear()
    mgr = manager(engine, home, image="postgres:15-b", env={"POSTGRES_USER": "postgres", "POSTGRES_DB": "other"})
    result = mgr.boot()
    assert result["changed"] is False and engine.calls == []
    assert result["differs"] == ["image", "env"]
    assert result["diff"]["before"]["image"] == IMAGE and result["diff"]["after"]["image"] == IMAGE + "-b"
    assert "run accessory_reboot" in result["warnings_list"][0]


def test_check_diff_reboot_names_exact_keys(engine, home):
    manager(engine, home).boot()
    engine.calls.clear()
    result = manager(engine, home, check_mode=True, secret_env={"POSTGRES_PASSWORD": "new"}).reboot()
    assert result["changed"] is True and result["differs"] == ["secret_env"]
    assert mutations(engine) == []
    assert "new" not in json.dumps(result["diff"])


def test_a_kamal_container_without_spec_label_is_skipped_by_boot(engine, home):
    engine.network_names.append("kamal")
    engine.tags[IMAGE] = engine.registry[IMAGE]
    engine.containers.create(IMAGE, name="shop-postgres", labels={"service": "shop-postgres"}, network="kamal",
                             volumes=["/root/shop-postgres/data:/var/lib/postgresql/data"]).start()
    engine.calls.clear()
    result = manager(engine, home).boot()
    assert result["changed"] is False and engine.calls == []
    assert "did not boot" in result["msg"] and "port" in result["differs"] and "mounts" in result["differs"]


def test_failed_boot_leaves_no_container(engine, home):
    engine.fail_start[IMAGE] = "driver failed programming external connectivity: port is already allocated"
    with pytest.raises(acc.AccessoryError, match="port is already allocated") as err:
        manager(engine, home).boot()
    assert engine.by_id == {}
    assert any("rm --force shop-postgres (failed boot)" in a for a in err.value.details["actions"])


def test_bad_option_fails_before_anything_is_created(engine, home):
    with pytest.raises(acc.AccessoryError, match="options/bogus"):
        manager(engine, home, options={"bogus": 1}).boot()
    assert engine.calls == [] and not os.path.exists(home)


# reboot --------------------------------------------------------------------------------------------------

def test_reboot_pulls_before_stopping_and_keeps_data(engine, home):
    manager(engine, home).boot()
    old = engine.containers.get("shop-postgres")
    with open(home + "/shop-postgres/data/PG_VERSION", "w", encoding="utf-8") as handle:
        handle.write("15\n")
    engine.calls.clear()
    result = manager(engine, home, image="postgres:15-b").reboot()
    kinds = [c[0] for c in mutations(engine)]
    assert kinds == ["pull", "stop", "rename", "create", "start", "rm"]
    assert engine.calls[-1] == ("rm", "shop-postgres_replaced_abababababababab", False)  # volumes kept
    assert result["differs"] == ["image"]
    new = engine.containers.get("shop-postgres")
    assert new.id != old.id and new.attrs["Config"]["Image"] == IMAGE + "-b"
    assert os.path.exists(home + "/shop-postgres/data/PG_VERSION")


def test_reboot_with_a_bad_tag_fails_with_the_old_container_running(engine, home):
    manager(engine, home).boot()
    engine.calls.clear()
    with pytest.raises(_docker.DockerError, match="cannot pull image registry.test/postgres:nope"):
        manager(engine, home, image="postgres:nope").reboot()
    assert [c[0] for c in mutations(engine)] == ["pull"]
    assert engine.containers.get("shop-postgres").attrs["State"]["Status"] == "running"


def test_reboot_that_cannot_start_restores_the_old_container(engine, home):
    manager(engine, home).boot()
    old = engine.containers.get("shop-postgres")
    engine.fail_start[IMAGE + "-b"] = "port is already allocated"
    with pytest.raises(acc.AccessoryError, match="previous container shop-postgres was restored and started"):
        manager(engine, home, image="postgres:15-b").reboot()
    assert list(engine.by_id.values()) == [old]
    assert old.name == "shop-postgres" and old.attrs["State"]["Status"] == "running"


def test_reboot_of_an_unchanged_running_spec_is_a_noop_unless_forced(engine, home):
    manager(engine, home).boot()
    engine.calls.clear()
    assert manager(engine, home).reboot()["changed"] is False and engine.calls == []
    result = manager(engine, home, force=True).reboot(force=True)
    assert result["changed"] is True and ("stop", "shop-postgres") in engine.calls


def test_reboot_replaces_a_kamal_container(engine, home):
    engine.tags[IMAGE] = engine.registry[IMAGE]
    engine.containers.create(IMAGE, name="shop-postgres", labels={"service": "shop-postgres"}, network="kamal").start()
    manager(engine, home).reboot()
    assert acc.SPEC_LABEL in engine.containers.get("shop-postgres").labels and len(engine.by_id) == 1


# start / stop / restart / details / logs / exec --------------------------------------------------------------

def test_stop_start_restart(engine, home):
    manager(engine, home).boot()
    assert manager(engine, home).stop()["changed"] is True
    assert manager(engine, home).stop()["changed"] is False
    assert manager(engine, home).start()["actions"] == ["docker container start shop-postgres"]
    assert manager(engine, home).start()["changed"] is False
    assert manager(engine, home).restart()["actions"] == ["docker container stop shop-postgres",
                                                          "docker container start shop-postgres"]
    engine.by_id.clear()
    with pytest.raises(acc.AccessoryError, match="run accessory_boot first"):
        manager(engine, home).start()


def test_details_and_logs(engine, home):
    manager(engine, home).boot()
    details = manager(engine, home).details()
    assert [c["name"] for c in details["containers"]] == ["shop-postgres"]
    assert "Env" not in json.dumps(details) and acc.SPEC_DATA_LABEL not in details["containers"][0]["labels"]
    assert manager(engine, home).logs(grep="error")["lines"] == ["error two"]


def test_exec_in_a_new_container_gets_env_but_no_kamal_host_or_labels(engine, home):
    manager(engine, home).boot()
    result = manager(engine, home).run_exec("psql -c 'select 1'")
    assert result["rc"] == 0 and result["stdout_lines"][0] == "line one"
    created = list(engine.by_id.values())
    assert len(created) == 1  # the exec container was removed
    line = [a for a in result["actions"] if a.startswith("docker run --rm")][0]
    assert "KAMAL_HOST" not in line and "--label" not in line and "psql -c 'select 1'" in line
    assert manager(engine, home).run_exec(["true"], reuse=True)["container"] == "shop-postgres"


# remove ----------------------------------------------------------------------------------------------------

def test_remove_refuses_without_confirm_and_lists_what_it_would_delete(engine, home):
    manager(engine, home, directories=["data:/var/lib/postgresql/data", "/srv/keep:/keep"]).boot()
    engine.calls.clear()
    with pytest.raises(acc.AccessoryError, match="refusing to remove accessory postgres without confirm") as err:
        manager(engine, home, directories=["data:/var/lib/postgresql/data", "/srv/keep:/keep"]).remove()
    plan = err.value.details["would_remove"]
    assert plan["containers"] == ["shop-postgres"] and plan["image"] == IMAGE
    assert plan["directories"] == [home + "/shop-postgres"]
    assert plan["directory_contents"] == [home + "/shop-postgres/data", home + "/shop-postgres/etc"]
    assert plan["kept"]["volumes"] == ["pg_run"] and plan["kept"]["directories"] == ["/srv/keep"]
    assert engine.calls == [] and os.path.isdir(home + "/shop-postgres/data")


def test_remove_with_confirm_deletes_what_kamal_deletes(engine, home):
    manager(engine, home).boot()
    env_file = home + "/.kamal/apps/shop/env/accessories/postgres.env"
    result = manager(engine, home).remove(confirm=True)
    assert result["changed"] is True and engine.by_id == {}
    assert ("rmi", IMAGE) in engine.calls and ("rm", "shop-postgres", False) in engine.calls
    assert not os.path.exists(home + "/shop-postgres") and os.path.exists(env_file)
    assert manager(engine, home).remove(confirm=True)["changed"] is False


def test_content_b64_files(engine, home):
    data = b"\x00\x01binary"
    mgr = manager(engine, home, files=[{"content_b64": base64.b64encode(data).decode(), "remote": "/bin.dat",
                                        "mode": "0600", "owner": None, "options": None}])
    mgr.upload()
    path = home + "/shop-postgres/bin.dat"
    with open(path, "rb") as handle:
        assert handle.read() == data
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert manager(engine, home, files=mgr.spec.params["files"]).upload()["changed"] is False


def test_proxied_accessory_routes_to_its_container_and_keeps_keys_out_of_labels(engine, home):
    class Proxy:
        def __init__(self):
            self.calls = []

        def ensure_route(self, home_dir, route, check_mode=False):
            self.calls.append(("ensure", route["name"], route["app_port"], route["hosts"]))
            return {"changed": True}

        def switch_live_target(self, home_dir, name, ip, check_mode=False, container=None):
            self.calls.append(("switch", name, ip, container))
            return {"changed": True, "before": None, "after": ip}

        def remove_route(self, home_dir, name, check_mode=False):
            self.calls.append(("remove", name))
            return {"changed": True}

    proxy = Proxy()
    spec = acc.AccessorySpec(params(home, proxy={"hosts": ["db.example.test"], "app_port": 8080,
                                                 "tls_private_key_pem": "-----KEY-----"}), environ={})
    result = acc.Accessory(engine, spec, proxy=proxy).boot()
    ip = engine.containers.get("shop-postgres").attrs["NetworkSettings"]["Networks"]["kamal"]["IPAddress"]
    assert proxy.calls == [("ensure", "shop-postgres", 8080, ["db.example.test"]),
                           ("switch", "shop-postgres", ip, "shop-postgres")]
    assert "-----KEY-----" not in json.dumps(engine.containers.get("shop-postgres").labels)
    assert "proxy switch shop-postgres to %s" % ip in result["actions"]
    acc.Accessory(engine, spec, proxy=proxy).stop()
    assert proxy.calls[-1] == ("remove", "shop-postgres")
    with pytest.raises(acc.AccessoryError, match="proxy backend"):
        acc.Accessory(engine, spec, proxy=None).start()
