"""Every Kamal command kamal-ansible knows, and the ansible-playbook command line it becomes."""
import io
import json
import os
import shlex

import pytest

from kamal_ansible import cli

from cli_helpers import PLAYBOOK, Terminal, dry, kamal


def pb(name, *rest):
    return PLAYBOOK + ["kamal.deploy." + name] + list(rest)


MAPPING = [
    # top level
    (["deploy"], pb("deploy")),
    (["deploy", "-P", "--version", "v2"], pb("deploy", "-e", "version=v2", "-e", "skip_push=true")),
    (["deploy", "--skip-push", "-r", "web,workers"], pb("deploy", "-l", "web,workers", "-e", "skip_push=true", "-e", "roles=web,workers")),
    (["deploy", "--no-cache"], pb("deploy", "-e", "no_cache=true")),
    (["redeploy", "--no-cache"], pb("redeploy", "-e", "no_cache=true")),
    (["setup", "--no-cache", "-P"], pb("setup", "-e", "skip_push=true", "-e", "no_cache=true")),
    (["plan", "--no-cache"], pb("deploy", "-e", "no_cache=true", "--check", "--diff")),
    (["redeploy", "-P"], pb("redeploy", "-e", "skip_push=true")),
    (["setup", "-r", "web"], pb("setup", "-l", "web", "-e", "roles=web")),
    (["setup", "-P", "-H"], pb("setup", "-e", "skip_hooks=true", "-e", "skip_push=true")),
    (["rollback", "abc123"], pb("rollback", "-e", "version=abc123")),
    (["rollback"], pb("rollback")),
    (["rollback", "--version", "abc123"], pb("rollback", "-e", "version=abc123")),
    (["details"], pb("details")),
    (["details", "-r", "web"], pb("details", "-l", "web")),
    # build, server, registry
    (["build", "push"], pb("build_push")),
    (["build", "push", "--output", "docker", "--no-cache"], pb("build_push", "-e", "output=docker", "-e", "no_cache=true")),
    (["build", "pull", "--version", "v2"], pb("build_pull", "-e", "version=v2")),
    (["build", "deliver"], pb("build_deliver")),
    (["build", "deliver", "--version", "v2", "-r", "web"], pb("build_deliver", "-l", "web", "-e", "version=v2")),
    (["server", "bootstrap", "-h", "10.0.0.3"], pb("server_bootstrap", "-l", "10.0.0.3")),
    (["registry", "login"], pb("registry_login")),
    (["registry", "login", "-L"], pb("registry_login", "-e", "skip_local=true")),
    (["registry", "logout", "--skip-remote"], pb("registry_logout", "-e", "skip_remote=true")),
    # a remote registry: setup and remove are login and logout (a local one: test_local_commands.py)
    (["registry", "setup"], pb("registry_login")),
    (["registry", "setup", "-R"], pb("registry_login", "-e", "skip_remote=true")),
    (["registry", "remove", "--skip-local"], pb("registry_logout", "-e", "skip_local=true")),
    (["plan"], pb("deploy", "--check", "--diff")),
    (["plan", "-P", "-r", "web"], pb("deploy", "-l", "web", "-e", "skip_push=true", "-e", "roles=web", "--check", "--diff")),
    (["audit"], pb("audit")),
    (["remove", "-y"], pb("remove", "-e", "confirm=true")),
    (["remove", "--confirmed"], pb("remove", "-e", "confirm=true")),
    (["prune", "all"], pb("prune", "-e", "prune=all")),
    (["prune", "containers", "--retain", "3"], pb("prune", "-e", "prune=containers", "-e", "retain=3")),
    (["prune", "images"], pb("prune", "-e", "prune=images")),
    # lock
    (["lock", "acquire", "-m", "Hotfix in progress, ask Ana"], pb("lock_acquire", "-e", '{"message": "Hotfix in progress, ask Ana"}')),
    (["lock", "acquire", "--message=it's \"quoted\""], pb("lock_acquire", "-e", json.dumps({"message": "it's \"quoted\""}))),
    (["lock", "release"], pb("lock_release")),
    (["lock", "status"], pb("lock_status")),
    # app
    (["app", "boot"], pb("app_boot")),
    (["app", "boot", "--version", "v3"], pb("app_boot", "-e", "version=v3")),
    (["app", "start"], pb("app_start")),
    (["app", "stop", "-r", "workers"], pb("app_stop", "-l", "workers")),
    (["app", "details"], pb("app_details")),
    (["app", "containers"], pb("app_containers")),
    (["app", "images"], pb("app_images")),
    (["app", "version"], pb("app_version")),
    (["app", "live"], pb("app_live")),
    (["app", "stale_containers"], pb("app_stale_containers")),
    (["app", "stale_containers", "--stop"], pb("app_stale_containers", "-e", "stop=true")),
    (["app", "stale_containers", "-s"], pb("app_stale_containers", "-e", "stop=true")),
    (["app", "logs"], pb("app_logs")),
    (["app", "logs", "-n", "20", "-s", "10m", "-g", "GET /up"],
     pb("app_logs", "-e", "lines=20", "-e", "since=10m", "-e", '{"grep": "GET /up"}')),
    (["app", "logs", "--container-id", "abc"], pb("app_logs", "-e", "container_id=abc")),
    (["app", "maintenance"], pb("app_maintenance")),
    (["app", "maintenance", "--message", "Back soon", "--drain-timeout", "5"],
     pb("app_maintenance", "-e", '{"message": "Back soon"}', "-e", "drain_timeout=5")),
    (["app", "remove", "-y"], pb("app_remove", "-e", "confirm=true")),
    # proxy
    (["proxy", "boot"], pb("proxy_boot")),
    (["proxy", "reboot", "-y"], pb("proxy_reboot", "-e", "confirm=true")),
    (["proxy", "reboot", "--rolling", "-y"], pb("proxy_reboot", "-e", "rolling=true", "-e", "confirm=true")),
    (["proxy", "remove"], pb("proxy_remove")),
    (["proxy", "remove", "--force"], pb("proxy_remove", "-e", "force=true")),
    (["proxy", "details"], pb("proxy_details")),
    (["proxy", "start"], pb("proxy_start")),
    (["proxy", "stop", "-h", "10.0.0.2"], pb("proxy_stop", "-l", "10.0.0.2")),
    (["proxy", "restart", "-r", "web"], pb("proxy_restart", "-l", "web")),
    (["proxy", "logs"], pb("proxy_logs")),
    (["proxy", "logs", "-n", "5"], pb("proxy_logs", "-e", "lines=5")),
    # accessory
    (["accessory", "boot", "db"], pb("accessory_boot", "-e", "accessory=db")),
    (["accessory", "boot", "all"], pb("accessory_boot", "-e", "accessory=all")),
    (["accessory", "reboot", "db"], pb("accessory_reboot", "-e", "accessory=db")),
    (["accessory", "start", "db"], pb("accessory_start", "-e", "accessory=db")),
    (["accessory", "stop", "db"], pb("accessory_stop", "-e", "accessory=db")),
    (["accessory", "restart", "db"], pb("accessory_restart", "-e", "accessory=db")),
    (["accessory", "remove", "db", "-y"], pb("accessory_remove", "-e", "accessory=db", "-e", "confirm=true")),
    (["accessory", "remove", "all", "-y"], pb("accessory_remove", "-e", "accessory=all", "-e", "confirm=true")),
    (["accessory", "details", "all"], pb("accessory_details", "-e", "accessory=all")),
    (["accessory", "upload", "db"], pb("accessory_upload", "-e", "accessory=db")),
    (["accessory", "logs", "db"], pb("accessory_logs", "-e", "accessory=db")),
    (["accessory", "logs", "db", "-n", "3", "-s", "1h", "-g", "ERROR"],
     pb("accessory_logs", "-e", "accessory=db", "-e", "lines=3", "-e", "since=1h", "-e", "grep=ERROR")),
    (["accessory", "boot", "db", "-r", "web"], pb("accessory_boot", "-l", "web", "-e", "accessory=db")),
]


@pytest.mark.parametrize("args,expected", MAPPING, ids=[" ".join(a) for a, _argv in MAPPING])
def test_command_becomes_its_playbook(project, args, expected):
    env, argv = dry(*args)
    assert argv == expected
    assert env == {}
    assert project.calls() == [], "a plain command runs no ansible-inventory"


EXEC = [
    (["app", "exec", "bin/rails", "db:migrate"],
     {"cmd": "bin/rails db:migrate", "reuse": False, "exec_env": {}, "detach": False, "primary": False}),
    # Thor: unknown dashes belong to the command; -e is a hash of KEY:VALUE words
    (["app", "exec", "ls", "-l", "/tmp"], {"cmd": "ls -l /tmp", "reuse": False, "exec_env": {}, "detach": False, "primary": False}),
    (["app", "exec", "-e", "A:1", "B:two words", "--reuse", "env"],
     {"cmd": "env", "reuse": True, "exec_env": {"A": "1", "B": "two words"}, "detach": False, "primary": False}),
    (["app", "exec", "--env=URL:http://x:8080/", "--detach", "bin/jobs"],
     {"cmd": "bin/jobs", "reuse": False, "exec_env": {"URL": "http://x:8080/"}, "detach": True, "primary": False}),
    (["app", "exec", "-p", "--version", "v9", "--", "echo", "--reuse"],
     {"version": "v9", "cmd": "echo --reuse", "reuse": False, "exec_env": {}, "detach": False, "primary": True}),
]


@pytest.mark.parametrize("args,variables", EXEC, ids=[" ".join(a) for a, _vars in EXEC])
def test_app_exec_passes_one_json_object(project, args, variables):
    _env, argv = dry(*args)
    assert argv[:4] == PLAYBOOK + ["kamal.deploy.app_exec"]
    assert argv[4] == "-e" and json.loads(argv[5]) == variables and len(argv) == 6


def test_accessory_exec_passes_name_cmd_and_reuse(project):
    _env, argv = dry("accessory", "exec", "db", "--reuse", "psql -c 'select 1'")
    assert argv[:4] == PLAYBOOK + ["kamal.deploy.accessory_exec"]
    assert json.loads(argv[5]) == {"accessory": "db", "cmd": "psql -c 'select 1'", "reuse": True}
    # -c is --config-file (as in Kamal) unless the command follows --
    _env, argv = dry("accessory", "exec", "db", "--", "psql", "-c", "select 1")
    assert json.loads(argv[5])["cmd"] == "psql -c select 1"


def test_server_exec_passes_the_command_line_as_json(project):
    _env, argv = dry("server", "exec", "-p", "docker", "ps", "-a")
    assert argv == PLAYBOOK + ["kamal.deploy.server_exec", "-l", "kamal_primary", "-e", json.dumps({"cmd": "docker ps -a"})]


def test_server_exec_interactive_goes_over_ssh_to_the_primary_host(project):
    _env, argv = dry("server", "exec", "-i", "htop", stdin=Terminal())
    assert argv[0] == "ssh" and argv[-2:] == ["deploy@10.0.0.1", "htop"]
    _env, argv = dry("server", "exec", "-i", "-h", "10.0.0.3", "htop", stdin=Terminal())
    assert argv[-2:] == ["deploy@10.0.0.3", "htop"]


BOOT_CONFIG = [
    (["get"], {"boot_config": "get"}),
    (["reset"], {"boot_config": "reset"}),
    (["set", "--http-port", "8080", "--publish-host-ip", "127.0.0.1", "--publish-host-ip", "::1", "--metrics-port", "9000",
      "--debug", "--docker-options", "sysctl=net.ipv4.ip_local_port_range=10000 60999", "label=x=y"],
     {"boot_config": "set", "boot_settings": {"publish": True, "publish_host_ip": ["127.0.0.1", "::1"], "http_port": 8080,
                                              "metrics_port": 9000, "debug": True,
                                              "docker_options": ["sysctl=net.ipv4.ip_local_port_range=10000 60999", "label=x=y"]}}),
    (["set", "--no-publish", "--image-version", "v0.9.3"],
     {"boot_config": "set", "boot_settings": {"publish": False, "image_version": "v0.9.3", "debug": False}}),
]


@pytest.mark.parametrize("args,variables", BOOT_CONFIG, ids=[" ".join(a) for a, _vars in BOOT_CONFIG])
def test_proxy_boot_config_passes_its_subcommand_and_settings(project, args, variables):
    _env, argv = dry("proxy", "boot_config", *args)
    assert argv[:4] == PLAYBOOK + ["kamal.deploy.proxy_boot_config"]
    assert argv[4] == "-e" and json.loads(argv[5]) == variables and len(argv) == 6


@pytest.mark.parametrize("args", [["config"], ["init"], ["secrets", "print"], ["secrets", "fetch", "-a", "test", "x"],
                                  ["secrets", "extract", "x", "{}"], ["build", "create"], ["build", "remove"], ["build", "details"],
                                  ["build", "dev"], ["docs", "proxy"], ["upgrade"], ["accessory", "upgrade"]])
def test_controller_only_commands_start_no_ansible(project, args):
    code, out = kamal("--dry-run", *args)
    name = " ".join(args[:2] if args[0] in ("secrets", "build", "accessory") else args[:1])
    assert code == 0 and out == "# kamal-ansible %s runs on the controller, in kamal-ansible itself (no ansible-playbook)\n" % name
    assert project.calls() == []


TARGETS = [
    (["-h", "10.0.0.1,10.0.0.2"], ["-l", "10.0.0.1,10.0.0.2"]),
    (["--hosts=10.0.0.*"], ["-l", "10.0.0.*"]),
    (["-r", "workers"], ["-l", "workers"]),
    (["-h", "10.0.0.1,10.0.0.3", "-r", "web"], ["-l", "10.0.0.1,10.0.0.3,&web"]),
    (["-p"], ["-l", "kamal_primary"]),
    (["-p", "-r", "workers"], ["-l", "workers[0]"]),
    (["-p", "-h", "10.0.0.2,10.0.0.3"], ["-l", "10.0.0.2"]),
]


@pytest.mark.parametrize("options,limit", TARGETS, ids=[" ".join(o) for o, _limit in TARGETS])
def test_hosts_roles_and_primary_become_the_limit(project, options, limit):
    _env, argv = dry("app", "details", *options)
    assert argv == PLAYBOOK + ["kamal.deploy.app_details"] + limit


def test_hosts_with_several_roles_are_resolved_through_the_inventory(project):
    # (h1 or h3) and (web or workers) has no Ansible pattern: the hosts are named
    _env, argv = dry("app", "details", "-h", "10.0.0.1,10.0.0.3", "-r", "web,workers")
    assert argv[-2:] == ["-l", "10.0.0.1,10.0.0.3"]
    assert [c["argv"] for c in project.calls("ansible-inventory")] == [["ansible-inventory", "-i", "config/deploy.yml", "--list"]]


def test_primary_with_a_wildcard_role_is_the_first_matching_roles_first_host(project):
    _env, argv = dry("app", "details", "-p", "-r", "work*")
    assert argv[-2:] == ["-l", "workers[0]"]


def test_destination_reaches_the_inventory_plugin_as_kamal_destination(project):
    env, argv = dry("-d", "staging", "deploy")
    assert env == {"KAMAL_DESTINATION": "staging"}
    assert argv == pb("deploy")


def test_options_may_come_before_the_command_words(project):
    assert dry("-d", "staging", "-r", "web", "app", "-v", "logs", "-n", "3") == dry("app", "logs", "-n", "3", "-r", "web", "-d", "staging", "-v")
    _env, argv = dry("-r", "web", "app", "logs", "-n", "3", "-v")
    assert argv == pb("app_logs", "-l", "web", "-e", "lines=3", "-v")


def test_config_file_option_names_the_inventory(project, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "deploy.yml").write_text("service: x\n")
    _env, argv = dry("-c", "other/deploy.yml", "lock", "status")
    assert argv == ["ansible-playbook", "-i", "other/deploy.yml", "kamal.deploy.lock_status"]
    (tmp_path / "inventory.kamal.yml").write_text("plugin: kamal.deploy.kamal\n")
    assert dry("--config-file", "inventory.kamal.yml", "audit")[1][:3] == ["ansible-playbook", "-i", "inventory.kamal.yml"]


def test_quiet_is_results_and_errors_only_and_verbose_adds_v(project):
    env, argv = dry("-q", "-v", "audit")
    # the callback's quiet option (no host headings, no changed lines, no summary), no live progress, and for
    # Ansible's own output (-v) no skipped hosts
    assert env == {"ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false", "KAMAL_ANSIBLE_QUIET": "1"}
    assert argv == pb("audit", "-e", "kamal_progress=false", "-v")
    assert dry("audit", "--quiet") == ({"ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false", "KAMAL_ANSIBLE_QUIET": "1"},
                                       pb("audit", "-e", "kamal_progress=false"))


def test_odd_extra_var_values_go_as_json_so_ansible_reads_them_whole(project):
    _env, argv = dry("app", "logs", "-g", "user=42 path='/a b'", "--version", "v1;rm -rf /")
    assert argv[4:] == ["-e", json.dumps({"version": "v1;rm -rf /"}), "-e", json.dumps({"grep": "user=42 path='/a b'"})]


def test_dry_run_from_the_environment(project, monkeypatch):
    monkeypatch.setenv("KAMAL_ANSIBLE_DRY_RUN", "1")
    code, out = kamal("lock", "status")
    assert code == 0 and out == ("ANSIBLE_INVENTORY_ENABLED=%s ANSIBLE_STDOUT_CALLBACK=kamal.deploy.kamal "
                                 "ansible-playbook -i config/deploy.yml kamal.deploy.lock_status\n" % cli.INVENTORY_PLUGINS)
    assert project.calls() == []


def test_confirmed_on_a_terminal_runs_with_confirm(project):
    code, out = kamal("--dry-run", "accessory", "remove", "db", stdin=Terminal("y\n"))
    question, _sep, command = out.partition(" [y, N] (N) ")
    assert code == 0 and question == "This will remove all containers, images and data directories for db. Are you sure?"
    assert shlex.split(command) == ["ANSIBLE_INVENTORY_ENABLED=" + cli.INVENTORY_PLUGINS, "ANSIBLE_STDOUT_CALLBACK=" + cli.OUTPUT_CALLBACK] + pb(
        "accessory_remove", "-e", "accessory=db", "-e", "confirm=true")


def test_output_is_the_collections_unless_verbose_or_the_user_chose_their_own(project, monkeypatch):
    env, _argv = dry("-v", "audit")
    assert "ANSIBLE_STDOUT_CALLBACK" not in env
    monkeypatch.setenv("KAMAL_ANSIBLE_OUTPUT", "ansible")
    assert "ANSIBLE_STDOUT_CALLBACK" not in dry("audit")[0]
    monkeypatch.delenv("KAMAL_ANSIBLE_OUTPUT")
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "yaml")
    assert "ANSIBLE_STDOUT_CALLBACK" not in dry("audit")[0]


def test_the_inventory_plugin_is_enabled_without_an_ansible_cfg_keeping_a_users_own_list():
    assert cli.inventory_plugins({}) == "kamal.deploy.kamal,host_list,script,auto,yaml,ini,toml"
    assert cli.inventory_plugins({"ANSIBLE_INVENTORY_ENABLED": "ini, mine.own.plugin"}) == "kamal.deploy.kamal,ini,mine.own.plugin"
    assert cli.inventory_plugins({"ANSIBLE_INVENTORY_ENABLED": "kamal.deploy.kamal,yaml"}) is None


# app exec --raw ----------------------------------------------------------------------------------------------

def raw_run(*args):
    """(exit status, the bytes kamal-ansible printed) of a real run (the fake ansible-playbook writes raw_output)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    code = cli.run(list(args), env=dict(os.environ), stdin=io.StringIO(), stdout=out)
    out.flush()
    return code, out.buffer.getvalue()


def test_raw_exec_passes_a_temporary_file_to_the_playbook(project):
    _env, argv = dry("app", "exec", "--raw", "-p", "cat", "public/logo.png")
    assert argv[:4] == PLAYBOOK + ["kamal.deploy.app_exec"] and len(argv) == 6
    variables = json.loads(argv[5])
    assert variables.pop("raw_output").endswith("/stdout")
    assert variables == {"cmd": "cat public/logo.png", "reuse": False, "exec_env": {}, "detach": False, "primary": True}


def test_raw_exec_prints_the_commands_bytes_and_nothing_else(project):
    code, printed = raw_run("app", "exec", "--raw", "-p", "--reuse", "cat", "public/logo.png")
    assert code == 0 and printed == bytes(range(256)), printed[:80]
    written = json.loads(project.calls("ansible-playbook")[0]["argv"][-1])["raw_output"]
    assert not os.path.exists(os.path.dirname(written)), "the temporary file is removed"


def test_raw_exec_that_fails_prints_ansibles_output_on_stderr_and_exits_with_its_status(project, monkeypatch, capfd):
    monkeypatch.setenv("FAKE_EXIT", "2")
    code, printed = raw_run("app", "exec", "--raw", "-p", "false")
    assert (code, printed) == (2, b"")
    err = capfd.readouterr().err
    assert "PLAY [the fake ansible-playbook's own output]" in err and "give one host and role" not in err
    # the playbook refuses raw output from more than one host and role: kamal-ansible says which options give one
    monkeypatch.setenv("FAKE_STDERR", "FAILED on 10.0.0.1: -e raw_output=/tmp/x writes the output of one command, and this "
                       "one would run 3 times (...): add -e primary=true, or -l with one host and role\n")
    assert raw_run("app", "exec", "--raw", "ls") == (2, b"")
    assert "give one host and role (-p for the primary one, or -h HOST" in capfd.readouterr().err
