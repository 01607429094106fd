"""Deploy wall time, kamal.deploy against the real Kamal 2.11, side by side on the same lab servers.

    .venv/bin/python bench/vs_kamal.py [--runs 5] [--servers 1,3] [--delays 0,7]

Like for like, as Kamal can run here: a worker role (proxy: false, primary_role: workers), the same image
already in the lab registry (labelled service=<service>), `kamal deploy --skip-push --version=V` against
`ansible-playbook kamal.deploy.deploy -e skip_push=true -e version=V`, with the same readiness_delay.
Runs alternate between the tools. "cold" = first deploy (no container or image of the service on the
servers), "warm" = v1 -> v2, "noop" = the same version again. Prints a table with the ratio ours/Kamal
and writes build/bench/vs_kamal.json.
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

KAMAL = os.path.join(os.path.dirname(sys.executable), "kamal")
PHASES = ("cold", "warm", "noop", "redeploy")


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


class Side:
    """One tool's project: config/deploy.yml for a worker-only service on the given hosts."""

    def __init__(self, tool, lab, hosts, delay, root, web=False):
        """``web``: ours only (Kamal's proxy image cannot be had here), a proxied web role instead of workers."""
        self.tool, self.lab, self.hosts, self.root = tool, lab, hosts, root
        self.output = ""
        self.service = f"{tool[:3]}{uuid.uuid4().hex[:6]}"
        config = {
            "service": self.service, "image": self.service,
            "servers": {"workers": {"hosts": hosts, "proxy": False}}, "primary_role": "workers",
            "registry": {"server": lab["registry"], "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
            "builder": {"arch": "amd64"}, "readiness_delay": delay,
            "ssh": {"user": "root", "keys": [lab["ssh_key"]], "keys_only": True, "config": lab["ssh_config"]},
        }
        if web:
            config.pop("primary_role")
            config["servers"] = {"web": {"hosts": hosts}}
            config["proxy"] = {"host": f"{self.service}.lab.test", "app_port": 80}
        write_lab_project(root, config, COLLECTIONS, proxy_image=f"{lab['registry']}/kamal-lab/proxy:2.11" if web else None)
        for version in ("v1", "v2"):   # the image Kamal expects: <registry>/<service>:<version>, labelled
            tag = f"{lab['registry_push']}/{self.service}:{version}"
            sh(["docker", "build", "-q", "-t", tag, "-"], input=f"FROM kamal-lab/demo-app:{version}\nLABEL service={self.service}\n",
               env=dict(os.environ, DOCKER_BUILDKIT="0"))
            sh(["docker", "push", "-q", tag])

    def deploy(self, version, extra_args=(), extra_env=None, command="deploy"):
        """``command`` (deploy or redeploy) ``version`` (already in the registry); the wall time. The output is
        kept in ``self.output``."""
        if self.tool == "kamal":
            cmd = [KAMAL, command, "--skip-push", f"--version={version}", *extra_args]
            env = dict(os.environ)
        else:
            cmd = ["ansible-playbook", "-i", "config/deploy.yml", f"kamal.deploy.{command}", "-e", "skip_push=true",
                   "-e", f"version={version}", *extra_args]
            env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(self.root, "ansible.cfg"),
                       PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        env.update(extra_env or {})
        t0 = time.monotonic()
        res = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - t0
        self.output = res.stdout
        if res.returncode != 0:
            raise SystemExit(f"{self.tool} {command} {version} failed:\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
        return elapsed

    def wipe(self):
        """Back to cold: no container, image, env file or lock of the service on the servers."""
        for ip in self.hosts:
            subprocess.run(["ssh", "-F", self.lab["ssh_config"], ip,
                            f"docker ps -aq --filter label=service={self.service} | xargs -r docker rm -f >/dev/null; "
                            f"docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | grep '/{self.service}:' | xargs -r docker rmi -f >/dev/null; "
                            f"rm -rf .kamal/apps/{self.service} .kamal/lock-{self.service}"], check=False, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--servers", default="1,3")
    parser.add_argument("--delays", default="0,7")
    parser.add_argument("--output", default="vs_kamal.json", help="file name under build/bench")
    parser.add_argument("--web", action="store_true", help="also our proxied web role against our worker role")
    args = parser.parse_args()
    lab = read_lab()
    rows = []
    for delay in [int(d) for d in args.delays.split(",")]:
        for count in [int(n) for n in args.servers.split(",")]:
            hosts = [s["ip"] for s in lab["servers"]][:count]
            if len(hosts) < count:
                raise SystemExit(f"the lab has {len(hosts)} servers; bring it up with --servers {count}")
            tools = ("kamal", "ours", "web") if args.web else ("kamal", "ours")
            times = {tool: {phase: [] for phase in PHASES} for tool in tools}
            with tempfile.TemporaryDirectory(prefix="bench-vs-") as tmp:
                sides = {tool: Side("ours" if tool == "web" else tool, lab, hosts, delay, os.path.join(tmp, tool),
                                    web=tool == "web") for tool in tools}
                try:
                    for run in range(args.runs):
                        for tool in (tools if run % 2 == 0 else tuple(reversed(tools))):
                            side = sides[tool]
                            side.wipe()
                            times[tool]["cold"].append(side.deploy("v1"))
                            times[tool]["warm"].append(side.deploy("v2"))
                            times[tool]["noop"].append(side.deploy("v2"))
                            times[tool]["redeploy"].append(side.deploy("v2", command="redeploy"))
                finally:
                    for side in sides.values():
                        side.wipe()
            for phase in PHASES:
                k, o = statistics.median(times["kamal"][phase]), statistics.median(times["ours"][phase])
                row = {"readiness_delay": delay, "servers": count, "phase": phase, "kamal_s": round(k, 2),
                       "ours_s": round(o, 2), "ratio": round(o / k, 2), "runs": args.runs,
                       "raw": {tool: times[tool][phase] for tool in tools}}
                line = f"delay {delay}  {count} server(s)  {phase:8}  Kamal {k:5.1f} s   ours {o:5.1f} s   ours/Kamal {o / k:4.2f}"
                if args.web:
                    w = statistics.median(times["web"][phase])
                    row.update(web_s=round(w, 2), web_over_worker=round(w / o, 2))
                    line += f"   ours web {w:5.1f} s   web/worker {w / o:4.2f}"
                rows.append(row)
                print(line, flush=True)
    write_result(args.output, {"rows": rows})
    web = " ours web (s) | web/worker |" if args.web else ""
    print("\n| readiness_delay | servers | deploy | Kamal 2.11 (s) | kamal.deploy (s) | ours/Kamal |" + web)
    print("|---|---|---|---|---|---|" + ("---|---|" if args.web else ""))
    for r in rows:
        extra = f" {r['web_s']} | {r['web_over_worker']} |" if args.web else ""
        print(f"| {r['readiness_delay']} | {r['servers']} | {r['phase']} | {r['kamal_s']} | {r['ours_s']} | {r['ratio']} |" + extra)


if __name__ == "__main__":
    main()
