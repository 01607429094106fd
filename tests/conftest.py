"""Put the installed collection on sys.path, the way users get it.

`make collection` builds the tarball and installs it into build/collections; tests import
`ansible_collections.kamal.deploy...` from there. KAMAL_COLLECTIONS_PATH overrides the location
(e.g. a symlinked development tree: build/dev)."""
import os
import sys

import pytest

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
# Some programs the tests run (the Kamal binary) set O_NONBLOCK on the stdin they share with us, so
# this is redone before every test.
def _blocking_stdin():
    try:
        os.set_blocking(0, True)  # fd 0 itself: pytest replaces sys.stdin with an object that has none
    except (OSError, ValueError, AttributeError):
        pass


_blocking_stdin()


@pytest.fixture(autouse=True)
def blocking_stdin():
    _blocking_stdin()


# Tests run ansible-playbook / ansible-inventory from the same virtualenv as pytest.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
# Subprocesses (ansible-playbook, ansible-inventory) must load the same copy the tests import.
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_PATH
