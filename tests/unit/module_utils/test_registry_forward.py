"""module_utils/_registry.py: the forward check reads /proc and sshd's settings; the message names the cause."""
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _registry as registry

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def fake_proc(tmp_path, sockets, processes):
    """sockets: [(hex address:port, state, inode)]; processes: {pid: (ppid, comm, [inodes])}."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    lines = "".join("   %d: %s 00000000:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %s 1 0 100 0 0 10 0\n"
                    % (i, addr, state, inode) for i, (addr, state, inode) in enumerate(sockets))
    (proc / "net" / "tcp").write_text(HEADER + lines)
    (proc / "net" / "tcp6").write_text(HEADER)
    for pid, (ppid, comm, inodes) in processes.items():
        d = proc / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "stat").write_text("%d (%s) S %d 1 1 0 -1" % (pid, comm, ppid))
        (d / "comm").write_text(comm + "\n")
        for n, inode in enumerate(inodes):
            os.symlink("socket:[%s]" % inode, str(d / "fd" / str(n + 3)))
    return str(proc)


PORT_HEX = "0100007F:15B5"  # 127.0.0.1:5557


def test_the_forward_listens_when_our_own_sshd_holds_the_socket(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path, [(PORT_HEX, "0A", "777")], {100: (1, "sshd", ["777"]), 200: (100, "python3", [])})
    monkeypatch.setattr(os, "getpid", lambda: 200)
    assert registry.forward_state(5557, proc) == {"listening": True, "taken_by": None}


def test_a_socket_held_by_another_process_is_the_port_taken(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path, [(PORT_HEX, "0A", "777")],
                     {100: (1, "sshd", []), 200: (100, "python3", []), 300: (1, "nc", ["777"])})
    monkeypatch.setattr(os, "getpid", lambda: 200)
    assert registry.forward_state(5557, proc) == {"listening": False, "taken_by": "nc (pid 300)"}


def test_no_listener_or_a_connected_socket_is_no_forward(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path, [(PORT_HEX, "01", "777")], {200: (1, "python3", [])})
    monkeypatch.setattr(os, "getpid", lambda: 200)
    assert registry.forward_state(5557, proc) == {"listening": False, "taken_by": None}


SSHD_T = "port 22\nallowtcpforwarding {allow}\ndisableforwarding no\npermitlisten {listen}\n"


def facts(allow="yes", listen="any", effective=None, match=()):
    return {"source": "sshd -T", "global": registry.parse_sshd_t(SSHD_T.format(allow=allow, listen=listen)),
            "effective": registry.parse_sshd_t(SSHD_T.format(**effective)) if effective else None, "match": list(match)}


@pytest.mark.parametrize("settings, state, cause, fix", [
    (facts(allow="no"), {}, "sshd AllowTcpForwarding: `AllowTcpForwarding no` (sshd -T)", "AllowTcpForwarding remote"),
    (facts(allow="local"), {}, "`AllowTcpForwarding local`", "restart sshd"),
    (facts(effective={"allow": "no", "listen": "any"}, match=[("Match User deploy", {"allowtcpforwarding": "no"})]), {},
     "a Match block: `AllowTcpForwarding no` for this connection (from `Match User deploy`)", "in any Match block"),
    (facts(listen="localhost:6000"), {}, "PermitListen: `PermitListen localhost:6000` does not allow port 5557", "PermitListen 5557"),
    (facts(), {"taken_by": "nc (pid 300)"}, "port 5557 on the server: already taken by nc (pid 300)", "free port 5557"),
])
def test_the_message_names_the_host_the_cause_and_the_fix(settings, state, cause, fix):
    checks = registry.diagnose(5557, state, settings)
    message = registry.forward_failure_message("vm4", "localhost:5557", 5557, checks)
    assert message.startswith("vm4 cannot pull from the local registry localhost:5557")
    assert "Cause: " + cause in message or cause in message.split("Cause: ")[1].split("\n")[0], message
    assert fix in message
    assert "image_delivery: ssh" in message
    assert [name for name, _finding, _cause in checks] == [
        "sshd AllowTcpForwarding", "a Match block", "PermitListen", "the jump host", "port 5557 on the server"]


def test_a_permitlisten_entry_for_the_port_allows_it():
    assert registry.listen_refused({"permitlisten": "localhost:5557"}, 5557) is None
    assert registry.listen_refused({"permitlisten": "none"}, 5557) == "PermitListen none"


def test_a_jump_host_is_named_with_its_fix():
    checks = registry.diagnose(5557, {}, facts(allow="no"), jump_host="root@bastion")
    message = registry.forward_failure_message("vm4", "localhost:5557", 5557, checks, jump_host="root@bastion")
    assert "the jump host: root@bastion" in message and "on the jump host root@bastion" in message


def test_without_root_the_config_file_is_read_with_its_match_blocks(tmp_path, monkeypatch):
    conf = tmp_path / "sshd_config"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "10-forward.conf").write_text("AllowTcpForwarding yes\n")
    conf.write_text("Include %s/d/*.conf\nAllowTcpForwarding no\nMatch User deploy\n  AllowTcpForwarding local\nMatch all\n" % tmp_path)
    parsed = registry.parse_sshd_config(str(conf))
    assert parsed["global"] == {"allowtcpforwarding": "yes"}  # the first value wins, as in sshd
    assert parsed["match"] == [("Match User deploy", {"allowtcpforwarding": "local"})]
    checks = registry.diagnose(5557, {}, {"source": str(conf), "global": parsed["global"], "effective": None, "match": parsed["match"]})
    assert checks[1][2] and "Match User deploy" in checks[1][1]


def test_sshd_settings_ask_sshd_for_this_connection():
    calls = []

    def run(args):
        calls.append(args)
        return 0, SSHD_T.format(allow="yes" if len(args) == 2 else "no", listen="any"), ""

    settings = registry.sshd_settings(run, "172.29.0.1 40000 172.29.0.14 22")
    assert settings["global"]["allowtcpforwarding"] == "yes" and settings["effective"]["allowtcpforwarding"] == "no"
    assert calls[1][1:3] == ["-T", "-C"] and "addr=172.29.0.1" in calls[1][3] and "lport=22" in calls[1][3]


class FakeClient:
    def __init__(self, error=None):
        self.error, self.calls = error, []

    def login(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error


def test_login_passes_the_credentials_and_reauths():
    client = FakeClient()
    registry.login(client, {"server": "r.test:5001", "username": "bot", "password": "pw"}, "vm1")
    assert client.calls == [{"username": "bot", "password": "pw", "reauth": True, "registry": "r.test:5001"}]


@pytest.mark.parametrize("error, cause", [
    ('login attempt to https://r.test:5001/v2/ failed with status: 401 Unauthorized', "refused the credentials"),
    ('Get "https://r.test:5001/v2/": dial tcp 10.0.0.1:5001: connect: connection refused', "unreachable from this server"),
])
def test_a_failed_login_names_the_registry_the_user_and_the_host(error, cause):
    with pytest.raises(_docker.DockerError) as failure:
        registry.login(FakeClient(RuntimeError(error)), {"server": "r.test:5001", "username": "bot", "password": "pw"}, "vm1")
    text = str(failure.value)
    assert text.startswith("docker login to r.test:5001 as bot failed on vm1: ")
    assert cause in text and "pw" not in text.replace("pw", "", 0)


def test_no_login_for_a_local_registry_or_without_a_username():
    assert registry.credentials({"server": "localhost:5555", "username": "u", "password": "p"}) is None
    assert registry.credentials({"server": "r.test"}) is None
    assert registry.credentials({"username": "u", "password": "p"}) == {"username": "u", "password": "p"}
