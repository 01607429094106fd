"""kamal.deploy.setup with the seed deploy.yml shape (web behind the proxy + a Postgres accessory with its
data in a host directory) on the lab: the app reaches the database as <service>-postgres, a role-targeted
setup (-l web_new) leaves the database alone, a second setup changes nothing, and a reboot of the
accessory with a new tag keeps every row."""
import os
import random
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, changed_counts  # noqa: E402  pylint: disable=wrong-import-position

ROWS = 1000


@pytest.fixture(scope="module")
def shop(lab, tmp_path_factory):
    web, web_new = lab.ips[0], lab.ips[1]
    project = App(lab, tmp_path_factory.mktemp("setup"), prefix="shop", servers={"web": [web]}, accessories={
        "postgres": {
            "image": f"{lab.registry}/kamal-lab/postgres:15",
            "host": web,
            "port": f"127.0.0.1:{random.randint(20000, 29999)}:5432",
            "env": {"clear": {"POSTGRES_USER": "postgres", "POSTGRES_DB": "shop_production"},
                    "secret": ["POSTGRES_PASSWORD"]},
            "directories": ["data:/var/lib/postgresql/data"],
        }})
    project.secrets += "POSTGRES_PASSWORD=pg-secret-value\n"
    project.write_config()
    project.web, project.web_new = web, web_new
    project.db = f"{project.service}-postgres"
    project.version = project.commit("v1")
    yield project
    for ip in (web, web_new):
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} --filter label=service={project.db} "
                    f"| xargs -r docker rm -f; docker rm -f {project.db}; "
                    f"rm -rf .kamal/apps/{project.service} {project.db}", check=False)


def db_container(shop):
    out = shop.lab.ssh(shop.web, "docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.State.Status}} {{.Config.Image}}' "
                       + shop.db, check=False)
    return out.stdout.split() if out.returncode == 0 else None


def sql(shop, statement):
    res = shop.playbook("accessory_exec", "-e", "accessory=postgres", "-e", "reuse=true",
                        "-e", f'{{"cmd": ["psql", "-U", "postgres", "-d", "shop_production", "-tAc", "{statement}"]}}')
    return res.stdout


def wait_for_db(shop, timeout=60):
    deadline = time.monotonic() + timeout
    while shop.lab.ssh(shop.web, f"docker exec {shop.db} pg_isready -U postgres -h 127.0.0.1", check=False).returncode:
        assert time.monotonic() < deadline, "postgres did not get ready"
        time.sleep(0.5)


def test_setup_boots_the_database_and_the_app_reaches_it(shop):
    res = shop.playbook("setup", "-e", f"version={shop.version}")
    assert shop.get(shop.web) == (200, "app v1")
    cid, _started, status, image = db_container(shop)
    assert status == "running" and image.endswith("kamal-lab/postgres:15")
    env_file = f".kamal/apps/{shop.service}/env/accessories/postgres.env"
    assert shop.lab.ssh(shop.web, f"stat -c %a {env_file}").stdout.strip() == "600"
    assert shop.lab.ssh(shop.web, f"test -d {shop.db}/data").returncode == 0
    assert "pg-secret-value" not in res.stdout + res.stderr

    # the app container resolves and connects to <service>-postgres on the kamal network
    wait_for_db(shop)
    reach = shop.playbook("app_exec", "-e", "reuse=true",
                          "-e", f'{{"cmd": ["sh", "-c", "nc -w 3 {shop.db} 5432 </dev/null && echo reached"]}}')
    assert "reached" in reach.stdout

    sql(shop, f"CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, {ROWS})")
    assert f'"{ROWS}"' in sql(shop, "SELECT count(*) FROM orders")
    shop.db_before = cid


def test_setup_of_a_new_role_never_touches_the_database(shop):
    before = db_container(shop)
    shop.config["servers"]["web_new"] = [shop.web_new]
    shop.write_config()
    res = shop.playbook("setup", "-l", "web_new", "-e", f"version={shop.version}", "-e", "skip_push=true")
    assert "accessory" not in " ".join(line for line in res.stdout.splitlines() if line.startswith("TASK") and "skipping" in line)
    assert db_container(shop) == before  # same ID, same StartedAt, still running
    running = shop.lab.ssh(shop.web_new, f"docker ps --filter label=service={shop.service} --format '{{{{.Names}}}}'").stdout.split()
    assert running == [f"{shop.service}-web_new-{shop.version}"]
    # web_new's host never saw the accessory
    assert shop.lab.ssh(shop.web_new, f"docker ps -a -q --filter name={shop.db}").stdout.strip() == ""


def test_a_second_identical_setup_changes_nothing(shop):
    before = db_container(shop)
    res = shop.playbook("setup", "-e", f"version={shop.version}", "-e", "skip_push=true")
    assert changed_counts(res.stdout) == [0, 0], res.stdout[-3000:]
    assert db_container(shop) == before
    assert shop.get(shop.web) == (200, "app v1")


def test_a_reboot_with_a_new_tag_keeps_every_row(shop):
    source = f"{shop.lab.registry_push}/kamal-lab/postgres:15"
    subprocess.run(["docker", "tag", source, source + "-b"], check=True, capture_output=True)
    subprocess.run(["docker", "push", "-q", source + "-b"], check=True, capture_output=True)
    shop.config["accessories"]["postgres"]["image"] += "-b"
    shop.write_config()
    plan = shop.playbook("accessory_boot", "-e", "accessory=postgres", "--check", "--diff")
    # boot never replaces a running accessory: it names the change
    assert changed_counts(plan.stdout) == [0], plan.stdout[-4000:]
    assert "accessory_reboot" in plan.stdout
    shop.playbook("accessory_reboot", "-e", "accessory=postgres")
    cid, _started, status, image = db_container(shop)
    assert status == "running" and image.endswith(":15-b") and cid != shop.db_before
    wait_for_db(shop)
    assert f'"{ROWS}"' in sql(shop, "SELECT count(*) FROM orders")


def test_remove_takes_everything_away_after_confirmation(shop):
    refused = shop.playbook("accessory_remove", "-e", "accessory=postgres", check=False)
    assert refused.returncode != 0 and "confirm" in refused.stdout
    assert db_container(shop)[2] == "running"
    shop.playbook("remove", "-e", "confirm=true")
    assert db_container(shop) is None
    assert shop.lab.ssh(shop.web, f"test -e {shop.db}", check=False).returncode == 1
    for ip in (shop.web, shop.web_new):
        assert shop.containers(ip) == []
