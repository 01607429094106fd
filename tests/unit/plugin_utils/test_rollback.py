"""rollback without a version: the newest version present on every targeted host and role, other than the running one."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.rollback import RollbackError, choose_version


def present(versions, current, role="web"):
    return {"item": role, "versions": versions, "current": current}


def test_the_newest_version_before_the_running_one():
    assert choose_version({"vm1": [present(["v3", "v2", "v1"], "v3")], "vm2": [present(["v3", "v2", "v1"], "v3")]}) == "v2"


def test_a_version_missing_on_one_host_or_role_is_skipped():
    assert choose_version({
        "vm1": [present(["v3", "v2", "v1"], "v3"), present(["v3", "v1"], "v3", role="workers")],
        "vm2": [present(["v3", "v2", "v1"], "v3")]}) == "v1"


def test_no_other_version_anywhere_fails_listing_what_each_host_has():
    with pytest.raises(RollbackError, match=r"running one \(v3\).*vm1 web: v3, v2; vm2 web: v3"):
        choose_version({"vm1": [present(["v3", "v2"], "v3")], "vm2": [present(["v3"], "v3")]})
