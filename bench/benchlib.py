"""What every benchmark needs: where the repository, the installed collection and the timer callback are,
the lab's state as tests/lab/lab.py left it, and where a result goes (build/bench/<name>.json)."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, "build", "collections")
CALLBACKS = os.path.join(REPO, "bench", "callback_plugins")  # kamal_bench_timer: each task's wall time
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))  # project.py: the lab's projects, Lab, Load


def read_lab():
    """build/lab/lab.json (or $KAMAL_LAB_STATE/lab.json, as the tests read it): servers, registries, SSH key and config."""
    state = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))
    with open(os.path.join(state, "lab.json"), encoding="utf-8") as f:
        return json.load(f)


def write_result(name, data):
    """Write ``data`` as build/bench/``name`` (JSON)."""
    out = os.path.join(REPO, "build", "bench")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
