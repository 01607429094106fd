"""module_utils/_logs.py: one ``since`` parser and one ``logs`` for apps, accessories and the proxy.

Kamal passes ``since`` to ``docker logs --since`` and shows the last 100 lines unless lines, since or grep
is given; grep keeps the lines a regular expression is found in."""
import datetime

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _accessory, _app, _docker, _logs, _proxy
from ansible_collections.kamal.deploy.plugins.module_utils._module import KamalError

NOW = 1796378400.0  # 2026-12-04T10:00:00Z


def utc(*parts):
    return int(datetime.datetime(*parts, tzinfo=datetime.timezone.utc).timestamp())


SINCE = [
    ("30s", int(NOW - 30)),
    ("30m", int(NOW - 1800)),
    ("1h", int(NOW - 3600)),
    ("1h30m", int(NOW - 5400)),
    ("2d", int(NOW - 2 * 86400)),
    ("1.5h", int(NOW - 5400)),
    ("90m30s", int(NOW - 5430)),
    ("500ms", int(NOW - 0.5)),
    (" 10m ", int(NOW - 600)),
    ("2026-12-04T10:00:00Z", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04t10:00:00z", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04T09:30:00.123456789Z", utc(2026, 12, 4, 9, 30, 0)),
    ("2026-12-04T12:00:00+02:00", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04T05:00:00-0500", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04T10:00Z", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04 10:00:00Z", utc(2026, 12, 4, 10, 0, 0)),
    ("2026-12-04", int(datetime.datetime(2026, 12, 4).timestamp())),  # no zone: the server's local time, as Docker
    ("2026-12-04T10:00:00", int(datetime.datetime(2026, 12, 4, 10).timestamp())),
    ("1796378400", 1796378400),
    ("1796378400.75", 1796378400),
    (1796378400, 1796378400),
    ("0", 1),  # the SDK refuses 0; 1 is the same "from the start"
]


@pytest.mark.parametrize("value, expected", SINCE, ids=[str(case[0]) for case in SINCE])
def test_since_takes_every_form_kamal_and_docker_take(value, expected):
    assert _logs.parse_since(value, now=lambda: NOW) == expected


BAD_SINCE = ["yesterday", "10x", "1h 30m", "-5m", "m", "", "2026-13-01", "2026-02-30T10:00:00Z",
             "2026-12-04T25:00:00Z", "2026/12/04", "10m ago"]


@pytest.mark.parametrize("value", BAD_SINCE)
def test_a_bad_since_names_the_value_and_the_forms_taken(value):
    with pytest.raises(KamalError) as error:
        _logs.parse_since(value, now=lambda: NOW)
    assert repr(value) in error.value.message
    assert "30s, 30m, 1h30m, 2d" in error.value.message and "2026-12-04T10:00:00Z" in error.value.message
    assert "Unix timestamp" in error.value.message


def test_a_bare_number_is_a_unix_timestamp_not_a_duration():
    assert _logs.parse_since("10", now=lambda: NOW) == 10


class FakeContainer:
    """The SDK's Container.logs(): the last ``tail`` lines of its output, newer than ``since``."""

    def __init__(self, lines):
        self.lines = lines  # [(unix time, text)]
        self.asked = None

    def logs(self, stdout=True, stderr=True, timestamps=False, tail="all", since=None):
        self.asked = {"stdout": stdout, "stderr": stderr, "timestamps": timestamps, "tail": tail, "since": since}
        kept = [(t, text) for t, text in self.lines if since is None or t >= since]
        if tail != "all":
            kept = kept[len(kept) - tail:] if tail else []
        return "".join("%s%s\n" % ("T%d " % t if timestamps else "", text) for t, text in kept).encode()


def container(count=150):
    return FakeContainer([(int(NOW) - count + i, "GET /up %d%s" % (i, " error" if i % 50 == 0 else ""))
                          for i in range(count)])


def read(fake, **kwargs):
    return _logs.read_logs(fake, "hey-web-v2", now=lambda: NOW, **kwargs)


LOGS = [
    ("Kamal's default: the last 100 lines", {}, {"tail": 100}, 100),
    ("lines given", {"lines": 5}, {"tail": 5}, 5),
    ("lines=0 is no line, as docker logs --tail 0", {"lines": 0}, {"tail": 0}, 0),
    ("since alone: every line since then", {"since": "30s"}, {"tail": "all", "since": int(NOW - 30)}, 30),
    ("grep alone: every matching line", {"grep": "error"}, {"tail": "all"}, 3),
    ("grep is a regular expression found anywhere in the line", {"grep": r"/up 1\d$"}, {"tail": "all"}, 10),
    ("grep after lines, as docker logs --tail N | grep", {"grep": "error", "lines": 60}, {"tail": 60}, 1),
    ("an empty since is no since", {"since": ""}, {"tail": 100}, 100),
]


@pytest.mark.parametrize("kwargs, asked, count", [case[1:] for case in LOGS], ids=[case[0] for case in LOGS])
def test_logs_lines_since_and_grep(kwargs, asked, count):
    fake = container()
    lines = read(fake, **kwargs)
    assert len(lines) == count
    assert {k: fake.asked[k] for k in asked} == asked
    assert fake.asked["stdout"] and fake.asked["stderr"]  # 2>&1


def test_timestamps_are_on_by_default_and_can_be_skipped():
    assert read(container(), lines=1) == ["T%d GET /up 149" % (int(NOW) - 1)]
    assert read(container(), lines=1, timestamps=False) == ["GET /up 149"]


def test_a_grep_that_is_not_a_regular_expression_is_a_clear_error():
    with pytest.raises(KamalError, match=r"grep='\[oops' is not a regular expression"):
        read(container(), grep="[oops")


def test_a_docker_failure_names_the_container():
    class Broken(FakeContainer):
        def logs(self, **kwargs):
            raise OSError("socket closed")

    with pytest.raises(KamalError, match="reading the logs of hey-web-v2: OSError: socket closed"):
        read(Broken([]))


class Named(FakeContainer):
    name = "hey-web-v2"


def app_logs(fake, **kwargs):
    app = _app.App.__new__(_app.App)
    _docker.Operations.__init__(app)
    app.current_container = lambda: fake
    return app.logs(**kwargs)["lines"]


def accessory_logs(fake, **kwargs):
    accessory = _accessory.Accessory.__new__(_accessory.Accessory)
    _docker.Operations.__init__(accessory)
    accessory.spec = type("Spec", (), {"svc_name": "hey-db"})()
    accessory.warnings = []
    accessory.container = lambda: fake
    return accessory.logs(**kwargs)["lines"]


def proxy_logs(fake, **kwargs):
    proxy = _proxy.ProxyContainer.__new__(_proxy.ProxyContainer)
    proxy.current = lambda: fake
    return proxy.logs(**kwargs)


MANAGERS = [app_logs, accessory_logs, proxy_logs]
ASKED = [({}, 100, 100), ({"grep": "error"}, "all", 3), ({"lines": 7}, 7, 7), ({"grep": "error", "lines": 60}, 60, 1)]


@pytest.mark.parametrize("logs", MANAGERS, ids=[m.__name__ for m in MANAGERS])
@pytest.mark.parametrize("kwargs, tail, count", ASKED, ids=["default", "grep", "lines", "grep and lines"])
def test_app_accessory_and_proxy_logs_have_the_same_defaults_and_grep(logs, kwargs, tail, count):
    fake = Named(container().lines)
    assert len(logs(fake, **kwargs)) == count
    assert fake.asked["tail"] == tail and fake.asked["timestamps"] is True


@pytest.mark.parametrize("logs", MANAGERS, ids=[m.__name__ for m in MANAGERS])
def test_every_logs_takes_an_iso_since(logs):
    # The SDK raised on the ISO text the docs promised; now it gets Unix seconds.
    fake = Named(container().lines)
    logs(fake, since="2026-12-04T09:59:00Z")
    assert fake.asked["since"] == utc(2026, 12, 4, 9, 59, 0) and fake.asked["tail"] == "all"
