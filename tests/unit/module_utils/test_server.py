"""kamal_server's manager (server exec, registry login/logout, proxy boot_config) and Kamal's boot_config files."""
import os
import subprocess

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _boot_config, _server


class Shell:
    """Records what would run; answers with the given exit status and output."""

    def __init__(self, rc=0, stdout="", stderr=""):
        self.calls, self.rc, self.stdout, self.stderr = [], rc, stdout, stderr

    def __call__(self, argv, home, input_text=None, shell=False):
        self.calls.append({"argv": argv, "home": home, "input": input_text, "shell": shell})
        return subprocess.CompletedProcess(argv, self.rc, self.stdout, self.stderr)


def server(tmp_path, shell=None, check_mode=False, **params):
    params = dict({"service": "app", "host": "vm1", "home": str(tmp_path), "performer": "me@example.test"}, **params)
    return _server.Server(params, check_mode=check_mode, run=shell or Shell())


def audit_lines(tmp_path):
    path = tmp_path / ".kamal" / "app-audit.log"
    return path.read_text().splitlines() if path.exists() else []


def test_exec_runs_the_command_line_in_the_home_and_audits_it(tmp_path):
    shell = Shell(stdout=" 10:00 up 3 days\n")
    result = _server.run(server(tmp_path, shell), {"command": "exec", "exec_command": "uptime"})
    assert shell.calls == [{"argv": "uptime", "home": str(tmp_path), "input": None, "shell": True}]
    assert result["stdout_lines"] == [" 10:00 up 3 days"] and result["rc"] == 0 and result["changed"]
    [line] = audit_lines(tmp_path)
    assert line.endswith("[me@example.test] Executed cmd 'uptime' on vm1")


def test_exec_really_runs_through_the_shell(tmp_path):
    result = server(tmp_path, _server._shell).exec_command("echo $HOME-x | tr a-z A-Z; pwd")
    assert result["stdout_lines"] == [os.environ["HOME"].upper() + "-X", str(tmp_path)]


def test_exec_fails_with_the_command_output_naming_the_host(tmp_path):
    with pytest.raises(_server.ServerError, match=r"'false' exited with 1 on vm1: nope") as error:
        server(tmp_path, Shell(rc=1, stderr="nope\n")).exec_command("false")
    assert error.value.details["rc"] == 1


def test_exec_in_check_mode_runs_nothing_and_writes_no_audit(tmp_path):
    shell = Shell()
    result = server(tmp_path, shell, check_mode=True).exec_command("rm -rf /tmp/x")
    assert shell.calls == [] and result["actions"] == ["rm -rf /tmp/x"] and audit_lines(tmp_path) == []


def test_login_gives_the_password_on_stdin_and_never_in_actions(tmp_path):
    shell = Shell(stdout="Login Succeeded\n")
    result = server(tmp_path, shell).login({"server": "r.test", "username": "u", "password": "hunter2"})
    assert shell.calls[0]["argv"] == ["docker", "login", "r.test", "-u", "u", "--password-stdin"]
    assert shell.calls[0]["input"] == "hunter2"
    assert result["actions"] == ["docker login r.test -u u -p [redacted]"] and result["msg"] == "Login Succeeded"


def test_login_failure_names_registry_user_and_host(tmp_path):
    with pytest.raises(_server.ServerError, match="docker login to r.test as u failed on vm1: denied"):
        server(tmp_path, Shell(rc=1, stderr="denied")).login({"server": "r.test", "username": "u", "password": "x"})


def test_logout(tmp_path):
    shell = Shell()
    server(tmp_path, shell).logout({"server": "r.test"})
    assert shell.calls[0]["argv"] == ["docker", "logout", "r.test"]


# proxy boot_config ------------------------------------------------------------------------------------------

def test_boot_config_defaults_write_nothing_and_get_prints_kamals_defaults(tmp_path):
    s = server(tmp_path)
    assert s.boot_config("set", {})["changed"] is False
    assert not (tmp_path / ".kamal" / "proxy").exists()
    assert s.boot_config("get", {})["boot_config"] == (
        "--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2")


def test_boot_config_set_writes_kamals_files_and_reset_removes_them(tmp_path):
    settings = {"http_port": 8080, "https_port": 8443, "publish_host_ip": ["127.0.0.1", "::1"], "metrics_port": 9000,
                "debug": True, "docker_options": ["sysctl=net.ipv4.ip_local_port_range=10000 60999"], "registry": "r.test",
                "image_version": "v0.9.3"}
    result = server(tmp_path).boot_config("set", settings)
    files = {name: (tmp_path / ".kamal" / "proxy" / name).read_text() for name in _boot_config.FILES}
    assert files == {
        "options": "--publish 127.0.0.1:8080:80 --publish 127.0.0.1:8443:443 --publish [::1]:8080:80 --publish [::1]:8443:443 "
                   "--log-opt max-size=10m --expose=9000 --sysctl=net.ipv4.ip_local_port_range=10000 60999",
        "image": "r.test/basecamp/kamal-proxy", "image_version": "v0.9.3",
        "run_command": 'kamal-proxy run --debug --metrics-port "9000"'}
    assert result["changed"] and len(result["actions"]) == 4
    assert server(tmp_path).boot_config("set", settings)["changed"] is False
    assert server(tmp_path).boot_config("get", {})["boot_config"].endswith(
        "r.test/basecamp/kamal-proxy:v0.9.3 kamal-proxy run --debug --metrics-port \"9000\"")
    result = server(tmp_path).boot_config("reset", {})
    assert result["changed"] and os.listdir(tmp_path / ".kamal" / "proxy") == []


def test_boot_config_in_check_mode_changes_no_file(tmp_path):
    result = server(tmp_path, check_mode=True).boot_config("set", {"publish": False})
    assert result["changed"] and result["actions"] == ["write .kamal/proxy/options: --log-opt max-size=10m"]
    assert not (tmp_path / ".kamal" / "proxy").exists()


def test_boot_config_refuses_a_bad_bind_ip(tmp_path):
    with pytest.raises(_server.ServerError, match="Invalid publish IP address: 300.1.1.1"):
        server(tmp_path).boot_config("set", {"publish_host_ip": ["300.1.1.1"]})


def test_boot_config_files_read_back_as_our_proxy_run_settings():
    files = {name: content for name, content in _boot_config.desired_files(
        {"http_port": 8080, "publish_host_ip": ["127.0.0.1"], "log_max_size": "30m", "metrics_port": 9000, "debug": True,
         "docker_options": ["label=x=y", "read-only"]}).items() if content}
    assert _boot_config.run_settings(files) == {
        "publish": True, "http_port": 8080, "https_port": 443, "bind_ips": ["127.0.0.1"], "log_max_size": "30m",
        "debug": True, "metrics_port": 9000, "options": {"label": "x=y", "read-only": True}}
    assert _boot_config.run_settings({}) is None
    unpublished = _boot_config.desired_files({"publish": False})
    assert _boot_config.run_settings({"options": unpublished["options"]})["publish"] is False


def test_a_proxy_boot_without_run_takes_the_boot_config_files(tmp_path):
    from ansible_collections.kamal.deploy.plugins.module_utils import _proxy_boot  # pylint: disable=import-outside-toplevel
    assert _proxy_boot.boot_args({"image": "p:1"}, str(tmp_path))["run"] is None
    server(tmp_path).boot_config("set", {"http_port": 8080, "publish_host_ip": ["127.0.0.1"]})
    run = _proxy_boot.boot_args({"image": "p:1"}, str(tmp_path))["run"]
    assert (run["http_port"], run["https_port"], run["bind_ips"], run["publish"]) == (8080, 443, ["127.0.0.1"], True)
    # deploy.yml's proxy.run (or kamal_proxy_run) wins over the files, as in Kamal.
    assert _proxy_boot.boot_args({"image": "p:1", "run": {"http_port": 81}}, str(tmp_path))["run"] == {"http_port": 81}
