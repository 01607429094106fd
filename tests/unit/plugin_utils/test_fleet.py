"""The fleet's table after a failed deploy: rows from each host's last kamal_app result, and how it reads."""
import os
import re
import subprocess
import sys

from ansible_collections.kamal.deploy.plugins.plugin_utils import fleet

V2 = "2222222"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def booted(role, changed=True):
    return {"changed": changed, "role": role, "serving_version": V2}


def failed(role, serving, msg="on vm2: app-web-2222222 exited with code 3 after 12.1 s (restarted 1 time); ..."):
    return {"failed": True, "role": role, "serving_version": serving, "msg": msg + "\nlast log lines..."}


def test_booted_failed_and_not_reached_hosts():
    rows = fleet.fleet_rows([("vm1", ["web"], booted("web")), ("vm2", ["web"], failed("web", "1111111")),
                             ("vm3", ["web"], None)], V2)
    assert [(r["host"], r["state"], r["serving_version"], r["serving_known"]) for r in rows] == [
        ("vm1", "booted", V2, True), ("vm2", "failed", "1111111", True), ("vm3", "not reached", None, False)]
    # The row names the host: the reason does not repeat it.
    assert rows[1]["detail"].startswith("app-web-2222222 exited with code 3") and "\n" not in rows[1]["detail"]


def test_roles_before_the_last_result_booted_and_after_it_were_not_reached():
    rows = fleet.host_rows("vm1", ["web", "jobs", "mail"], failed("jobs", None), V2)
    assert [(r["role"], r["state"], r["serving_version"]) for r in rows] == [
        ("web", "booted", V2), ("jobs", "failed", None), ("mail", "not reached", None)]


def test_a_parallel_boot_has_a_row_per_role_from_its_own_result():
    web_failed = failed("web", "1111111")
    workers = {"failed": True, "role": "workers", "serving_version": "1111111",
               "msg": "First web container is unhealthy, not booting workers on vm2"}
    result = dict(web_failed, parallel=[web_failed, workers])
    rows = fleet.fleet_rows([("vm2", ["web", "workers", "jobs"], result)], V2)
    assert [(r["role"], r["state"], r["serving_version"]) for r in rows] == [
        ("web", "failed", "1111111"), ("workers", "failed", "1111111"), ("jobs", "not reached", None)]
    assert rows[1]["detail"] == "First web container is unhealthy, not booting workers on vm2"
    fine = {"changed": True, "role": "workers", "parallel": [booted("workers"), booted("jobs", changed=False)]}
    rows = fleet.fleet_rows([("vm4", ["workers", "jobs"], fine)], V2)
    assert [(r["role"], r["state"], r["detail"]) for r in rows] == [
        ("workers", "booted", ""), ("jobs", "booted", "already running it")]


def test_a_failure_without_a_role_fails_every_role_of_the_host_with_unknown_serving():
    rows = fleet.host_rows("vm1", ["web"], {"unreachable": True, "msg": "ssh: connection refused"}, V2)
    assert rows == [{"host": "vm1", "role": "web", "state": "failed", "serving_version": None, "serving_known": False,
                     "detail": "ssh: connection refused"}]


def test_the_table_reads_per_host():
    rows = fleet.fleet_rows([("172.29.0.11", ["workers"], booted("workers")),
                             ("172.29.0.12", ["workers"], failed("workers", "1111111")),
                             ("172.29.0.13", ["workers"], None),
                             ("172.29.0.14", ["workers"], failed("workers", None, msg="x" * 200)),
                             ("172.29.0.15", ["workers"], booted("workers", changed=False))], V2)
    lines = fleet.render(rows, "deploy", V2).splitlines()
    assert lines[0] == ("deploy of 2222222 did not complete (2 booted, 2 failed, 1 not reached of 5 host/role pairs)."
                        " Each host now:")
    assert lines[1].split() == ["host", "role", "serving", "now", "what", "happened"]
    assert lines[2].split() == ["172.29.0.11", "workers", V2, "booted"]
    assert lines[3].startswith("  172.29.0.12  workers  1111111      failed, still on the previous version: on vm2:")
    assert lines[4].split() == ["172.29.0.13", "workers", "as", "before", "not", "reached"]
    assert "not running  failed, the role is not running there: xxx" in lines[5] and lines[5].endswith("x...")
    assert lines[6].endswith("booted (already running it)")


PLAYBOOK = """
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - ansible.builtin.set_fact:
            kamal_plan_run: {hosts: {h1: {roles: [workers]}, h2: {roles: [workers]}, h3: {roles: [workers]}}}
        - ansible.builtin.set_fact:
            kamal_app_primary: {results: [{changed: true, role: workers, serving_version: "2222222"}]}
          when: inventory_hostname == 'h1'
        - ansible.builtin.set_fact:
            kamal_app_primary: {results: [{failed: true, role: workers, serving_version: "1111111", msg: "on h2: it crashed"}]}
          when: inventory_hostname == 'h2'
        - ansible.builtin.fail:
            msg: the boot failed
          when: inventory_hostname == 'h2'
      always:
        - kamal.deploy.kamal_fleet:
            version: "2222222"
            hosts: "{{ ansible_play_hosts_all }}"
          run_once: true
          when: ansible_play_hosts | length < ansible_play_hosts_all | length
"""


def test_the_action_prints_the_table_once_from_what_each_host_registered(tmp_path):
    (tmp_path / "inventory.ini").write_text("".join(
        "h%d ansible_connection=local ansible_python_interpreter=%s\n" % (n, sys.executable) for n in (1, 2, 3)))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default")
    res = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.ini"), str(tmp_path / "play.yml")], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode != 0
    assert res.stdout.count("deploy of 2222222 did not complete (1 booted, 1 failed, 1 not reached") == 1, res.stdout
    rows = [re.split(r"\s{2,}", line.strip()) for line in res.stdout.splitlines() if re.match(r"  h\d ", line)]
    assert rows == [["h1", "workers", "2222222", "booted"],
                    ["h2", "workers", "1111111", "failed, still on the previous version: it crashed"],
                    ["h3", "workers", "as before", "not reached"]], res.stdout
