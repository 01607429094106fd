"""Verifier: what kamal.deploy.deploy left on each lab server, checked with Kamal's names and paths."""
import json


def demo_containers(host):
    out = host.check_output("docker ps --filter label=service=demo --filter label=role=web --format '{{json .}}'")
    return [json.loads(line) for line in out.splitlines()]


def test_one_demo_web_container_runs_with_kamals_name(host):
    containers = demo_containers(host)
    assert len(containers) == 1, containers
    name = containers[0]["Names"]
    assert name.startswith("demo-web-")
    version = name.removeprefix("demo-web-")
    assert containers[0]["Image"] == f"172.29.0.1:5000/demo:{version}"


def test_the_env_file_is_kamals_and_private(host):
    env = host.file("/root/.kamal/apps/demo/env/roles/web.env")
    assert env.exists and env.mode == 0o600
    assert "DEMO_SECRET=demo-secret-value" in env.content_string


def test_the_proxy_serves_the_demo(host):
    assert host.docker("kamal-proxy").is_running
    version = demo_containers(host)[0]["Names"].removeprefix("demo-web-")
    assert host.check_output("curl -fsS http://127.0.0.1/") == f"hello from kamal.deploy (version {version})"


def test_the_deploy_lock_was_released(host):
    assert not host.file("/root/.kamal/lock-demo").exists
