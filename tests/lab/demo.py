"""`make demo`: the lab with the demo app deployed by this collection, and its URL.

The deploy playbooks arrive with the zero-downtime deploy work; until then the demo stops after the lab
is up and says so."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))


def main():
    with open(os.path.join(STATE, "lab.json"), encoding="utf-8") as f:
        lab = json.load(f)
    print("The lab is up:")
    for server in lab["servers"]:
        print(f"  {server['name']}  {server['ip']}   ssh -F {lab['ssh_config']} {server['ip']}")
    print(f"  registry  {lab['registry']}")
    if not os.path.exists(os.path.join(REPO, "playbooks", "deploy.yml")):
        print("\nThe deploy playbook (kamal.deploy.deploy) does not exist yet, so the demo stops here: "
              "nothing was deployed.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
