"""meta/runtime.yml's action group names every module the collection ships, so module_defaults reach them all."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_action_group_lists_every_module():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert sorted(runtime["action_groups"]["kamal"]) == modules
