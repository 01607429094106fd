"""Image delivery against the lab, deployed for real: a registry that demands a login, a local registry on the
controller reached through SSH remote forwarding, and registry-free delivery over SSH (x-kamal-deploy: {image_delivery: ssh}).
The lab's vm4 forbids TCP forwarding in its sshd: the preflight must stop there, fast, naming the cause."""
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position

LOCAL_PORT = 5557  # our local registry's port, on the controller and (forwarded) on each server
SSH_DELIVERY = {"x-kamal-deploy": {"image_delivery": "ssh"}}  # make_app's config override: the image streamed over SSH


class RegApp(App):
    """A lab project with its own service name and registry settings."""

    def __init__(self, lab, root, ips=None, secrets=None, **changes):
        super().__init__(lab, root)
        self.service = f"regapp{uuid.uuid4().hex[:6]}"
        self.host = f"{self.service}.lab.test"
        self.ips = list(ips or lab.ips)
        path = root / "config" / "deploy.yml"
        config = yaml.safe_load(path.read_text())
        config.update(service=self.service, image=self.service, servers={"web": self.ips})
        config["proxy"]["host"] = self.host
        config["env"]["clear"]["APP_NAME"] = self.service
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        (root / ".kamal" / "secrets").write_text("APP_SECRET=s3cr3t-value\n" + (secrets or ""))

    def versions_served(self):
        return {ip: self.get(ip)[1] for ip in self.ips}

    def cleanup(self):
        for ip in self.ips:
            self.lab.ssh(ip, f"docker ps -aq --filter label=service={self.service} | xargs -r docker rm -f; "
                             f"docker images -q --filter label=service={self.service} | sort -u | xargs -r docker rmi -f; "
                             f"rm -rf .kamal/apps/{self.service}", check=False)
        subprocess.run(["ansible", "all", "-i", ",".join(self.ips) + ",", "-m", "kamal.deploy.kamal_proxy",
                        "-a", f"command=remove_route name={self.service}-web"], env=self.lab.ansible_env(), capture_output=True, check=False)


@pytest.fixture
def make_app(lab, tmp_path_factory):
    apps = []

    def make(**kwargs):
        app = RegApp(lab, tmp_path_factory.mktemp("registry"), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.cleanup()


@pytest.fixture(scope="module")
def auth_registry(lab):
    registry = lab.state.get("auth_registry")
    assert registry, "the lab has no login registry: run `make lab` (tests/lab/lab.py up) again"
    return registry


def listeners(lab, ip, port):
    return lab.ssh(ip, f"ss -Hltn 'sport = :{port}'").stdout.strip()


def test_remote_registry_with_login_deploys_and_logs_in_on_every_server(make_app, auth_registry, lab):
    app = make_app(registry={"server": auth_registry["server"], "username": auth_registry["username"],
                             "password": ["KAMAL_REGISTRY_PASSWORD"]},
                   secrets=f"KAMAL_REGISTRY_PASSWORD={auth_registry['password']}\n")
    version = app.commit("v1")
    res = app.playbook("deploy")
    assert app.versions_served() == {ip: "app v1" for ip in app.ips}
    assert auth_registry["password"] not in res.stdout
    # The registry really demands the login: without one, a server cannot pull the image.
    anonymous = lab.ssh(app.ips[0], f"docker logout {auth_registry['server']} >/dev/null 2>&1; "
                                    f"docker pull {auth_registry['server']}/{app.service}:{version}", check=False)
    assert anonymous.returncode != 0 and re.search(r"unauthorized|no basic auth", anonymous.stderr + anonymous.stdout, re.I)


def test_wrong_registry_password_names_the_registry_the_user_and_the_server(make_app, auth_registry, lab):
    registry = {"server": auth_registry["server"], "username": auth_registry["username"], "password": ["KAMAL_REGISTRY_PASSWORD"]}
    app = make_app(registry=registry, ips=lab.ips[:1], secrets=f"KAMAL_REGISTRY_PASSWORD={auth_registry['password']}\n")
    version = app.commit("v1")
    app.playbook("deploy")
    # The image is in the registry; a server whose pull needs a login with a wrong password:
    lab.ssh(app.ips[0], f"docker ps -aq --filter label=service={app.service} | xargs -r docker rm -f; "
                        f"docker rmi -f {auth_registry['server']}/{app.service}:{version} {auth_registry['server']}/{app.service}:latest")
    (app.root / ".kamal" / "secrets").write_text("APP_SECRET=x\nKAMAL_REGISTRY_PASSWORD=not-the-password\n")
    res = app.playbook("deploy", "-e", "skip_push=true", check=False)
    assert res.returncode != 0
    out = res.stdout
    assert f"docker login to {auth_registry['server']} as {auth_registry['username']} failed on {app.ips[0]}" in out, out[-3000:]
    assert "refused the credentials" in out
    assert "not-the-password" not in out
    # And at push time, on the controller:
    app.commit("v2")
    res = app.playbook("deploy", check=False)
    assert res.returncode != 0
    assert f"docker login to {auth_registry['server']} as {auth_registry['username']} on the controller" in res.stdout, res.stdout[-3000:]
    assert "not-the-password" not in res.stdout


def test_unreachable_registry_names_the_registry_the_user_and_the_server(make_app, lab):
    app = make_app(registry={"server": "172.29.0.1:5999", "username": "nobody", "password": "x"}, ips=lab.ips[:1])
    app.commit("v1")
    res = app.playbook("deploy", "-e", "skip_push=true", "-e", "version=v0", check=False)
    assert res.returncode != 0
    assert f"docker login to 172.29.0.1:5999 as nobody failed on {app.ips[0]}" in res.stdout, res.stdout[-3000:]
    assert "unreachable from this server" in res.stdout


def test_local_registry_deploys_a_300_mb_layer_through_the_forward_and_leaves_no_listener(make_app, lab):
    app = make_app(registry={"server": f"localhost:{LOCAL_PORT}"}, image=None)
    app.commit("v1")
    dockerfile = app.root / "Dockerfile"
    # 300 MB that does not compress: the layer really travels through the SSH forward.
    dockerfile.write_text(dockerfile.read_text().replace("COPY app/", "RUN head -c 300000000 /dev/urandom > /blob\nCOPY app/"))
    app.git("commit", "-qam", "300 MB layer")
    t0 = time.monotonic()
    res = app.playbook("deploy")
    elapsed = time.monotonic() - t0
    assert app.versions_served() == {ip: "app v1" for ip in app.ips}
    assert "reaches the local registry" in res.stdout
    blob = lab.ssh(app.ips[-1], f"docker run --rm --entrypoint stat localhost:{LOCAL_PORT}/{app.service}:{app.git('rev-parse', 'HEAD')} "
                                "-c %s /blob").stdout.strip()
    assert blob == "300000000"
    ports = subprocess.run(["docker", "port", "kamal-docker-registry", "5000"], capture_output=True, text=True, check=True).stdout
    assert ports.strip() == f"127.0.0.1:{LOCAL_PORT}", ports
    deadline = time.monotonic() + 5
    while any(listeners(lab, ip, LOCAL_PORT) for ip in app.ips):
        assert time.monotonic() < deadline, {ip: listeners(lab, ip, LOCAL_PORT) for ip in app.ips}
        time.sleep(0.2)
    print(f"\nlocal registry, 300 MB layer, {len(app.ips)} servers: deploy {elapsed:.1f} s")


def test_forbidden_forwarding_fails_the_preflight_fast_naming_the_cause_and_changes_nothing(make_app, lab):
    vm4 = lab.extra("no-forwarding")
    app = make_app(registry={"server": f"localhost:{LOCAL_PORT}"}, image=None, ips=[vm4["ip"]])
    version = app.commit("v1")
    t0 = time.monotonic()
    res = app.playbook("deploy", check=False)
    elapsed = time.monotonic() - t0
    out = res.stdout
    assert res.returncode != 0
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert f"{vm4['ip']} cannot pull from the local registry localhost:{LOCAL_PORT}" in out, out[-4000:]
    assert "Cause: sshd AllowTcpForwarding: `AllowTcpForwarding no`" in out
    for cause in ("a Match block", "PermitListen", "the jump host", f"port {LOCAL_PORT} on the server"):
        assert cause in out
    assert "AllowTcpForwarding remote" in out and "restart sshd" in out and "x-kamal-deploy: {image_delivery: ssh}" in out
    # Nothing changed: nothing built, nothing on the server.
    assert "TASK [kamal.deploy.prepare : Build and push" not in out
    assert subprocess.run(["docker", "image", "inspect", f"localhost:{LOCAL_PORT}/{app.service}:{version}"],
                          capture_output=True, check=False).returncode != 0
    assert lab.ssh(vm4["ip"], f"docker ps -aq --filter label=service={app.service}").stdout.strip() == ""
    assert lab.ssh(vm4["ip"], f"test -e .kamal/apps/{app.service}", check=False).returncode == 1
    print(f"\nforbidden forwarding: the deploy failed in {elapsed:.1f} s")


def test_ssh_delivery_deploys_without_a_registry_and_skips_servers_that_have_the_image(make_app, lab):
    app = make_app(registry=None, image=None, **SSH_DELIVERY)
    app.commit("v1")
    first = app.playbook("deploy")
    assert app.versions_served() == {ip: "app v1" for ip in app.ips}
    assert len(re.findall(r"changed: \[[^]]+\]", first.stdout.split("Deliver ")[1].split("TASK")[0])) == len(app.ips)
    again = app.playbook("deploy")
    delivered = again.stdout.split("Deliver ")[1].split("TASK")[0]
    assert "changed:" not in delivered and delivered.count("ok: [") == len(app.ips), delivered


def test_ssh_delivery_works_through_a_jump_host(make_app, lab):
    jump, target = lab.ips[0], lab.ips[1]
    app = make_app(registry=None, image=None, **SSH_DELIVERY, ips=[target],
                   ssh={"keys": [lab.state["ssh_key"]], "config": lab.ssh_config, "proxy": f"root@{jump}"})
    app.commit("v1")
    res = app.playbook("deploy", "-vvv")
    assert f"ProxyJump=root@{jump}" in res.stdout
    assert app.versions_served() == {target: "app v1"}
