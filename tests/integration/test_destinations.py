"""main_test's "deploy with destinations" and "deploy with a custom certificate", ported to the lab: a deploy.yml that
requires a destination, staging on vm1 and production on vm2 and vm3, deployed as Kamal's test does, through the alias
`staging_deploy: deploy -d staging` (`kamal-ansible staging_deploy`: the alias is read from deploy.yml before the
destination is required), served over HTTPS with the certificate and key read from secrets with $(cat certs/...)."""
import json
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from project import App  # noqa: E402  pylint: disable=wrong-import-position
from test_accessory_tls import self_signed  # noqa: E402  pylint: disable=wrong-import-position
from test_tls import https_get  # noqa: E402  pylint: disable=wrong-import-position

KAMAL_ANSIBLE = os.path.join(os.path.dirname(sys.executable), "kamal-ansible")
INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")


@pytest.fixture(scope="module")
def dest(lab, tmp_path_factory):
    app = App(lab, tmp_path_factory.mktemp("destinations"), prefix="dest", servers=[lab.ips[0]],
              require_destination=True, aliases={"staging_deploy": "deploy -d staging",
                                                 "production_deploy": "deploy -d production"})
    del app.config["servers"]
    app.config["proxy"] = {"host": app.host, "app_port": 80,
                           "ssl": {"certificate_pem": "CUSTOM_CERT", "private_key_pem": "CUSTOM_KEY"}}
    app.write_config()
    (app.root / "config" / "deploy.staging.yml").write_text("servers:\n  - %s\n" % lab.ips[0])
    (app.root / "config" / "deploy.production.yml").write_text("servers:\n  - %s\n  - %s\n" % (lab.ips[1], lab.ips[2]))
    app.cert, key = self_signed(app.host)
    (app.root / "certs").mkdir()
    (app.root / "certs" / "cert.pem").write_text(app.cert)
    (app.root / "certs" / "key.pem").write_text(key)
    # With a destination Kamal reads .kamal/secrets-common and .kamal/secrets.<destination>, not .kamal/secrets.
    (app.root / ".kamal" / "secrets-common").write_text(
        app.secrets + "CUSTOM_CERT=$(cat certs/cert.pem)\nCUSTOM_KEY=$(cat certs/key.pem)\n")
    yield app
    lab.ssh(lab.ips[0], f"docker ps -aq --filter label=service={app.service} | xargs -r docker rm -f; "
                        f"rm -rf .kamal/apps/{app.service}-staging", check=False)


def hosts_of(app, destination):
    out = subprocess.run([INVENTORY, "-i", f"config/deploy.{destination}.yml", "--list"], cwd=app.root,
                         env=app.playbook_env(), capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    return json.loads(out.stdout)["web"]["hosts"]


def test_a_deploy_without_a_destination_is_refused(dest):
    res = dest.playbook("deploy", check=False)
    assert res.returncode != 0 and "You must specify a destination" in res.stdout + res.stderr


def test_staging_deploys_staging_on_its_server_over_https_with_the_custom_certificate(dest, lab):
    dest.commit("v1")
    res = subprocess.run([KAMAL_ANSIBLE, "staging_deploy"], cwd=dest.root, env=dest.playbook_env(), capture_output=True,
                         text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "BEGIN PRIVATE KEY" not in res.stdout + res.stderr
    started, answer = time.monotonic(), None
    while answer is None and time.monotonic() - started < 20:
        try:
            answer = https_get(lab.ips[0], dest.host, dest.cert)
        except OSError:
            time.sleep(0.3)
    assert answer is not None and answer[:2] == ("HTTP/1.1 200 OK", "app v1\n"), answer
    running = lab.ssh(lab.ips[0], f"docker ps --filter label=service={dest.service} --format '{{{{.Names}}}}'").stdout.split()
    assert running == [f"{dest.service}-web-staging-{dest.git('rev-parse', 'HEAD')}"]
    assert lab.ssh(lab.ips[1], f"docker ps -aq --filter label=service={dest.service}").stdout.strip() == ""


def test_each_destination_has_its_servers(dest, lab):
    assert hosts_of(dest, "staging") == [lab.ips[0]]
    assert hosts_of(dest, "production") == [lab.ips[1], lab.ips[2]]
