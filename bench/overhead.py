"""Where a deploy's time goes: Ansible tasks and SSH round trips per host, each task's wall time, module payloads.

    .venv/bin/python bench/overhead.py [--servers 3]

One worker service (the shape of bench/vs_kamal.py, readiness_delay 0), deployed cold (v1) and warm (v2) with
-vvv and the kamal_bench_timer callback (bench/callback_plugins):
- tasks per host: tasks that ran (not skipped) for each play host; tasks delegated to the lock's host count for
  the host that ran them in the play;
- SSH round trips per server: the `SSH: EXEC` lines Ansible logs for that address (each one is one ssh
  invocation over the ControlPersist master; pipelining sends the module on its stdin);
- the wall time of each task that took more than 20 ms, and ansible-playbook's start-up (wall minus playbook);
- module payload sizes: one more deploy without pipelining and with ANSIBLE_KEEP_REMOTE_FILES, then the size of
  each AnsiballZ file left on the first server.
Writes build/bench/overhead.json.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import tempfile

from benchlib import CALLBACKS, read_lab, write_result
from vs_kamal import Side


def profiled_deploy(side, version, tmp, extra_env=None):
    times_file = os.path.join(tmp, f"times-{version}.json")
    env = {"ANSIBLE_CALLBACK_PLUGINS": CALLBACKS, "ANSIBLE_CALLBACKS_ENABLED": "kamal_bench_timer",
           "KAMAL_BENCH_TIMES": times_file, **(extra_env or {})}
    wall = side.deploy(version, extra_args=["-vvv"], extra_env=env)
    with open(times_file, encoding="utf-8") as f:
        times = json.load(f)
    execs = collections.Counter(re.findall(r"^<([0-9.]+)> SSH: EXEC ssh", side.output, re.MULTILINE))
    return {"wall_s": round(wall, 2), "startup_s": round(wall - times["playbook_seconds"], 2),
            "tasks_per_host": times["tasks_per_host"], "ssh_execs_per_server": dict(execs),
            "task_seconds": {name: round(t["seconds"], 2) for name, t in times["tasks"].items() if t["seconds"] > 0.02}}


def payload_sizes(side, lab):
    def ssh(ip, command, check=False):
        return subprocess.run(["ssh", "-F", lab["ssh_config"], ip, command], check=check, capture_output=True, text=True).stdout

    for ip in side.hosts:
        ssh(ip, "rm -rf ~/.ansible/tmp/*")
    side.deploy("v1", extra_env={"ANSIBLE_PIPELINING": "False", "ANSIBLE_KEEP_REMOTE_FILES": "True"})
    out = ssh(side.hosts[0], "find ~/.ansible/tmp -name 'AnsiballZ_*' -printf '%f %s\\n'", check=True)
    for ip in side.hosts:
        ssh(ip, "rm -rf ~/.ansible/tmp/*")
    sizes = {}
    for line in out.splitlines():
        name, size = line.rsplit(" ", 1)
        module = name.removeprefix("AnsiballZ_").removesuffix(".py")
        sizes[module] = max(int(size), sizes.get(module, 0))
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    lab = read_lab()
    hosts = [s["ip"] for s in lab["servers"]][:args.servers]
    result = {"servers": len(hosts)}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        side = Side("ours", lab, hosts, 0, os.path.join(tmp, "ours"))
        try:
            side.wipe()
            result["cold"] = profiled_deploy(side, "v1", tmp)
            result["warm"] = profiled_deploy(side, "v2", tmp)
            side.wipe()
            result["payload_bytes"] = payload_sizes(side, lab)
        finally:
            side.wipe()
    for phase in ("cold", "warm"):
        r = result[phase]
        print(f"{phase}: {r['wall_s']} s on {len(hosts)} server(s), of which ansible-playbook start-up {r['startup_s']} s")
        print(f"  tasks run per host: {r['tasks_per_host']}")
        print(f"  SSH round trips per server: {r['ssh_execs_per_server']}")
        for name, seconds in r["task_seconds"].items():
            print(f"  {seconds:5.2f} s  {name}")
    print("module payloads (AnsiballZ, bytes): " + ", ".join(f"{k} {v}" for k, v in sorted(result["payload_bytes"].items())))
    write_result("overhead.json", result)


if __name__ == "__main__":
    main()
