"""What each app and accessory command prints, from its module result (what the roles' debug tasks computed)."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import output

CONTAINERS = {"containers": [{"name": "app-web-v1", "status": "running", "image": "app:v1"},
                             {"name": "app-web-v0", "status": "exited", "image": "app:v0"}]}

APP = [
    ("details", CONTAINERS, ["app-web-v1  running  app:v1", "app-web-v0  exited  app:v0"]),
    ("containers", {}, []),
    ("images", {"images": [{"tags": ["app:v1", "app:latest"]}, {"tags": ["app:v0"]}]}, ["app:v1", "app:latest", "app:v0"]),
    ("version", {"version": "v1"}, "v1"),
    ("version", {}, ""),
    ("versions", {"versions": ["v1", "v0"]}, ["v1", "v0"]),
    ("logs", {"lines": ["a", "b"]}, ["a", "b"]),
    ("logs", {"lines": [], "msg": "no container"}, ["no container"]),
    ("logs", {}, ["Nothing found"]),
    ("exec", {"stdout_lines": ["out"], "stderr_lines": ["err"]}, ["out", "err"]),
    ("stale_containers", {"stale": ["app-web-old"]}, ["app-web-old"]),
    ("prune", {"removed_containers": ["c1"], "removed_images": ["i1"]}, ["c1", "i1"]),
    ("stop", {"actions": ["docker stop app-web-v1"], "msg": "stopped"}, ["docker stop app-web-v1"]),
    ("stop", {"actions": [], "msg": "nothing to stop"}, "nothing to stop"),
    ("start", {}, "done"),
]


@pytest.mark.parametrize("command,result,expected", APP)
def test_app_output(command, result, expected):
    assert output.app_output(command, result) == expected


ACCESSORY = [
    ("details", {"containers": [{"name": "db"}], "container": {"name": "other"}}, [{"name": "db"}]),
    ("details", {"container": {"name": "db"}}, {"name": "db"}),
    ("details", {}, None),
    ("logs", {"lines": ["l1"]}, ["l1"]),
    ("exec", {"stdout_lines": ["o"]}, ["o"]),
    ("boot", {"msg": "booted db", "actions": ["docker run"]}, "booted db"),
    # Nothing of its own to print and no message: the role prints nothing.
    ("boot", {"msg": "", "actions": ["docker run"]}, None),
    ("stop", {}, None),
]


@pytest.mark.parametrize("command,result,expected", ACCESSORY)
def test_accessory_output(command, result, expected):
    assert output.accessory_output(command, result) == expected
