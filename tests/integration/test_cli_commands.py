"""Every Kamal command family through the kamal-ansible console script, on the lab: one project (two servers),
deployed once with kamal-ansible and shared by the tests in file order. What a person reads: read-only commands
print only their result; a plan names what would fail before any change; a long wait shows its progress.

Run with the installed console script of this tree (`pip install ./cli`, or PYTHONPATH=cli)."""
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position

SCRIPT = os.path.join(os.path.dirname(sys.executable), "kamal-ansible")
KAMAL = os.path.join(os.path.dirname(sys.executable), "kamal")
NOISE = ("TASK [", "PLAY [", "skipping:", "PLAY RECAP", "ok: [")


@pytest.fixture(scope="module")
def app(lab, tmp_path_factory, unavailable):
    if not os.path.exists(SCRIPT):
        unavailable("kamal-ansible is not installed (%s): pip install -r requirements.txt" % SCRIPT)
    project = App(lab, tmp_path_factory.mktemp("cli"), prefix="kc", servers={"web": lab.ips[:2]})
    project.v1 = project.commit("v1")
    yield project
    for ip in lab.ips[:2]:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service} .kamal/proxy/options .kamal/proxy/run_command "
                    f".kamal/{project.service}-audit.log", check=False)
    subprocess.run(["ansible", "all", "-i", ",".join(lab.ips[:2]) + ",", "-m", "kamal.deploy.kamal_proxy",
                    "-a", f"command=remove_route name={project.service}-web"], env=lab.ansible_env(), capture_output=True, check=False)


def kamal_ansible(app, *args, timeout=300):
    env = app.playbook_env()
    env.pop("KAMAL_ANSIBLE_DRY_RUN", None)
    env["PYTHONWARNINGS"] = "ignore"
    return subprocess.run([SCRIPT] + list(args), cwd=str(app.root), env=env, capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)


def served(app):
    return [app.get(ip)[1] for ip in app.lab.ips[:2]]


def ok(res):
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    return res.stdout


def readable(text):
    """Output a person reads: none of Ansible's task banners, skip lines or recap."""
    for noise in NOISE:
        assert noise not in text, "%r in:\n%s" % (noise, text)
    return text


def test_config_is_what_kamal_config_prints(app):
    ours = ok(kamal_ansible(app, "config", "--version", "v9"))
    theirs = subprocess.run([KAMAL, "config", "--version=v9"], cwd=str(app.root), capture_output=True, text=True, check=False,
                            env=app.playbook_env(), stdin=subprocess.DEVNULL)
    assert theirs.returncode == 0, theirs.stderr
    assert ours == theirs.stdout
    assert "s3cr3t-value" not in ours and "APP_SECRET" not in ours


def test_init_writes_stubs_that_kamal_and_we_accept(app, tmp_path):
    env = dict(app.playbook_env(), PYTHONWARNINGS="ignore")
    res = subprocess.run([SCRIPT, "init"], cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "Created configuration file in config/deploy.yml" in res.stdout, res.stdout + res.stderr
    assert (tmp_path / ".kamal" / "hooks" / "pre-deploy.sample").exists()
    ours = subprocess.run([SCRIPT, "config", "--version", "v1"], cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    theirs = subprocess.run([KAMAL, "config", "--version=v1"], cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert ours.returncode == 0 and ours.stdout == theirs.stdout, ours.stderr + theirs.stderr
    again = subprocess.run([SCRIPT, "init"], cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert "already exists" in again.stdout


def test_secrets_print_fetch_and_extract(app):
    assert ok(kamal_ansible(app, "secrets", "print")) == "KAMAL_REGISTRY_PASSWORD=none\nAPP_SECRET=s3cr3t-value\n"
    fetched = ok(kamal_ansible(app, "secrets", "fetch", "-a", "test", "--account", "me", "one"))
    assert json.loads(fetched) == {"one": "eno"}
    assert ok(kamal_ansible(app, "secrets", "extract", "one", fetched.strip())) == "eno\n"


def test_deploy_then_read_only_commands_print_only_their_result(app):
    out = ok(kamal_ansible(app, "deploy"))
    assert readable(out).rstrip().splitlines()[-1].startswith("Done in ")
    assert served(app) == ["app v1"] * 2

    details = readable(ok(kamal_ansible(app, "details")))
    assert f"{app.service}-web-{app.v1}" in details and "kamal-proxy" in details
    assert readable(ok(kamal_ansible(app, "app", "version"))).split() == [app.lab.ips[0], "(web)", app.v1, app.lab.ips[1], "(web)", app.v1]
    assert readable(ok(kamal_ansible(app, "lock", "status"))) == "There is no deploy lock\n"


def test_server_exec_runs_everywhere_and_is_audited(app):
    out = readable(ok(kamal_ansible(app, "server", "exec", "echo", "from", "$(hostname)")))
    assert out.count("from ") == 2
    audit = app.lab.ssh(app.lab.ips[0], f"cat .kamal/{app.service}-audit.log").stdout
    assert "Executed cmd 'echo from $(hostname)' on %s" % app.lab.ips[0] in audit
    primary = readable(ok(kamal_ansible(app, "server", "exec", "--primary", "true")))
    assert app.lab.ips[1] not in primary


def test_registry_login_and_logout_on_the_servers(app):
    out = readable(ok(kamal_ansible(app, "registry", "login")))
    assert "Login Succeeded" in out
    config = app.lab.ssh(app.lab.ips[0], "cat .docker/config.json").stdout
    assert app.lab.registry in json.loads(config)["auths"]
    ok(kamal_ansible(app, "registry", "logout", "-L"))
    assert app.lab.registry not in app.lab.ssh(app.lab.ips[0], "cat .docker/config.json").stdout


def test_proxy_boot_config_set_get_reset(app):
    ok(kamal_ansible(app, "proxy", "boot_config", "set", "--http-port", "8080", "--metrics-port", "9000"))
    options = app.lab.ssh(app.lab.ips[0], "cat .kamal/proxy/options").stdout
    assert options == "--publish 8080:80 --publish 443:443 --log-opt max-size=10m --expose=9000"
    got = readable(ok(kamal_ansible(app, "proxy", "boot_config", "get")))
    assert 'basecamp/kamal-proxy:v0.9.2 kamal-proxy run --metrics-port "9000"' in got
    ok(kamal_ansible(app, "proxy", "boot_config", "reset"))
    assert app.lab.ssh(app.lab.ips[0], "ls .kamal/proxy/options", check=False).returncode != 0


def test_server_bootstrap_leaves_a_ready_server_alone(app):
    out = ok(kamal_ansible(app, "server", "bootstrap"))
    assert "FAILED" not in out
    assert app.lab.ssh(app.lab.ips[0], f"test -e .kamal/lock-{app.service}", check=False).returncode == 1


def test_a_plan_for_a_version_the_registry_lacks_fails_before_any_change(app):
    before = {ip: app.containers(ip) for ip in app.lab.ips[:2]}
    audit = app.lab.ssh(app.lab.ips[0], f"cat .kamal/{app.service}-audit.log").stdout
    res = kamal_ansible(app, "plan", "-P", "--version", "nosuchversion")
    assert res.returncode != 0
    out = readable(res.stdout + res.stderr)
    assert f"{app.lab.registry} has no image {app.service}:nosuchversion" in out
    assert "the registry does NOT have it" in out and "before any change; nothing was changed" in out
    assert {ip: app.containers(ip) for ip in app.lab.ips[:2]} == before
    assert app.lab.ssh(app.lab.ips[0], f"cat .kamal/{app.service}-audit.log").stdout == audit
    assert app.lab.ssh(app.lab.ips[0], f"test -e .kamal/lock-{app.service}", check=False).returncode == 1


def test_build_push_then_a_plan_names_what_the_deploy_would_do(app):
    app.v2 = app.commit("v2")
    out = ok(kamal_ansible(app, "build", "push"))
    assert f"{app.service}:{app.v2}" in out
    before = {ip: app.containers(ip) for ip in app.lab.ips[:2]}
    plan = readable(ok(kamal_ansible(app, "plan", "-P")))
    for ip in app.lab.ips[:2]:
        assert f"Plan for {ip} web:" in plan
    assert f"image   {app.lab.registry}/{app.service}:{app.v2}: pull (the registry has it)" in plan
    assert f"create  {app.service}-web-{app.v2}" in plan and f"{app.service}-web-{app.v1}" in plan
    assert "s3cr3t-value" not in plan
    assert "route" in plan and plan.rstrip().endswith("nothing was changed")
    assert {ip: app.containers(ip) for ip in app.lab.ips[:2]} == before


def test_build_pull_gets_the_version_on_every_server(app):
    out = readable(ok(kamal_ansible(app, "build", "pull", "--version", app.v2)))
    assert out.count(f"{app.service}:{app.v2}") >= 2
    for ip in app.lab.ips[:2]:
        assert app.lab.ssh(ip, f"docker image inspect {app.lab.registry}/{app.service}:{app.v2}", check=False).returncode == 0


def test_build_deliver_pushes_then_pulls_on_every_server(app):
    image = f"{app.lab.registry}/{app.service}:{app.v2}"
    for ip in app.lab.ips[:2]:
        app.lab.ssh(ip, f"docker image rm {image}")
    # no --version: HEAD's, as Kamal's deliver; built and pushed already, so only the pulls remain
    out = readable(ok(kamal_ansible(app, "build", "deliver")))
    assert out.count(f"{image} pulled") == 2, out
    for ip in app.lab.ips[:2]:
        assert app.lab.ssh(ip, f"docker image inspect {image}", check=False).returncode == 0


def test_exec_raw_prints_the_commands_bytes_and_quiet_prints_results_only(app):
    env = dict(app.playbook_env(), PYTHONWARNINGS="ignore")
    env.pop("KAMAL_ANSIBLE_DRY_RUN", None)
    res = subprocess.run([SCRIPT, "app", "exec", "--raw", "-p", "--reuse", "printf '\\000\\001\\377ok'"], cwd=str(app.root), env=env,
                         capture_output=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert (res.returncode, res.stdout) == (0, b"\x00\x01\xffok"), res.stdout[-2000:] + res.stderr[-2000:]
    res = subprocess.run([SCRIPT, "app", "exec", "--raw", "--reuse", "true"], cwd=str(app.root), env=env, capture_output=True,
                         timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert res.returncode != 0 and res.stdout == b"" and b"give one host and role" in res.stderr, res.stderr[-2000:]
    assert readable(ok(kamal_ansible(app, "-q", "app", "version"))).split() == [app.v1, app.v1]


def test_a_long_wait_shows_live_progress(app):
    app.config["x-kamal-deploy"] = {"min_uptime": 5}
    app.write_config()
    started = time.monotonic()
    out = ok(kamal_ansible(app, "deploy", "-P"))
    assert time.monotonic() - started > 5
    progress = [line for line in out.splitlines() if f"watching {app.service}-web-{app.v2} stay up" in line]
    assert len(progress) >= 2, out[-3000:]
    assert any(line.startswith(app.lab.ips[0] + " web: ") for line in progress)
    assert served(app) == ["app v2"] * 2
    for ip in app.lab.ips[:2]:
        assert app.lab.ssh(ip, "ls .kamal/progress 2>/dev/null").stdout.strip() == "", "the progress file is removed"
    del app.config["x-kamal-deploy"]
    app.write_config()


def test_rollback_without_a_version_names_the_one_it_chose(app):
    out = readable(ok(kamal_ansible(app, "rollback")))
    assert f"Rolling back to {app.v1}" in out
    assert served(app) == ["app v1"] * 2


def test_follow_and_interactive_commands_fail_in_seconds_on_an_unreachable_host(tmp_path):
    """No lab needed: 127.0.0.1 port 1 refuses at once; ssh's connect timeout bounds a host that never answers."""
    (tmp_path / "config").mkdir()
    config = {"service": "gone", "image": "gone", "servers": ["127.0.0.1"], "registry": {"username": "u", "password": "p"},
              "builder": {"arch": "amd64"}, "ssh": {"port": 1, "config": False}}
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    for args in (["app", "logs", "-f"], ["app", "exec", "-i", "bash"], ["server", "exec", "-i", "bash"]):
        started = time.monotonic()
        res = subprocess.run([SCRIPT] + args, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False,
                             stdin=subprocess.DEVNULL)
        assert time.monotonic() - started < 15
        assert res.returncode == 1 and "could not reach 127.0.0.1 over ssh" in res.stderr, res.stdout + res.stderr
