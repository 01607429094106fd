"""Every module, lookup and inventory plugin of kamal.deploy renders with ansible-doc, as users read it,
and its examples call it by its FQCN (kamal.deploy.<name>).

Runs against the installed collection (`make collection`: build/collections), so what is checked is
what users get.
"""
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.environ.get("KAMAL_COLLECTIONS_PATH", os.path.join(REPO, "build", "collections"))
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
ANSIBLE_DOC = ANSIBLE_DOC if os.path.exists(ANSIBLE_DOC) else "ansible-doc"
# ansible-doc type -> the directory of the plugins of that type
TYPES = {"module": "modules", "lookup": "lookup", "inventory": "inventory"}


def plugins():
    found = []
    for kind, directory in TYPES.items():
        path = os.path.join(REPO, "plugins", directory)
        for name in sorted(os.listdir(path)):
            if name.endswith(".py") and not name.startswith("_"):
                found.append((kind, name[:-3]))
    return found


MODULES = {name for kind, name in plugins() if kind == "module"}


def ansible_doc(kind, name, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ANSIBLE_DOC, "-t", kind, *args, f"kamal.deploy.{name}"], env=env, capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)


def test_plugins_are_found():
    kinds = {kind for kind, _name in plugins()}
    assert kinds == set(TYPES), plugins()
    assert {"kamal_app", "kamal_accessory", "kamal_proxy", "kamal_lock"} <= MODULES


@pytest.mark.parametrize("kind,name", plugins(), ids=[f"{k}:{n}" for k, n in plugins()])
def test_plugin_doc_renders_with_fqcn_examples(kind, name):
    fqcn = f"kamal.deploy.{name}"
    res = ansible_doc(kind, name, "--json")
    assert res.returncode == 0, f"ansible-doc -t {kind} {fqcn} failed (is it in {COLLECTIONS}? run `make collection`):\n{res.stderr}"
    assert "[WARNING]" not in res.stderr and "[ERROR]" not in res.stderr, res.stderr
    entry = json.loads(res.stdout)[fqcn]
    doc = entry["doc"]
    assert doc.get("short_description"), f"{fqcn}: no short_description"
    assert doc.get("description"), f"{fqcn}: no description"
    for option, spec in (doc.get("options") or {}).items():
        assert spec.get("description"), f"{fqcn}: option {option} has no description"

    examples = entry.get("examples") or ""
    assert examples.strip(), f"{fqcn}: no EXAMPLES"
    assert fqcn in examples, f"{fqcn}: the examples never use its FQCN"
    parsed = yaml.safe_load(examples)
    if kind == "module":
        # Every task in the examples that calls one of our modules calls it by its FQCN.
        tasks = [t for t in parsed or [] if isinstance(t, dict)]
        short = [t.get("name", t) for t in tasks if set(t) & MODULES]
        assert not short, f"{fqcn}: examples call modules by their short name: {short}"
        assert any(fqcn in t for t in tasks), f"{fqcn}: no example task calls {fqcn}"
    # Lookups are called by name inside templates: no bare lookup('kamal_secrets', ...)
    assert not re.search(r"""(lookup|query)\(\s*['"]kamal_""", examples), f"{fqcn}: a lookup called without its FQCN"

    # The text users read (ansible-doc NAME) renders too: markup errors only show there.
    text = ansible_doc(kind, name)
    assert text.returncode == 0, text.stderr
    assert "[WARNING]" not in text.stderr and "[ERROR]" not in text.stderr, text.stderr
    assert fqcn in text.stdout and "EXAMPLES" in text.stdout
