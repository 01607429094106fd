"""The proxy beyond Kamal's, measured: how close a rollout split is to the percentage asked, what split changes
under load cost, and how long a server goes without a proxy when kamal.deploy takes it over from Kamal's.

    .venv/bin/python bench/proxy_beyond.py [--clients 2000] [--changes 300] [--takeovers 3]

Runs the lab tests that measure them (tests/integration/test_rollout.py's split and 300 split changes under load,
tests/integration/test_takeover.py's takeover under load) with larger counts when asked, --takeovers times for the
takeover, and collects the figures they print:
- split accuracy: the share of --clients new clients on the rollout at a 10 % split;
- split changes: --changes changes under steady load, requests and failures (the claim is 0);
- takeover gap: from the stop of Kamal's kamal-proxy to ours answering (the module's figure), and the longest time a
  client through port 80 waited between two answers.
Writes build/bench/proxy_beyond.json. Uses the lab like the tests (run it through the lab's lock).
"""
import argparse
import os
import re
import subprocess
import sys

from benchlib import COLLECTIONS, REPO, write_result

FIGURES = {
    "split": re.compile(r"rollout split: 10% asked, ([\d.]+)% of (\d+) new clients on v2"),
    "changes": re.compile(r"rollout split changes: (\d+) changes in ([\d.]+) s, (\d+) requests, (\d+) failed"),
    "takeover": re.compile(r"takeover: (\d+) routes moved; module gap (\d+) ms .*longest time without an answer (\d+) ms"),
}


def run(tests, env):
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"] + tests
    res = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit("the lab tests failed:\n" + res.stdout[-4000:])
    return res.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--takeovers", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, KAMAL_ROLLOUT_CLIENTS=str(args.clients), KAMAL_ROLLOUT_SPLIT_CHANGES=str(args.changes))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)
    out = run(["tests/integration/test_rollout.py"], env)
    share, clients = FIGURES["split"].search(out).groups()
    changes, seconds, requests, failed = FIGURES["changes"].search(out).groups()
    takeovers = []
    for _run in range(args.takeovers):
        moved, module_ms, client_ms = FIGURES["takeover"].search(run(["tests/integration/test_takeover.py"], env)).groups()
        takeovers.append({"routes": int(moved), "module_gap_ms": int(module_ms), "client_gap_ms": int(client_ms)})
    result = {
        "split": {"asked_percent": 10, "measured_percent": float(share), "clients": int(clients)},
        "split_changes": {"changes": int(changes), "seconds": float(seconds), "requests": int(requests),
                          "failures": int(failed)},
        "takeover": takeovers,
    }
    write_result("proxy_beyond.json", result)
    print("split 10%%: %.1f%% of %s clients; %s split changes: %s requests, %s failed; takeover gap (module, client) ms: %s"
          % (float(share), clients, changes, requests, failed,
             ", ".join("%d/%d" % (t["module_gap_ms"], t["client_gap_ms"]) for t in takeovers)))


if __name__ == "__main__":
    main()
