"""Integration tests run against the lab (tests/lab/lab.py up, or `make lab`).

Without a lab they fail in CI (CI=true) and are skipped elsewhere, so a laptop without Docker can still
run the rest."""
import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))
IN_CI = os.environ.get("CI", "").lower() == "true"
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import Lab  # noqa: E402  pylint: disable=wrong-import-position


def missing(msg):
    """Something the tests need is not there: a failure in CI (CI=true), a skip elsewhere."""
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def unavailable():
    """``missing`` for test modules, which cannot import conftest."""
    return missing


@pytest.fixture(scope="session")
def lab():
    path = os.path.join(LAB_STATE, "lab.json")
    if not os.path.exists(path):
        missing(f"the lab is not up ({path} missing): run `make lab`")
    with open(path, encoding="utf-8") as f:
        return Lab(json.load(f))
