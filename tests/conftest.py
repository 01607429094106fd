"""Put the installed collection on sys.path, the way users get it.

`make collection` builds the tarball and installs it into build/collections; tests import
`ansible_collections.kamal.deploy...` from there. KAMAL_COLLECTIONS_PATH overrides the location
(e.g. a symlinked development tree: build/dev)."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_PATH = os.path.abspath(os.environ.get("KAMAL_COLLECTIONS_PATH", os.path.join(REPO, "build", "collections")))

if not os.path.isdir(os.path.join(COLLECTIONS_PATH, "ansible_collections", "kamal", "deploy")):
    raise RuntimeError(
        f"kamal.deploy is not installed in {COLLECTIONS_PATH}: run `make collection` first "
        "(or set KAMAL_COLLECTIONS_PATH)"
    )
sys.path.insert(0, COLLECTIONS_PATH)
# ansible refuses to start with a non-blocking stdin (a parent such as a CI runner or a shell's `&` may
# hand one down); the tests never read stdin.
try:
    os.set_blocking(sys.stdin.fileno(), True)
except (OSError, ValueError, AttributeError):
    pass
# Tests run ansible-playbook / ansible-inventory from the same virtualenv as pytest.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
# Subprocesses (ansible-playbook, ansible-inventory) must load the same copy the tests import.
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_PATH
