"""Zero downtime, measured: steady traffic to a proxied app on every lab server through deploys and proxy reboots.

    .venv/bin/python bench/zero_downtime.py [--deploys 10] [--clients 2]

1. A web app (the lab's busybox httpd behind our Caddy proxy) on every server. --clients threads per server
   send requests through the proxy without pause beyond 10 ms (a new connection each, 3 s timeout). Under that
   load: --deploys consecutive deploys alternating v1/v2 (images built and pushed before), then one rollback.
   Printed: requests, failures (non-200 and connection errors; the claim is 0), p50/p99 latency during the
   deploys and outside them (the quiet seconds before, between and after).
2. Proxy reboot: one client per server, a request every 5 ms. The gap on a server is the longest time between
   two successful answers there. Measured for a plain `docker restart kamal-proxy` (the floor: what a container
   restart costs), for `proxy_reboot` on all servers at once, and for `proxy_reboot -e rolling=true`, where the
   figure that matters is how many servers were in their gap at the same moment (the claim is 1).
Writes build/bench/zero_downtime.json. Not a test: latencies vary with the machine's load.
"""
import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

from benchlib import COLLECTIONS, read_lab, write_result
from project import App, Lab, Load  # benchlib put tests/lab on sys.path


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def inside(t, windows):
    return any(a <= t <= b for a, b in windows)


def timed(app, *args):
    t0 = time.monotonic()
    app.playbook(*args)
    return t0, time.monotonic()


def deploys_under_load(app, v1, v2, count, clients):
    windows = []
    with Load(app, clients_per_server=clients) as load:
        time.sleep(3)
        for n in range(count):
            windows.append(timed(app, "deploy", "-e", f"version={v1 if n % 2 == 0 else v2}", "-e", "skip_push=true"))
            time.sleep(2)
        previous = v2 if count % 2 == 1 else v1  # the version before the last deploy
        windows.append(timed(app, "rollback", "-e", f"version={previous}"))
        time.sleep(3)
    during = [s[1] for s in load.samples if s[2] and inside(s[0], windows)]
    outside = [s[1] for s in load.samples if s[2] and not inside(s[0], windows)]
    return {
        "deploys": count, "rollbacks": 1, "requests": load.requests, "failures": load.failures,
        "errors": load.errors[:10],
        "deploy_seconds": [round(b - a, 2) for a, b in windows],
        "during": {"requests": len(during), "p50_ms": round(percentile(during, 50) * 1000, 1),
                   "p99_ms": round(percentile(during, 99) * 1000, 1)},
        "outside": {"requests": len(outside), "p50_ms": round(percentile(outside, 50) * 1000, 1),
                    "p99_ms": round(percentile(outside, 99) * 1000, 1)},
    }


class Probe(Load):
    """One client per server, a request every 5 ms with a short timeout: a fine-grained view of a gap."""

    def run(self, ip):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                ok = self.app.get(ip, timeout=1)[0] == 200
            except OSError:
                ok = False
            with self.lock:
                self.requests += 1
                self.failures += not ok
                self.samples.append((t0, time.monotonic() - t0, ok, ip))
            time.sleep(0.005)


def gaps(samples, ips, t0, t1):
    """Per server: (start, end) of the longest stretch between two successful answers within [t0, t1]."""
    result = {}
    for ip in ips:
        done = sorted(s[0] + s[1] for s in samples if s[3] == ip and s[2] and t0 - 1 <= s[0] <= t1 + 5)
        best = (done[0], done[0]) if done else (t0, t1)
        for a, b in zip(done, done[1:]):
            if b - a > best[1] - best[0]:
                best = (a, b)
        result[ip] = best
    return result


def most_at_once(intervals):
    events = sorted([(a, 1) for a, b in intervals] + [(b, -1) for a, b in intervals])
    now = peak = 0
    for _t, step in events:
        now += step
        peak = max(peak, now)
    return peak


def proxy_gaps(app, lab, how):
    with Probe(app, clients_per_server=1) as probe:
        time.sleep(1.5)
        t0 = time.monotonic()
        if how == "docker restart":
            lab.ssh(lab.ips[0], "docker restart kamal-proxy >/dev/null")
        elif how == "rolling":
            app.playbook("proxy_reboot", "-e", "confirm=true", "-e", "rolling=true")
        else:
            app.playbook("proxy_reboot", "-e", "confirm=true")
        t1 = time.monotonic()
        time.sleep(2)
    ips = lab.ips[:1] if how == "docker restart" else lab.ips
    found = gaps(probe.samples, ips, t0, t1)
    return {"how": how, "seconds": round(t1 - t0, 2), "failures": probe.failures, "requests": probe.requests,
            "gap_ms": {ip: round((b - a) * 1000) for ip, (a, b) in found.items()},
            "servers_in_gap_at_once": most_at_once(list(found.values()))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deploys", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    lab = Lab(read_lab())
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory(prefix="bench-zd-") as tmp:
        app = App(lab, pathlib.Path(tmp), prefix="zdb")
        v1 = app.commit("v1")
        app.playbook("deploy", "-e", f"version={v1}")
        v2 = app.commit("v2")
        app.playbook("deploy", "-e", f"version={v2}")
        try:
            load = deploys_under_load(app, v1, v2, args.deploys, args.clients)
            print(f"{load['deploys']} deploys + {load['rollbacks']} rollback on {len(lab.ips)} servers under load: "
                  f"{load['requests']} requests, {load['failures']} failed")
            print(f"  deploy wall time: median {statistics.median(load['deploy_seconds']):.1f} s "
                  f"(min {min(load['deploy_seconds'])}, max {max(load['deploy_seconds'])})")
            for phase in ("during", "outside"):
                p = load[phase]
                print(f"  {phase:7} deploys: {p['requests']:6} requests  p50 {p['p50_ms']:6.1f} ms  p99 {p['p99_ms']:6.1f} ms")
            reboots = [proxy_gaps(app, lab, how) for how in ("docker restart", "all at once", "rolling")]
            for r in reboots:
                print(f"proxy {r['how']:14}: gap per server (ms) {r['gap_ms']}; servers in their gap at once: "
                      f"{r['servers_in_gap_at_once']}; {r['failures']} of {r['requests']} probes failed; {r['seconds']} s")
        finally:
            app.playbook("remove", "-e", "confirm=true", check=False)
    write_result("zero_downtime.json", {"servers": len(lab.ips), "load": load, "proxy_reboot": reboots})


if __name__ == "__main__":
    main()
