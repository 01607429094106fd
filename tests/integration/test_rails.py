"""Kamal's main integration scenario ("deploy, redeploy, rollback, details and audit") and what Rails apps on Kamal
rely on, against the lab, as a user runs it: one project on two servers with Rails 8's asset_path (read-only),
error_pages_path, tagged hosts, clear env with ${VAR}, secrets with quotes and CJK characters and secrets read
through `kamal secrets fetch/extract` (the test adapter), and every hook.

v1 deploys; v2 redeploys under load that asks every server for v1's and v2's fingerprinted assets (0 failures);
the app's error pages answer the proxy's 502 and maintenance's 503 (with the message), and survive the redeploy
and a rollback; app exec returns binary output byte for byte and runs on a host that never ran the app; details and
the audit log say what ran; app remove runs between its hooks and leaves nothing. See docs/dev/kamal-suite.md.
"""
import http.client
import json
import os
import re
import shutil
import sys
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position

HOOKS = ("pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy", "pre-app-remove",
         "post-app-remove")
SECRETS = """\
SECRET_TOKEN='1234 with "中文"'
SECRET_TAG='TAGME'
SECRETS=$(kamal secrets fetch --adapter test --account test INTERPOLATED_SECRET1 INTERPOLATED_中文)
INTERPOLATED_SECRET1=$(kamal secrets extract INTERPOLATED_SECRET1 ${SECRETS})
INTERPOLATED_SECRET3=$(kamal secrets extract INTERPOLATED_中文 ${SECRETS})
"""
PAGE_503 = "<html><body><p>Custom Maintenance Page: {{ .Message }}</p></body></html>\n"
PAGE_502 = "<html><body><p>Custom 502: the app did not answer</p></body></html>\n"


def get(ip, host, path="/", timeout=5):
    conn = http.client.HTTPConnection(ip, 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


class RailsApp(App):
    """A build whose fingerprinted assets change with the version (/www/assets, Rails' public/assets)."""

    def commit(self, version, healthy=True):
        www = self.root / "app"
        if (www / "assets").exists():
            shutil.rmtree(www / "assets")
        (www / "assets").mkdir(parents=True)
        (www / "assets" / f"application-{version}.css").write_text(f"/* {version} */\n")
        (www / "assets" / ".hidden").write_text("hidden\n")
        return super().commit(version, healthy)


@pytest.fixture(scope="module")
def rails(lab, tmp_path_factory):
    vm1, vm2 = lab.ips[0], lab.ips[1]
    project = RailsApp(lab, tmp_path_factory.mktemp("rails"), prefix="rails", servers=[vm1, {vm2: ["tag1", "tag2"]}])
    project.config.update(
        asset_path="/www/assets:ro", error_pages_path="public",
        env={"clear": {"CLEAR_TOKEN": 4321, "CLEAR_TAG": "", "HOST_TOKEN": "${HOME}"},
             "secret": ["SECRET_TOKEN", "INTERPOLATED_SECRET1", "INTERPOLATED_SECRET3"],
             "tags": {"tag1": {"CLEAR_TAG": "tagged"}, "tag2": {"secret": ["SECRET_TAG"]}}},
        hooks_output={"pre-deploy": "verbose", "pre-build": "quiet"})
    project.secrets = "KAMAL_REGISTRY_PASSWORD=none\n" + SECRETS
    project.write_config()
    (project.root / "public").mkdir()
    (project.root / "public" / "503.html").write_text(PAGE_503)
    (project.root / "public" / "502.html").write_text(PAGE_502)
    (project.root / "public" / "index.html").write_text("not an error page\n")
    hooks = project.root / ".kamal" / "hooks"
    for name in HOOKS:
        shutil.copy(os.path.join(REPO, "tests", "fixtures", "hooks", "record"), hooks / name)
    project.vm1, project.vm2, project.vm3 = vm1, vm2, lab.ips[2]
    project.playbook_env = lambda: dict(App.playbook_env(project), HOOK_ECHO="said by a hook")
    yield project
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service} .kamal/proxy/apps-config/{project.service}", check=False)


def hooks_since(app, count):
    return [h["hook"] for h in app.hook_records()[count:]]


def env_of(app, ip, version):
    out = app.lab.ssh(ip, f"docker exec {app.service}-web-{version} env").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def page(app, ip):
    """(status, body without the trailing newline Caddy's file placeholder drops)."""
    status, body = get(ip, app.host)
    return status, body.strip()


def not_serving(app, ip):
    """Nothing of the app answers for its host: a 404, or another app's catch-all route (the demo's, after
    `make demo`), as kamal-proxy would answer. Kamal's own suite sees its load balancer's 502."""
    status, body = get(ip, app.host)
    return status != 200 or not body.startswith("app ")


def test_the_app_is_down_before_the_first_deploy(rails):
    assert not_serving(rails, rails.vm1)


def test_deploy_serves_v1_runs_every_hook_and_sets_the_env_kamal_sets(rails):
    rails.v1 = rails.commit("v1")
    out = rails.playbook("deploy").stdout
    assert get(rails.vm1, rails.host) == (200, "app v1\n") and get(rails.vm2, rails.host) == (200, "app v1\n")
    assert hooks_since(rails, 0) == ["pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-app-boot",
                                     "post-deploy"]
    # hooks_output: pre-deploy verbose shows what the hook printed, pre-build quiet and post-deploy (unset) do not
    assert "hook pre-deploy stdout:\nsaid by a hook" in out and out.count("said by a hook") == 1, out[-3000:]
    vm1, vm2 = env_of(rails, rails.vm1, rails.v1), env_of(rails, rails.vm2, rails.v1)
    assert (vm1["KAMAL_HOST"], vm1["CLEAR_TOKEN"], vm1["HOST_TOKEN"]) == (rails.vm1, "4321", "/root")
    assert vm1["SECRET_TOKEN"] == '1234 with "中文"'
    assert vm1["CLEAR_TAG"] == "" and "SECRET_TAG" not in vm1          # tag env on the tagged host only
    assert (vm2["CLEAR_TAG"], vm2["SECRET_TAG"]) == ("tagged", "TAGME")
    assert (vm2["INTERPOLATED_SECRET1"], vm2["INTERPOLATED_SECRET3"]) == ("1TERCES_DETALOPRETNI", "文中_DETALOPRETNI")


class AssetLoad:
    """Clients like browsers behind a load balancer: each asks a server for the page, then for the assets of every
    version a page has shown so far (from any server), at any server. Counts what did not answer 200."""

    def __init__(self, app, versions):
        self.app, self.versions = app, versions
        self.seen = {"v1"}
        self.stop = threading.Event()
        self.requests, self.failures, self.asset_requests = 0, [], {v: 0 for v in versions}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(4)]

    def run(self, index):
        ips = [self.app.vm1, self.app.vm2]
        n = index
        while not self.stop.is_set():
            ip = ips[n % 2]
            n += 1
            try:
                status, body = get(ip, self.app.host)
                if status != 200:
                    self.fail(f"{ip} /: {status}")
                else:
                    with self.lock:
                        self.seen.add(body.strip().split()[-1])
                for version in sorted(self.seen):
                    other = ips[n % 2]
                    status = get(other, self.app.host, f"/assets/application-{version}.css")[0]
                    with self.lock:
                        self.asset_requests[version] = self.asset_requests.get(version, 0) + 1
                    if status != 200:
                        self.fail(f"{other} /assets/application-{version}.css: {status}")
            except OSError as exc:
                self.fail(f"{ip}: {exc}")
            with self.lock:
                self.requests += 1
            time.sleep(0.01)

    def fail(self, what):
        with self.lock:
            self.failures.append(what)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_a_redeploy_under_load_serves_both_versions_assets_from_every_server(rails):
    rails.v2 = rails.commit("v2")
    with AssetLoad(rails, ["v1", "v2"]) as load:
        time.sleep(0.5)
        out = rails.playbook("redeploy").stdout
        time.sleep(1)
    # Two servers: every server's assets are ready before either boots (Kamal's separate assets step)
    assert "the version's assets on every host first" in out
    assert load.failures == [], load.failures[:10]
    assert load.asset_requests["v2"] > 20 and load.asset_requests["v1"] > 20, load.asset_requests
    assert get(rails.vm1, rails.host) == (200, "app v2\n")
    for ip in (rails.vm1, rails.vm2):
        for version in ("v1", "v2"):
            assert get(ip, rails.host, f"/assets/application-{version}.css")[0] == 200
        assert get(ip, rails.host, "/assets/.hidden") == (200, "hidden\n")
    mounts = rails.lab.ssh(rails.vm1, f"docker inspect {rails.service}-web-{rails.v2} --format '{{{{json .Mounts}}}}'").stdout
    assert re.search(r'"Destination":"/www/assets"[^}]*"RW":false', mounts), mounts
    volumes = rails.lab.ssh(rails.vm1, f"ls .kamal/apps/{rails.service}/assets/volumes").stdout.split()
    assert volumes == [f"web-{rails.v2}"]


def test_error_pages_answer_maintenance_and_a_down_app_and_survive_the_redeploy(rails):
    rails.playbook("app_maintenance", "-e", "message='Testing Maintenance Mode'")
    assert page(rails, rails.vm1) == (503, PAGE_503.replace("{{ .Message }}", "Testing Maintenance Mode").strip())
    rails.playbook("app_live")
    assert get(rails.vm1, rails.host) == (200, "app v2\n")
    pages = rails.lab.ssh(rails.vm1, f"ls .kamal/proxy/apps-config/{rails.service}/error_pages").stdout.split()
    assert pages == [rails.v2]  # the version's pages, Kamal's path; the old version's went with it
    # the app stops answering behind its route: the proxy's 502 is the app's page
    rails.lab.ssh(rails.vm2, f"docker stop -t 1 {rails.service}-web-{rails.v2}")
    assert page(rails, rails.vm2) == (502, PAGE_502.strip())
    rails.playbook("app_start", "-e", f"version={rails.v2}", "-l", rails.vm2)
    assert get(rails.vm2, rails.host) == (200, "app v2\n")


def test_rollback_serves_v1_and_details_and_the_audit_say_what_ran(rails):
    count = len(rails.hook_records())
    rails.playbook("rollback", "-e", f"version={rails.v1}")
    assert hooks_since(rails, count) == ["pre-connect", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy"]
    assert get(rails.vm1, rails.host) == (200, "app v1\n") and get(rails.vm2, rails.host) == (200, "app v1\n")
    rails.playbook("app_maintenance")
    assert page(rails, rails.vm1) == (503, PAGE_503.replace("{{ .Message }}", "").strip())
    rails.playbook("app_live")
    details = rails.playbook("app_details").stdout + rails.playbook("proxy_details").stdout
    assert f"{rails.service}-web-{rails.v1}" in details and f"{rails.lab.registry}/{rails.service}:{rails.v1}" in details
    assert "kamal-lab/proxy:2.11" in details
    audit = rails.playbook("audit").stdout
    assert re.search(rf"Booted app version {rails.v1}.*Booted app version {rails.v2}.*Booted app version {rails.v1}",
                     audit, re.S), audit[-3000:]


def test_exec_output_is_byte_exact_and_a_host_that_never_ran_the_app_gets_its_env_file(rails, tmp_path):
    out = tmp_path / "bytes.bin"
    every_byte = "i=0; while [ $i -lt 256 ]; do printf \"\\\\$(printf %o $i)\"; i=$((i+1)); done"
    for reuse in (True, False):
        rails.playbook("app_exec", "-e", json.dumps({"cmd": ["sh", "-c", every_byte], "reuse": reuse, "primary": True,
                                                     "raw_output": str(out)}))
        assert out.read_bytes() == bytes(range(256)), (reuse, out.read_bytes()[:64])
    # vm3 joins the role in deploy.yml but never booted it: exec there writes the role's env file first
    rails.config["servers"] = [rails.vm1, {rails.vm2: ["tag1", "tag2"]}, rails.vm3]
    rails.write_config()
    try:
        check = ["sh", "-c", """test "$SECRET_TOKEN" = '1234 with "中文"' && echo has-the-secret"""]
        res = rails.playbook("app_exec", "-l", rails.vm3, "-e", json.dumps({"cmd": check}))
        assert "has-the-secret" in res.stdout, res.stdout[-2000:]
        mode = rails.lab.ssh(rails.vm3, f"stat -c %a .kamal/apps/{rails.service}/env/roles/web.env").stdout.strip()
        assert mode == "600"
    finally:
        rails.config["servers"] = [rails.vm1, {rails.vm2: ["tag1", "tag2"]}]
        rails.write_config()


def test_app_remove_runs_between_its_hooks_and_leaves_nothing(rails):
    count = len(rails.hook_records())
    rails.playbook("app_remove", "-e", "confirm=true")
    records = rails.hook_records()[count:]
    assert [h["hook"] for h in records] == ["pre-connect", "pre-app-remove", "post-app-remove"]
    assert records[1]["KAMAL_LOCK"] == "true" and records[1]["KAMAL_COMMAND"] == "app"
    assert not_serving(rails, rails.vm1)
    for ip in (rails.vm1, rails.vm2):
        assert rails.containers(ip) == []
        assert rails.lab.ssh(ip, f"test -e .kamal/apps/{rails.service}", check=False).returncode == 1
        assert rails.lab.ssh(ip, f"test -e .kamal/proxy/apps-config/{rails.service}", check=False).returncode == 1
