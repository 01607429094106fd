"""Verifier: what kamal.deploy.setup left on the demo's server (vm1), checked with Kamal's names and paths."""
import json
import time


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
    assert "API_KEY=demo-api-key" in env.content_string and "DATABASE_URL=postgres://" in env.content_string


def test_postgres_runs_with_its_data_in_a_host_directory_on_loopback_only(host):
    assert host.docker("demo-postgres").is_running
    assert host.file("/root/demo-postgres/data/PG_VERSION").exists
    ports = host.check_output("docker port demo-postgres")
    assert ports.strip() == "5432/tcp -> 127.0.0.1:5432", ports


def test_the_proxy_serves_the_demo_over_https_reading_postgres(host):
    assert host.docker("kamal-proxy").is_running
    version = demo_containers(host)[0]["Names"].removeprefix("demo-web-")
    page = ""
    for _attempt in range(30):  # the certificate comes from Pebble a moment after the first deploy
        page = host.run("curl -ksS --resolve demo.lab.test:443:127.0.0.1 https://demo.lab.test/").stdout
        if "visits, read from PostgreSQL" in page:
            break
        time.sleep(1)
    assert page.startswith(f"hello from kamal.deploy (version {version[:12]}): ") and "visits, read from PostgreSQL 15" in page
    redirect = host.run("curl -sS -o /dev/null -w '%{http_code}' -H 'Host: demo.lab.test' http://127.0.0.1/").stdout
    assert redirect == "301"


def test_the_deploy_lock_was_released(host):
    assert not host.file("/root/.kamal/lock-demo").exists
