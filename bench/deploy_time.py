"""Deploy wall time of kamal.deploy.deploy on the lab: 1 and 3 servers, cold (first deploy) and warm (v1 -> v2).

    .venv/bin/python bench/deploy_time.py [--runs N]

A proxied web role (the real path: build on the controller, push, pull, boot, health, DNS switch, drain,
stop old) and a worker role (readiness_delay 0), each a fresh service per run. Prints a table and writes
build/bench/deploy_time.json. Not a test: figures vary with the machine's load; compare them side by side.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, "build", "lab", "lab.json")
COLLECTIONS = os.path.join(REPO, "build", "collections")
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import write_lab_project  # noqa: E402  pylint: disable=wrong-import-position


def project(lab, root, hosts, role):
    service = f"bench{uuid.uuid4().hex[:6]}"
    config = {"service": service, "image": service, "servers": {role: {"hosts": hosts}},
              "registry": {"server": lab["registry"], "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
              "builder": {"arch": "amd64"}, "ssh": {"keys": [lab["ssh_key"]], "config": lab["ssh_config"]},
              "readiness_delay": 0}
    if role == "web":
        config["proxy"] = {"host": f"{service}.lab.test"}
    else:
        config["primary_role"] = role
        config["servers"][role]["proxy"] = False
    write_lab_project(root, config, COLLECTIONS, proxy_image=f"{lab['registry']}/kamal-lab/proxy:2.11")
    git(root, "init", "-q")
    return service


def git(root, *args):
    subprocess.run(["git", "-C", root, "-c", "user.email=b@example.test", "-c", "user.name=b", *args], check=True,
                   capture_output=True)


def commit(root, version):
    os.makedirs(os.path.join(root, "app"), exist_ok=True)
    for name, text in (("index.html", f"app {version}\n"), ("up", "ok\n")):
        with open(os.path.join(root, "app", name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(root, "Dockerfile"), "w", encoding="utf-8") as f:
        f.write("FROM kamal-lab/busybox:1\nCOPY app/ /www/\n"
                "CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM INT; httpd -f -p 80 -h /www & wait\"]\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", version)


def deploy(root):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env.pop("VERSION", None)
    t0 = time.monotonic()
    res = subprocess.run(["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy"], cwd=root, env=env,
                         capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(f"deploy failed in {root}:\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
    return elapsed


def cleanup(lab, service, hosts):
    for ip in hosts:
        subprocess.run(["ssh", "-F", lab["ssh_config"], ip,
                        f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f >/dev/null; "
                        f"docker images -q --filter label=service={service} | xargs -r docker rmi -f >/dev/null; "
                        f"rm -rf .kamal/apps/{service}"], check=False, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with open(LAB, encoding="utf-8") as f:
        lab = json.load(f)
    ips = [s["ip"] for s in lab["servers"]]
    rows = []
    for role in ("web", "workers"):
        for count in (1, 3):
            cold, warm = [], []
            for _run in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="kamal-bench-") as root:
                    service = project(lab, root, ips[:count], role)
                    try:
                        commit(root, "v1")
                        cold.append(deploy(root))
                        commit(root, "v2")
                        warm.append(deploy(root))
                    finally:
                        cleanup(lab, service, ips[:count])
            rows.append({"role": role, "servers": count, "cold_median_s": round(statistics.median(cold), 2),
                         "warm_median_s": round(statistics.median(warm), 2), "cold": cold, "warm": warm})
            print(f"{role:8} {count} server(s): cold {statistics.median(cold):5.1f} s   warm (v1->v2) "
                  f"{statistics.median(warm):5.1f} s   (median of {args.runs})", flush=True)
    out = os.path.join(REPO, "build", "bench")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "deploy_time.json"), "w", encoding="utf-8") as f:
        json.dump({"runs": args.runs, "rows": rows}, f, indent=2)
    print("\n| role | servers | cold (s) | warm v1->v2 (s) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['role']} | {r['servers']} | {r['cold_median_s']} | {r['warm_median_s']} |")


if __name__ == "__main__":
    main()
