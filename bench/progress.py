"""Live progress on long waits, on against off, in one run: what it costs.

    .venv/bin/python bench/progress.py [--mb 100] [--runs 3] [--servers 1]

Two deploys of a worker service (no proxy, readiness_delay 0, the lab's registry), each timed with live progress on
(the default) and off (-e kamal_progress=false), the two alternating so both see the same machine:

- big: a version whose image has a new layer of --mb random megabytes (it does not compress), pushed to the registry
  beforehand, so the deploy's time is the servers' pull and the boot; with progress on, the controller shows the
  pull's bytes every 2 s (the lines shown are counted);
- no-op: the version already running deployed again (nothing to pull, nothing to boot): the fast path, where
  progress must cost nothing (no read is made before a call has run 2 s).

Writes build/bench/progress.json and prints the medians. Not a test: figures vary with the machine's load; run it
on a quiet machine.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from benchlib import COLLECTIONS, read_lab, write_result
from project import write_lab_project  # benchlib put tests/lab on sys.path


def git(root, *args):
    return subprocess.run(["git", "-C", root, "-c", "user.email=b@example.test", "-c", "user.name=b", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def project(lab, root, hosts):
    service = f"progbench{uuid.uuid4().hex[:6]}"
    # The worker stops at once on SIGTERM (a bare `sleep` as PID 1 would hold each deploy for drain_timeout).
    worker = {"hosts": hosts, "cmd": "sh -c \"trap 'exit 0' TERM; while :; do sleep 1; done\"", "proxy": False}
    config = {"service": service, "image": service, "servers": {"workers": worker},
              "primary_role": "workers", "builder": {"arch": "amd64", "context": "."},
              "registry": {"server": lab["registry"], "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
              "ssh": {"keys": [lab["ssh_key"]], "config": lab["ssh_config"]}, "readiness_delay": 0}
    write_lab_project(root, config, COLLECTIONS, proxy_image=f"{lab['registry']}/kamal-lab/proxy:2.11")
    git(root, "init", "-q")
    with open(os.path.join(root, "Dockerfile"), "w", encoding="utf-8") as f:
        f.write("FROM kamal-lab/busybox:1\nCOPY blob /blob\n")
    return service


def push_version(lab, root, service, mb):
    """A new commit whose image has a new layer of ``mb`` random megabytes, built and pushed: its version."""
    with open(os.path.join(root, "blob"), "wb") as f:
        f.write(os.urandom(mb * 1_000_000))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v")
    version = git(root, "rev-parse", "HEAD")
    image = f"{lab['registry_push']}/{service}:{version}"
    subprocess.run(["docker", "build", "-q", "-t", image, "--label", f"service={service}", root], check=True, capture_output=True,
                   env=dict(os.environ, DOCKER_BUILDKIT="0"))
    subprocess.run(["docker", "push", "-q", image], check=True, capture_output=True)
    subprocess.run(["docker", "rmi", "-f", image], check=False, capture_output=True)
    return version


def deploy(root, version, progress):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="kamal.deploy.kamal",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    args = ["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy", "-e", f"version={version}", "-e", "skip_push=true",
            "-e", f"kamal_progress={'true' if progress else 'false'}"]
    t0 = time.monotonic()
    res = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(f"deploy failed\n{res.stdout[-4000:]}{res.stderr[-2000:]}")
    shown = sum(1 for line in res.stdout.splitlines() if ": pulling " in line)
    return seconds, shown


def clean(lab, hosts, service):
    for ip in hosts:
        subprocess.run(["ssh", "-F", lab["ssh_config"], ip,
                        f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f >/dev/null; "
                        f"docker images -q --filter label=service={service} | sort -u | xargs -r docker rmi -f >/dev/null; "
                        f"rm -rf .kamal/apps/{service} .kamal/{service}-audit.log"], check=False, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100, help="size of the image's new layer, in MB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    lab = read_lab()
    hosts = [s["ip"] for s in lab["servers"]][:args.servers]
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    results = {"big on": [], "big off": [], "no-op on": [], "no-op off": [], "lines shown": []}
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as root:
        service = project(lab, root, hosts)
        try:
            deploy(root, push_version(lab, root, service, 1), progress=False)  # the first deploy boots the proxy, network...
            for run in range(args.runs):
                order = (True, False) if run % 2 == 0 else (False, True)
                for progress in order:
                    version = push_version(lab, root, service, args.mb)
                    seconds, shown = deploy(root, version, progress)
                    results["big on" if progress else "big off"].append(seconds)
                    if progress:
                        results["lines shown"].append(shown)
                    for again in order:
                        results["no-op on" if again else "no-op off"].append(deploy(root, version, again)[0])
                print(f"  run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in results.items() if v), flush=True)
        finally:
            clean(lab, hosts, service)
    median = {key: statistics.median(values) for key, values in results.items() if values}
    print(f"\nDeploy to {len(hosts)} server(s), median of {args.runs} run(s), seconds (lines: progress lines shown):")
    print(f"{'deploy':40} {'progress on':>11} {'progress off':>12}")
    print(f"{'big (a new %d MB layer pulled)' % args.mb:40} {median['big on']:11.2f} {median['big off']:12.2f}")
    print(f"{'no-op (the running version again)':40} {median['no-op on']:11.2f} {median['no-op off']:12.2f}")
    print(f"progress lines shown during a big deploy: {median.get('lines shown', 0):.0f}")
    write_result("progress.json", {"mb": args.mb, "servers": hosts, "runs": results, "median": median})


if __name__ == "__main__":
    main()
