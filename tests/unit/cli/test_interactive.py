"""Interactive commands go over `ssh -t` to one host, as Kamal does, with the inventory's SSH settings."""
import re

import pytest

from cli_helpers import Terminal, dry

# The host's own ssh settings, then a connect timeout and keepalives (an unreachable host fails in seconds).
SSH = ["ssh", "-F", "/keys/ssh_config", "-o", "ProxyJump=bastion.test", "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=15",
       "-o", "ServerAliveCountMax=3", "-i", "/keys/id_ed25519", "-t", "-p", "2222"]
CURRENT_WEB = ("c=$(docker ps --latest --quiet --filter label=service=cliapp --filter label=destination= --filter label=role=web "
               "--filter status=running --filter status=restarting); "
               "[ -n \"$c\" ] || { echo 'No running cliapp-web container on 10.0.0.1' >&2; exit 1; }; ")


def test_exec_interactive_reuse_runs_docker_exec_in_the_current_container_of_the_primary_host(project):
    env, argv = dry("app", "exec", "-i", "--reuse", "bin/rails", "console", stdin=Terminal())
    assert env == {}
    assert argv == SSH + ["deploy@10.0.0.1", CURRENT_WEB + 'exec docker exec -it "$c" bin/rails console']
    assert [c["argv"] for c in project.calls()] == [["ansible-inventory", "-i", "config/deploy.yml", "--list"]]


def test_without_a_terminal_docker_gets_i_not_it(project):
    _env, argv = dry("app", "exec", "-i", "--reuse", "bash")
    assert argv[-1].endswith('exec docker exec -i "$c" bash')


def test_exec_interactive_reuse_with_a_version_names_the_container(project):
    _env, argv = dry("app", "exec", "--interactive", "--reuse", "--version", "v7", "bash", stdin=Terminal())
    assert argv[-2:] == ["deploy@10.0.0.1", "docker exec -it cliapp-web-v7 bash"]


def test_exec_interactive_runs_a_new_container_of_the_latest_image_with_the_role_env(project):
    _env, argv = dry("app", "exec", "-i", "-e", "DEBUG:1", "bin/rails", "console", stdin=Terminal())
    remote = argv[-1]
    assert argv[:-1] == SSH + ["deploy@10.0.0.1"]
    match = re.fullmatch(r"docker run -it --rm --name cliapp-web-exec-latest-([0-9a-f]{6}) (.*)", remote)
    assert match, remote
    assert match.group(2) == ("--network kamal --env RAILS_ENV=production --env-file .kamal/apps/cliapp/env/roles/web.env "
                              "--env DEBUG=1 --log-opt max-size=\"10m\" --volume /data:/data "
                              "registry.test:5000/cliapp:latest bin/rails console")


def test_exec_interactive_on_a_role_uses_its_first_host_and_options(project):
    _env, argv = dry("app", "exec", "-i", "-r", "workers", "--version", "v2", "bash", stdin=Terminal())
    assert argv[-2] == "deploy@10.0.0.3"
    assert "--memory \"512m\" registry.test:5000/cliapp:v2 bash" in argv[-1]
    assert "--name cliapp-workers-exec-v2-" in argv[-1]


def test_exec_interactive_on_a_host_uses_that_host(project):
    _env, argv = dry("app", "exec", "-i", "--reuse", "-h", "10.0.0.2", "bash", stdin=Terminal())
    assert argv[-2] == "deploy@10.0.0.2" and "on 10.0.0.2" in argv[-1]


def test_destination_filters_the_container_and_names_the_latest_tag(project):
    _env, argv = dry("-d", "staging", "app", "exec", "-i", "bash", stdin=Terminal())
    assert "--name cliapp-web-staging-exec-latest-staging-" in argv[-1]
    assert "registry.test:5000/cliapp:latest-staging bash" in argv[-1]
    assert [c["destination"] for c in project.calls("ansible-inventory")] == ["staging"]
    _env, argv = dry("-d", "staging", "app", "logs", "-f")
    assert "--filter label=destination=staging" in argv[-1]


def test_app_logs_follow_tails_ten_lines_of_the_current_container(project):
    _env, argv = dry("app", "logs", "-f")
    assert argv == SSH + ["deploy@10.0.0.1", CURRENT_WEB + 'docker logs --timestamps --tail 10 --follow "$c" 2>&1']


def test_app_logs_follow_with_lines_since_grep_and_no_timestamps(project):
    _env, argv = dry("app", "logs", "-f", "-T", "-n", "50", "-s", "5m", "-g", "GET /up", "--grep-options=-i", "-r", "workers")
    assert argv[-2] == "deploy@10.0.0.3"
    assert argv[-1].endswith("docker logs --since 5m --tail 50 --follow \"$c\" 2>&1 | grep 'GET /up' -i")


def test_accessory_exec_interactive_runs_the_accessory_image_on_its_first_host(project):
    _env, argv = dry("accessory", "exec", "db", "-i", "psql", stdin=Terminal())
    assert argv == SSH + ["deploy@10.0.0.3",
                          "docker run -it --rm --network kamal --env POSTGRES_USER=app --env-file .kamal/apps/cliapp/env/accessories/db.env "
                          "--volume $PWD/cliapp-db/data:/var/lib/postgresql/data postgres:15 psql"]


def test_accessory_exec_interactive_reuse_and_logs_follow_use_its_container(project):
    assert dry("accessory", "exec", "db", "-i", "--reuse", "psql", "-U", "app", stdin=Terminal())[1][-1] == \
        "docker exec -it cliapp-db psql -U app"
    assert dry("accessory", "logs", "db", "-f", "-g", "FATAL")[1][-2:] == [
        "deploy@10.0.0.3", "docker logs --timestamps --tail 10 --follow cliapp-db 2>&1 | grep FATAL"]


def test_proxy_logs_follow_the_proxy_on_the_primary_host(project):
    assert dry("proxy", "logs", "-f", "-n", "3")[1][-2:] == [
        "deploy@10.0.0.1", "docker logs --timestamps --tail 3 --follow kamal-proxy 2>&1"]
    assert dry("proxy", "logs", "-f", "-h", "10.0.0.2")[1][-2] == "deploy@10.0.0.2"


@pytest.mark.parametrize("args,message", [
    (["accessory", "exec", "redis", "-i", "redis-cli"], "No accessory by the name of 'redis' (options: db)"),
    (["accessory", "logs", "db", "-f", "-r", "web"], "No host of accessory db matches"),
    (["app", "logs", "-f", "-h", "10.9.9.9"], "No --hosts match for 10.9.9.9"),
    (["app", "exec", "-i", "-r", "nope", "bash"], "No --roles match for nope"),
])
def test_unreachable_targets_are_errors(project, args, message):
    from kamal_ansible.errors import CliError  # pylint: disable=import-outside-toplevel
    with pytest.raises(CliError, match=re.escape(message)):
        dry(*args)
