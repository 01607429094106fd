"""Canary rollouts against the lab (issue 16): a project deployed at v1 on one server, v2 booted as the rollout
target, its split set, changed under load, stopped, and promoted by a normal deploy of v2.

The split is a file Caddy reads at every request (no reload): 300 split changes under steady load lose no
request, and over 2,000 new clients a 10 % split sends 10 % +-3 points to the rollout. A client keeps its side
(the proxy's kamal-split cookie) while the split does not change."""
import http.client
import os
import re
import subprocess
import sys
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App, Load  # noqa: E402  pylint: disable=wrong-import-position

SPLIT_CHANGES = int(os.environ.get("KAMAL_ROLLOUT_SPLIT_CHANGES", "300"))
CLIENTS = int(os.environ.get("KAMAL_ROLLOUT_CLIENTS", "2000"))


@pytest.fixture(scope="module")
def app(lab, tmp_path_factory):
    project = App(lab, tmp_path_factory.mktemp("rollout"), prefix="ro")
    project.ip = lab.ips[2]
    project.config["servers"] = {"web": [project.ip]}
    project.write_config()
    project.v1 = project.commit("v1")
    project.playbook("deploy")
    yield project
    lab.ssh(project.ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                        f"rm -rf .kamal/apps/{project.service}", check=False)


def ask(app, cookie=None, timeout=5):
    """One request as a new client (or with ``cookie``): (body, the kamal-split cookie the proxy set)."""
    conn = http.client.HTTPConnection(app.ip, 80, timeout=timeout)
    try:
        headers = {"Host": app.host}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", "/", headers=headers)
        response = conn.getresponse()
        body = response.read().decode().strip()
        assert response.status == 200, (response.status, body)
        given = re.search(r"kamal-split=([^;]+)", response.getheader("Set-Cookie") or "")
        return body, given.group(1) if given else None
    finally:
        conn.close()


def share_of_v2(app, clients):
    return sum(ask(app)[0] == "app v2" for _attempt in range(clients)) / float(clients)


def test_rollout_deploy_boots_v2_healthy_next_to_v1_without_traffic(app):
    app.v2 = app.commit("v2")
    out = app.playbook("rollout_deploy").stdout
    assert re.search(r"rollout: %s \(%s-web-%s\) gets 0%%" % (app.v2, app.service, app.v2), out), out[-3000:]
    names = "\n".join(app.containers(app.ip))
    assert f"{app.service}-web-{app.v1} running" in names and f"{app.service}-web-{app.v2} running" in names
    assert {ask(app)[0] for _attempt in range(40)} == {"app v1"}
    again = app.playbook("rollout_deploy").stdout
    assert "changed=0" in again.split("PLAY RECAP")[-1], again[-2000:]


def test_check_mode_shows_the_split_it_would_set_and_sets_nothing(app):
    out = app.playbook("rollout_set", "-e", "percent=10", "--check").stdout
    assert f"proxy split {app.service}-web: 10%" in out, out[-3000:]
    assert {ask(app)[0] for _attempt in range(40)} == {"app v1"}


def test_a_ten_percent_split_sends_ten_percent_of_new_clients_and_each_keeps_its_side(app):
    out = app.playbook("rollout_set", "-e", "percent=10").stdout
    assert "gets 10%" in out, out[-3000:]
    started = time.time()
    share = share_of_v2(app, CLIENTS)
    print("\nrollout split: 10%% asked, %.1f%% of %d new clients on v2 (%.1f s)" % (share * 100, CLIENTS, time.time() - started))
    assert 0.07 <= share <= 0.13, share
    # Sticky: each client keeps its side while the split stays.
    for _client in range(30):
        first, cookie = ask(app)
        assert cookie, "the proxy gives a new client its kamal-split cookie"
        assert {ask(app, "kamal-split=" + cookie)[0] for _attempt in range(8)} == {first}


def test_a_cookie_list_always_goes_to_the_rollout(app):
    app.playbook("rollout_set", "-e", "percent=0", "-e", "list=beta,staff")
    assert {ask(app, "kamal-rollout=beta")[0] for _attempt in range(10)} == {"app v2"}
    assert {ask(app, "kamal-rollout=other")[0] for _attempt in range(10)} == {"app v1"}
    assert {ask(app)[0] for _attempt in range(20)} == {"app v1"}


def test_details_and_audit_show_the_split(app):
    out = app.playbook("app_details").stdout
    assert re.search(r"rollout: %s .* gets 0%% and kamal-rollout=beta,staff" % app.v2, out), out[-3000:]
    audit = app.lab.ssh(app.ip, f"cat .kamal/{app.service}-audit.log").stdout
    assert f"Deployed app version {app.v2} as the rollout" in audit, audit
    assert f"Set the rollout split of app version {app.v2} to 10%" in audit, audit
    assert f"Set the rollout split of app version {app.v2} to 0% and kamal-rollout=beta,staff" in audit, audit


def steady_load(app, clients=4):
    """The zero-downtime tests' load generator, on this project's one server."""
    load = Load(app)
    load.threads = [threading.Thread(target=load.run, args=(app.ip,), daemon=True) for _attempt in range(clients)]
    return load


def test_300_split_changes_under_steady_load_lose_no_request(app):
    # One kamal_app call per change, in one task (the plan fills each call from the kamal inventory).
    percents = [(i * 37) % 101 for i in range(SPLIT_CHANGES)]
    playbook = app.root / "split_changes.yml"
    playbook.write_text("- hosts: web\n  gather_facts: false\n  tasks:\n"
                        "    - kamal.deploy.kamal_app: {role: web, command: rollout_set, rollout_percent: \"{{ item }}\"}\n"
                        "      loop: %s\n" % percents)
    started = time.time()
    with steady_load(app) as load:
        res = subprocess.run(["ansible-playbook", "-i", "config/deploy.yml", str(playbook)], cwd=app.root,
                             env=app.playbook_env(), capture_output=True, text=True, check=False)
        time.sleep(0.3)
    seconds = time.time() - started
    assert res.returncode == 0, res.stdout[-4000:]
    changed = int(re.findall(r"changed=(\d+)", res.stdout.split("PLAY RECAP")[-1])[0])
    print("\nrollout split changes: %d changes in %.1f s, %d requests, %d failed"
          % (SPLIT_CHANGES, seconds, load.requests, load.failures))
    assert changed == 1  # one task; each of its calls changed the split (the loop's items differ in turn)
    assert load.requests > SPLIT_CHANGES
    assert load.failures == 0, load.errors[:10]


def test_stop_sends_everything_back_to_v1_and_stops_v2(app):
    out = app.playbook("rollout_stop").stdout
    assert "rollout stopped" in out, out[-3000:]
    assert {ask(app)[0] for _attempt in range(40)} == {"app v1"}
    assert {ask(app, "kamal-rollout=beta")[0] for _attempt in range(5)} == {"app v1"}
    assert f"{app.service}-web-{app.v2} exited" in "\n".join(app.containers(app.ip))


def test_a_deploy_of_the_rollout_version_promotes_its_container(app):
    app.playbook("rollout_deploy")
    app.playbook("rollout_set", "-e", "percent=50")
    rollout_id = [line.split()[0] for line in app.containers(app.ip) if line.split()[1] == f"{app.service}-web-{app.v2}"]
    with steady_load(app, 3) as load:
        out = app.playbook("deploy").stdout
    assert load.failures == 0, load.errors[:10]
    assert {ask(app)[0] for _attempt in range(40)} == {"app v2"}
    states = {line.split()[1]: (line.split()[0], line.split()[2]) for line in app.containers(app.ip)}
    assert states[f"{app.service}-web-{app.v2}"] == (rollout_id[0], "running"), (out[-3000:], states)
    assert states[f"{app.service}-web-{app.v1}"][1] == "exited"
    assert "rollout: none" in app.playbook("rollout_status").stdout
