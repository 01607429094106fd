"""The floor: what one server needs to start the image at all, against our deploy of it.

    .venv/bin/python bench/floor.py [--runs 5]

The floor is done by hand over one new SSH connection to one lab server: `docker pull` of the image (not on
the server before), `docker run`, then curl on /up until the first healthy answer. Ours: the cold deploy of the
same image to that server (`-e skip_push=true`, readiness_delay 0), as a proxied web role (Caddy route, DNS
switch, health through the proxy) and as a worker role. Runs alternate. Prints medians and the ratio
ours/floor; writes build/bench/floor.json.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import tempfile
import time
import uuid

from benchlib import read_lab, write_result
from vs_kamal import Side


def floor_once(lab, ip, image):
    name = f"floor{uuid.uuid4().hex[:6]}"
    script = (f"set -e; docker pull -q {image} >/dev/null; docker run -d --name {name} --network kamal {image} >/dev/null; "
              f"ip=$(docker inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}}{{{{end}}}}' {name}); "
              "until curl -fs -m 1 http://$ip/up >/dev/null; do sleep 0.02; done")
    ssh = ["ssh", "-F", lab["ssh_config"], "-o", "ControlMaster=no", "-o", "ControlPath=none", ip]
    subprocess.run(ssh + ["docker network create kamal >/dev/null 2>&1; true"], check=True, capture_output=True)
    t0 = time.monotonic()
    subprocess.run(ssh + [script], check=True, capture_output=True)
    elapsed = time.monotonic() - t0
    subprocess.run(ssh + [f"docker rm -f {name} >/dev/null; docker rmi -f {shlex.quote(image)} >/dev/null"], check=False,
                   capture_output=True)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lab = read_lab()
    ip = lab["servers"][0]["ip"]
    times = {"floor": [], "ours web": [], "ours workers": []}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        sides = {"ours web": Side("ours", lab, [ip], 0, os.path.join(tmp, "web"), web=True),
                 "ours workers": Side("ours", lab, [ip], 0, os.path.join(tmp, "workers"))}
        image = f"{lab['registry']}/{sides['ours web'].service}:v1"
        try:
            for run in range(args.runs):
                order = ["floor", *sides] if run % 2 == 0 else [*sides, "floor"]
                for what in order:
                    if what == "floor":
                        times[what].append(floor_once(lab, ip, image))
                    else:
                        sides[what].wipe()
                        times[what].append(sides[what].deploy("v1"))
        finally:
            for side in sides.values():
                side.wipe()
    floor = statistics.median(times["floor"])
    rows = [{"what": what, "median_s": round(statistics.median(t), 2), "ratio_to_floor": round(statistics.median(t) / floor, 2),
             "raw": [round(x, 2) for x in t]} for what, t in times.items()]
    print(f"\nOne server, cold, median of {args.runs} alternating runs\n\n| what | seconds | / floor |\n|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['median_s']} | {r['ratio_to_floor']} |")
    write_result("floor.json", {"rows": rows})


if __name__ == "__main__":
    main()
