"""Kamal's audit log: the line format, escaping, secret masking, the single append and the tail."""
import multiprocessing
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _audit

T0 = 1795000000  # 2026-11-18T11:06:40Z


@pytest.mark.parametrize("kwargs, expected", [
    ({}, "[2026-11-18T11:06:40Z] [dev@example.com] Booted app version abc"),
    ({"destination": "staging"}, "[2026-11-18T11:06:40Z] [dev@example.com] [staging] Booted app version abc"),
    ({"destination": "staging", "role": "web"}, "[2026-11-18T11:06:40Z] [dev@example.com] [staging] [web] Booted app version abc"),
    ({"role": "web"}, "[2026-11-18T11:06:40Z] [dev@example.com] [web] Booted app version abc"),
    ({"destination": "", "role": ""}, "[2026-11-18T11:06:40Z] [dev@example.com] Booted app version abc"),
])
def test_line_format_is_kamals(kwargs, expected):
    assert _audit.format_line("Booted app version abc", "dev@example.com", recorded_at=T0, **kwargs) == expected


@pytest.mark.parametrize("message, expected", [
    ("two\nlines", "two\\nlines"),
    ("cr\rreturn", "cr\\rreturn"),
    ("tab\there", "tab\\there"),
    ("bell\x07 esc\x1b[31mred", "bell\\x07 esc\\x1b[31mred"),
    ("del\x7f c1\x85", "del\\x7f c1\\x85"),
    ("u\u2028sep\u2029para", "u\\u2028sep\\u2029para"),
    ("rlo\u202eevil", "rlo\\u202eevil"),
    ("back\\slash", "back\\\\slash"),
    ("$(rm -rf /) `id` 'q' \"dq\" ; | &", "$(rm -rf /) `id` 'q' \"dq\" ; | &"),
    ("Pulled café ✓", "Pulled café ✓"),
])
def test_messages_cannot_break_the_line(message, expected):
    line = _audit.format_line(message, "me", recorded_at=T0)
    assert line == "[2026-11-18T11:06:40Z] [me] " + expected
    assert len(line.splitlines()) == 1 and all(ord(c) >= 0x20 for c in line)


def test_bracketed_fields_cannot_forge_the_next_field():
    line = _audit.format_line("hi", "evil] [production", destination="st]ag", recorded_at=T0)
    assert line == "[2026-11-18T11:06:40Z] [evil\\] \\[production] [st\\]ag] hi"


def test_secrets_are_masked_longest_first_everywhere():
    line = _audit.format_line("Executed cmd 'echo hunter2 && echo hunter22' \nhunter2", "hunter2@example.com",
                              secrets=["hunter2", "hunter22", "", None], recorded_at=T0)
    assert "hunter2" not in line
    assert line == "[2026-11-18T11:06:40Z] [********@example.com] Executed cmd 'echo ******** && echo ********' \\n********"


def test_a_secret_with_a_newline_is_masked_before_escaping():
    line = _audit.format_line("pw=a\nb", "me", secrets=["a\nb"], recorded_at=T0)
    assert line.endswith("pw=********")


def test_record_appends_one_line_in_kamals_file(tmp_path):
    line = _audit.record(str(tmp_path), "app", "Booted app version v1", "me", destination="prod", role="web", recorded_at=T0)
    _audit.record(str(tmp_path), "app", "Stopped\napp", "me", destination="prod", recorded_at=T0)
    path = tmp_path / ".kamal" / "app-prod-audit.log"
    assert path.read_text() == line + "\n" + "[2026-11-18T11:06:40Z] [me] [prod] Stopped\\napp\n"


def test_record_in_check_mode_writes_nothing(tmp_path):
    line = _audit.record(str(tmp_path), "app", "Pruned images", "me", check_mode=True, recorded_at=T0)
    assert line.endswith("Pruned images") and not (tmp_path / ".kamal").exists()


def _writer(path, n, tag):
    for i in range(n):
        _audit.append_line(path, "%s %d %s" % (tag, i, "x" * 3000))


def test_concurrent_appends_never_interleave(tmp_path):
    path = str(tmp_path / ".kamal" / "app-audit.log")
    procs = [multiprocessing.Process(target=_writer, args=(path, 200, "w%d" % k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[-1] == "" and len(lines) == 801
    assert all(line.endswith("x" * 3000) and line.count(" ") == 2 for line in lines[:-1])


def test_tail_returns_the_last_lines_oldest_first(tmp_path):
    path = str(tmp_path / "a.log")
    assert _audit.tail(path) == []
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join("line %d\n" % i for i in range(1000)))
    assert _audit.tail(path, 3) == ["line 997", "line 998", "line 999"]
    assert _audit.tail(path, 50, block_size=7) == ["line %d" % i for i in range(950, 1000)]
    assert len(_audit.tail(path, 5000)) == 1000
    assert _audit.tail(path, 0) == []


def test_log_path(tmp_path):
    assert _audit.log_path("/home/u", "app") == "/home/u/.kamal/app-audit.log"
    assert _audit.log_path("/home/u", "app", "eu") == os.path.join("/home/u", ".kamal", "app-eu-audit.log")
