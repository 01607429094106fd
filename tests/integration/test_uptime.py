"""A container that is not well at the end of its boot fails the deploy, against the lab: a worker role (no
proxy) whose new version crashes after it passed Kamal's readiness check. The previous container (the same
one) runs again, the new one is stopped and kept, and the error says so.

One single-server project: v1 deploys; a version crashing 12 s after its start fails with min_uptime 15
(readiness_delay at Kamal's default, 7 s); one crashing 1 s after its start fails with min_uptime 0, because
stopping v1 takes 3 s (its TERM handler) and the last look comes after that.

Then a three-server project booted one server at a time (boot.limit 1) whose second server crashes: the run
ends with one table of each host's state (booted, failed and still on v1, not reached), and a rerun fixes it.
"""
import os
import re
import shlex
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position

# What the worker does depends on the version's /www/index.html ("app <version>", see App.commit).
WORKER = """
case "$(cat /www/index.html)" in
  *crash-late*) trap 'exit 0' TERM; sleep 12 & wait $!; echo 'fatal: lost the queue' >&2; exit 3 ;;
  *crash-early*) trap 'exit 0' TERM; sleep 1 & wait $!; echo 'fatal: no queue' >&2; exit 4 ;;
esac
echo "working on $(cat /www/index.html)"
trap 'sleep 3; exit 0' TERM
sleep 100000 & wait $!
"""


@pytest.fixture(scope="module")
def workers(lab, tmp_path_factory):
    project = App(lab, tmp_path_factory.mktemp("uptime"), prefix="up")
    project.ip = lab.ips[1]
    del project.config["proxy"], project.config["readiness_delay"]
    project.config.update(servers={"workers": {"hosts": [project.ip], "proxy": False, "cmd": "sh -c " + shlex.quote(WORKER)}},
                          primary_role="workers", deploy_timeout=30, **{"x-kamal-deploy": {"min_uptime": 15}})
    project.write_config()
    yield project
    lab.ssh(project.ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                        f"rm -rf .kamal/apps/{project.service}", check=False)


def states(app):
    """container name -> (id, state) on the project's server."""
    return {name: (cid, state) for cid, name, state in (line.split() for line in app.containers(app.ip))}


def test_v1_deploys_and_stays_up_for_min_uptime(workers):
    workers.v1 = workers.commit("v1")
    res = workers.playbook("deploy")
    assert states(workers)[f"{workers.service}-workers-{workers.v1}"][1] == "running", res.stdout[-3000:]


def test_a_version_crashing_after_12_s_fails_and_v1_runs_again(workers):
    v1_name = f"{workers.service}-workers-{workers.v1}"
    v1_id = states(workers)[v1_name][0]
    late = workers.commit("crash-late")
    res = workers.playbook("deploy", check=False)
    out = res.stdout
    assert res.returncode != 0, out[-3000:]
    new_name = f"{workers.service}-workers-{late}"
    assert re.search(rf"on {workers.ip}: {new_name} exited with code 3 after 1[23]\.\d s"
                     rf"( \((restarted \d+ times?|its restart policy is restarting it)\))?; "
                     rf"{v1_name} was started again and runs on {workers.ip}", out), out[-4000:]
    assert "min_uptime=15 s" in out and "fatal: lost the queue" in out
    after = states(workers)
    assert after[v1_name] == (v1_id, "running")  # the same container, started again
    assert after[new_name][1] == "exited"        # kept, for its logs
    assert workers.lab.ssh(workers.ip, f"test -e .kamal/lock-{workers.service}", check=False).returncode == 1


def test_a_version_exited_by_the_end_of_the_boot_fails_without_min_uptime(workers):
    workers.config["x-kamal-deploy"] = {"min_uptime": 0}
    workers.config["readiness_delay"] = 0
    workers.write_config()
    v1_name = f"{workers.service}-workers-{workers.v1}"
    v1_id = states(workers)[v1_name][0]
    early = workers.commit("crash-early")
    res = workers.playbook("deploy", check=False)
    out = res.stdout
    assert res.returncode != 0, out[-3000:]
    new_name = f"{workers.service}-workers-{early}"
    assert re.search(rf"on {workers.ip}: {new_name} exited with code 4 after 1\.\d s", out), out[-4000:]
    assert f"{v1_name} was started again and runs on {workers.ip}" in out and "fatal: no queue" in out
    after = states(workers)
    assert after[v1_name] == (v1_id, "running") and after[new_name][1] == "exited"


# The fleet's state at the end of a deploy that failed on one host -----------------------------------------------

FLAKY_WORKER = """
if [ -n "$CRASH" ]; then echo 'fatal: CRASH is set on this host' >&2; exit 5; fi
trap 'exit 0' TERM
sleep 100000 & wait $!
"""


@pytest.fixture(scope="module")
def fleet(lab, tmp_path_factory):
    """Three servers, one at a time (boot.limit 1); the second one tagged `flaky` once v1 runs everywhere."""
    project = App(lab, tmp_path_factory.mktemp("fleet"), prefix="fl")
    del project.config["proxy"]
    project.config.update(servers={"workers": {"hosts": list(lab.ips), "proxy": False,
                                               "cmd": "sh -c " + shlex.quote(FLAKY_WORKER)}},
                          primary_role="workers", readiness_delay=1, deploy_timeout=10, boot={"limit": 1})
    project.config["env"]["tags"] = {"flaky": {"CRASH": "1"}}
    project.write_config()
    yield project
    for ip in lab.ips:
        lab.ssh(ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                    f"rm -rf .kamal/apps/{project.service}", check=False)


def fleet_table(out):
    """The rows of the table printed at the end: [host, role, serving now, what happened]."""
    lines = out.split(" did not complete (", 1)[1].splitlines()[2:]
    return [re.split(r"\s{2,}", line.strip(), maxsplit=3) for line in lines if line.startswith("  ")]


def test_a_deploy_failing_on_one_host_ends_with_each_hosts_state_then_a_rerun_fixes_it(fleet):
    vm1, vm2, vm3 = fleet.lab.ips
    v1 = fleet.commit("v1")
    fleet.playbook("deploy")
    fleet.config["servers"]["workers"]["hosts"] = [vm1, {vm2: "flaky"}, vm3]
    fleet.write_config()
    v2 = fleet.commit("v2")
    res = fleet.playbook("deploy", check=False)
    out = res.stdout
    assert res.returncode != 0, out[-3000:]
    assert out.count(" did not complete (") == 1, out[-5000:]  # printed once
    assert f"deploy of {v2} did not complete (1 booted, 1 failed, 1 not reached of 3 host/role pairs)" in out
    rows = fleet_table(out)
    assert [row[:3] for row in rows] == [[vm1, "workers", v2], [vm2, "workers", v1], [vm3, "workers", "as before"]], out[-3000:]
    assert rows[0][3] == "booted" and rows[2][3] == "not reached"
    assert rows[1][3].startswith(f"failed, still on the previous version: {fleet.service}-workers-{v2}: container not ready"), rows
    assert f"keeps serving on {vm2}" in out and "fatal: CRASH is set on this host" in out
    # What the table says is what runs.
    running = {ip: [line.split()[1] for line in fleet.containers(ip) if line.endswith(" running")] for ip in fleet.lab.ips}
    assert running == {vm1: [f"{fleet.service}-workers-{v2}"], vm2: [f"{fleet.service}-workers-{v1}"],
                       vm3: [f"{fleet.service}-workers-{v1}"]}

    fleet.config["servers"]["workers"]["hosts"] = [vm1, vm2, vm3]
    fleet.write_config()
    rerun = fleet.playbook("deploy")
    assert " did not complete (" not in rerun.stdout
    running = {ip: [line.split()[1] for line in fleet.containers(ip) if line.endswith(" running")] for ip in fleet.lab.ips}
    assert running == {ip: [f"{fleet.service}-workers-{v2}"] for ip in fleet.lab.ips}
