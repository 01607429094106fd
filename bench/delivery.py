"""Delivery time of one image to 3 lab servers, in each image delivery mode of kamal.deploy.

    .venv/bin/python bench/delivery.py [--mb 100] [--runs 1] [--servers 3]

Modes: a remote registry that demands a login (the lab's 172.29.0.1:5001), a local registry on the controller
reached through SSH remote forwarding (localhost:5557), and registry-free delivery over SSH (image_delivery: ssh).
Each run deploys a fresh worker service (no proxy, readiness_delay 0) whose image has a new layer of --mb random
megabytes (it does not compress); the image is built before the timed deploy, so the deploy's tasks time only the
delivery and the boot. A small callback records each task's wall time:

- push: the "Build and push" task (login + push; nothing to push with ssh delivery);
- preflight: the local registry's forward check; deliver: the ssh delivery task (save + copy + load);
- boot: the app boot task, which pulls in the registry modes; with ssh delivery the image is already there,
  so that boot is the baseline subtracted from the others to get their pull time.

delivery = push + preflight + deliver + (boot - boot of the ssh mode). Writes build/bench/delivery.json.
Not a test: figures vary with the machine's load.
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

from benchlib import CALLBACKS, COLLECTIONS, read_lab, write_result
from project import write_lab_project  # benchlib put tests/lab on sys.path

LOCAL_PORT = 5557  # one kamal-docker-registry per controller: the port the tests use
MODES = ("remote registry + login", "local registry + SSH forward", "image_delivery: ssh")


def git(root, *args):
    return subprocess.run(["git", "-C", root, "-c", "user.email=b@example.test", "-c", "user.name=b", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def project(lab, root, mode, hosts):
    service = f"regbench{uuid.uuid4().hex[:6]}"
    config = {"service": service, "servers": {"workers": {"hosts": hosts, "cmd": "sleep 3600", "proxy": False}}, "primary_role": "workers",
              "builder": {"arch": "amd64", "context": "."}, "ssh": {"keys": [lab["ssh_key"]], "config": lab["ssh_config"]},
              "readiness_delay": 0}
    secrets = "KAMAL_REGISTRY_PASSWORD=none\n"
    if mode == MODES[0]:
        auth = lab["auth_registry"]
        config["image"] = service
        config["registry"] = {"server": auth["server"], "username": auth["username"], "password": ["KAMAL_REGISTRY_PASSWORD"]}
        secrets = f"KAMAL_REGISTRY_PASSWORD={auth['password']}\n"
    elif mode == MODES[1]:
        config["registry"] = {"server": f"localhost:{LOCAL_PORT}"}
    else:
        config["x-kamal-deploy"] = {"image_delivery": "ssh"}
    write_lab_project(root, config, COLLECTIONS, secrets=secrets, proxy_image=f"{lab['registry']}/kamal-lab/proxy:2.11")
    git(root, "init", "-q")
    with open(os.path.join(root, "Dockerfile"), "w", encoding="utf-8") as f:
        f.write("FROM kamal-lab/busybox:1\nCOPY blob /blob\n")
    return service


def run_mode(lab, mode, hosts, mb, workdir):
    root = tempfile.mkdtemp(prefix="bench-delivery-", dir=workdir)
    service = project(lab, root, mode, hosts)
    with open(os.path.join(root, "blob"), "wb") as f:
        f.write(os.urandom(mb * 1_000_000))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v1")
    version = git(root, "rev-parse", "HEAD")
    repository = {MODES[0]: f"{lab['auth_registry']['server']}/{service}", MODES[1]: f"localhost:{LOCAL_PORT}/{service}",
                  MODES[2]: service}[mode]
    # Built beforehand with the tags and label kamal_build looks for: the deploy then only delivers and boots.
    subprocess.run(["docker", "build", "-q", "-t", f"{repository}:{version}", "-t", f"{repository}:latest",
                    "--label", f"service={service}", root], check=True, capture_output=True,
                   env=dict(os.environ, DOCKER_BUILDKIT="0"))
    times_file = os.path.join(root, "times.json")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
               ANSIBLE_CALLBACKS_ENABLED="kamal_bench_timer", KAMAL_BENCH_TIMES=times_file,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    t0 = time.monotonic()
    res = subprocess.run(["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy"], cwd=root, env=env,
                         capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    total = time.monotonic() - t0
    try:
        if res.returncode != 0:
            raise SystemExit(f"{mode}: deploy failed\n{res.stdout[-4000:]}{res.stderr[-2000:]}")
        with open(times_file, encoding="utf-8") as f:
            times = json.load(f)["tasks"]

        def task(prefix):
            return sum(t["seconds"] for name, t in times.items() if prefix in name)

        return {"push": task("Build and push"), "preflight": task("Check that every server reaches the local registry"),
                "deliver": task(": Deliver "), "boot": task(": App boot "), "deploy": total}
    finally:
        for ip in hosts:
            subprocess.run(["ssh", "-F", lab["ssh_config"], ip,
                            f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f >/dev/null; "
                            f"docker images -q --filter label=service={service} | sort -u | xargs -r docker rmi -f >/dev/null; "
                            f"rm -rf .kamal/apps/{service}"], check=False, capture_output=True)
        subprocess.run(["docker", "rmi", "-f", f"{repository}:{version}", f"{repository}:latest"], check=False, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100, help="size of the image's new layer, in MB")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    lab = read_lab()
    hosts = [s["ip"] for s in lab["servers"]][:args.servers]
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    results = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as workdir:
        for _run in range(args.runs):
            for mode in MODES:
                results[mode].append(run_mode(lab, mode, hosts, args.mb, workdir))
                print(f"  {mode}: {results[mode][-1]}", flush=True)
    median = {mode: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()}
    baseline = median[MODES[2]]["boot"]
    print(f"\nDelivery of one image (a new {args.mb} MB layer) to {len(hosts)} servers, median of {args.runs} run(s), seconds:")
    print(f"{'mode':32} {'push':>6} {'preflight':>9} {'deliver':>7} {'boot':>6} {'delivery':>8} {'deploy':>7}")
    for mode, m in median.items():
        m["delivery"] = m["push"] + m["preflight"] + m["deliver"] + max(0.0, m["boot"] - baseline)
        print(f"{mode:32} {m['push']:6.1f} {m['preflight']:9.1f} {m['deliver']:7.1f} {m['boot']:6.1f} {m['delivery']:8.1f} {m['deploy']:7.1f}")
    write_result("delivery.json", {"mb": args.mb, "servers": hosts, "runs": results, "median": median})


if __name__ == "__main__":
    main()
