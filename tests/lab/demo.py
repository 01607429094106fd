"""`make demo`: deploy the demo app (demo/) to the lab with this collection, then print its URL.

The demo's config/deploy.yml is the inventory; the deploy is `kamal.deploy.deploy`, as a user runs it."""
import json
import os
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))
DEMO = os.path.join(REPO, "demo")


def answer(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as res:
            return res.read().decode().strip()
    except OSError as e:
        return f"no answer ({e})"


def main():
    with open(os.path.join(STATE, "lab.json"), encoding="utf-8") as f:
        lab = json.load(f)
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_CONFIG=os.path.join(DEMO, "ansible.cfg"))
    t0 = time.monotonic()
    cmd = ["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.deploy"]
    print(f"[demo] cd demo && {' '.join(cmd)}", flush=True)
    res = subprocess.run(cmd, cwd=DEMO, env=env, check=False)
    if res.returncode != 0:
        print("[demo] the deploy failed (see above)", file=sys.stderr)
        return res.returncode
    print(f"[demo] deployed in {time.monotonic() - t0:.1f} s\n")
    for server in lab["servers"]:
        url = f"http://{server['ip']}/"
        print(f"  {url:28} {answer(url)}")
    print(f"\nThe demo app answers at http://{lab['servers'][0]['ip']}/ (and on every lab server):")
    print(f"  curl http://{lab['servers'][0]['ip']}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
