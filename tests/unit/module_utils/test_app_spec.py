"""What kamal_app puts into a container: Kamal's escaping, env file, options, logging, names (no Docker)."""
import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _app, _caddy, _container
from test_app_fakes import params


@pytest.mark.parametrize("value, expected", [
    ("s3cr with 'quote'", "s3cr with 'quote'"),
    ('say "hi"', 'say "hi"'),
    ("back\\slash", "back\\\\slash"),
    ("line1\nline2", "line1\\nline2"),
    ("tab\tcr\r", "tab\\tcr\\r"),
    ("#{interp} #$x #@y # plain", "#{interp} #$x #@y # plain"),
    ("caf\u00e9 \u2603", "caf\u00e9 \u2603"),
    ("bell\x07 esc\x1b nul\x00 del\x7f", "bell\\a esc\\e nul\\x00 del\\x7F"),
    ("$HOME ${HOME} `cmd`", "$HOME ${HOME} `cmd`"),
    (42, "42"),
])
def test_env_file_values_are_escaped_like_kamal(value, expected):
    assert _container.env_file_value(value) == expected


def test_env_file_content_and_empty_env():
    assert _container.render_env_file({"A": "1", "B": "x y"}) == "A=1\nB=x y\n"
    assert _container.render_env_file({}) == "\n"


def test_env_file_parses_back_like_docker():
    content = _container.render_env_file({"A": 'x"y', "B": "a\nb", "C": ""})
    assert _container.parse_env_file(content) == [("A", 'x"y'), ("B", "a\\nb"), ("C", "")]


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    ("${HOME}/data", "/home/app/data"),
    ("$HOME/data", "$HOME/data"),            # Kamal escapes $ unless it starts ${...}
    ("${MISSING}", ""),
    ("${MISSING:-fallback}", "fallback"),
    ('quote " and \\ backslash', 'quote " and \\ backslash'),
    ("new\nline", "new\\nline"),            # dumped, and the shell keeps \n inside double quotes
    ("#{x}", "\\#{x}"),                     # dump escapes #{ and the shell keeps the backslash
    ("`date`", "`date`"),
    ("caf\u00e9", "caf\u00e9"),
    (True, "true"),
    (3, "3"),
])
def test_clear_values_are_what_the_container_gets_from_kamals_command_line(value, expected):
    assert _container.shell_value(value, {"HOME": "/home/app"}) == expected


def test_options_map_to_sdk_kwargs():
    kwargs, merges = _container.map_options({
        "memory": "1g", "cpus": 2, "add-host": ["a:1.1.1.1", "b:2.2.2.2"], "cap-add": "NET_ADMIN", "init": True,
        "ulimit": "nofile=1024:2048", "sysctl": "net.core.somaxconn=1024", "publish": ["8080:80", "127.0.0.1:9090:90/udp"],
        "label": "team=core", "env": "EXTRA=1", "log-opt": "max-file=3", "health-cmd": "curl -f localhost/up",
        "health-interval": "1s", "health-retries": 3, "restart": "on-failure:5", "tmpfs": "/run:size=64m",
        "mount": "type=bind,source=/srv,target=/srv,readonly", "gpus": "all", "workdir": "/app", "u": "1000",
    })
    assert kwargs["mem_limit"] == "1g"
    assert kwargs["nano_cpus"] == 2 * 10 ** 9
    assert kwargs["extra_hosts"] == ["a:1.1.1.1", "b:2.2.2.2"]
    assert kwargs["cap_add"] == ["NET_ADMIN"]
    assert kwargs["init"] is True
    assert kwargs["ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert kwargs["sysctls"] == {"net.core.somaxconn": "1024"}
    assert kwargs["ports"] == {"80/tcp": 8080, "90/udp": ("127.0.0.1", 9090)}
    assert kwargs["healthcheck"] == {"test": ["CMD-SHELL", "curl -f localhost/up"], "interval": 10 ** 9, "retries": 3}
    assert kwargs["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 5}
    assert kwargs["tmpfs"] == {"/run": "size=64m"}
    assert kwargs["mounts"] == [{"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True}]
    assert kwargs["device_requests"] == [{"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}]
    assert kwargs["working_dir"] == "/app" and kwargs["user"] == "1000"
    assert merges["labels"] == {"team": "core"}
    assert merges["environment"] == [("EXTRA", "1")]
    assert merges["log.options"] == {"max-file": "3"}


@pytest.mark.parametrize("options, fragment", [
    ({"expose": 9000}, "options/expose: the docker run option --expose is not supported"),
    ({"name": "x"}, "options/name: cannot be set"),
    ({"network": "host"}, "options/network: cannot be set"),
    ({"restart": "sometimes"}, "options/restart: 'sometimes' must be no, always"),
    ({"memory-swappiness": "lots"}, "options/memory-swappiness: 'lots' is not an integer"),
    ({"health-interval": "soon"}, "options/health-interval: 'soon' is not a duration"),
    ({"privileged": "maybe"}, "options/privileged: 'maybe' should be true or false"),
    ({"user": True}, "options/user: --user needs a value"),
])
def test_options_that_cannot_be_expressed_fail_naming_the_option(options, fragment):
    with pytest.raises(_container.ContainerError) as err:
        _container.map_options(options)
    assert fragment in err.value.message


@pytest.mark.parametrize("logging, expected", [
    ({}, {"type": "", "config": {"max-size": "10m"}}),
    ({"options": {"max-file": "3"}}, {"type": "", "config": {"max-file": "3", "max-size": "10m"}}),
    ({"driver": "json-file", "options": {"max-size": "50m"}}, {"type": "json-file", "config": {"max-size": "50m"}}),
    ({"driver": "syslog", "options": {"tag": "app"}}, {"type": "syslog", "config": {"tag": "app"}}),
])
def test_logging_keeps_a_max_size_whenever_the_driver_rotates(logging, expected):
    assert _container.log_config(logging) == expected


def test_hostname_is_the_host_cut_at_51_without_a_trailing_dot():
    spec = _app.RoleSpec(params(host="a" * 50 + ".example.com"), environ={})
    assert spec.hostname("0123456789ab") == "a" * 50 + "-0123456789ab"
    spec = _app.RoleSpec(params(host="vm1"), environ={})
    assert spec.hostname("0123456789ab") == "vm1-0123456789ab"


def test_create_kwargs_order_and_content():
    spec = _app.RoleSpec(params(destination="eu", env={"A": "${HOME}"}, secret_env={"S": "x"},
                                volumes=["${HOME}/data:/data", "logs:/logs"], labels={"team": "core"},
                                cmd="bin/jobs --queue 'a b'", home="/srv/deploy"),
                         environ={"HOME": "/srv/deploy"})
    kwargs = spec.create_kwargs()
    assert kwargs["environment"] == ["KAMAL_CONTAINER_NAME=app-web-eu-v1", "KAMAL_VERSION=v1", "KAMAL_HOST=vm1.example.com",
                                     "KAMAL_DESTINATION=eu", "A=/srv/deploy", "S=x"]
    assert kwargs["volumes"] == ["/srv/deploy/data:/data", "logs:/logs"]
    assert kwargs["labels"] == {"service": "app", "role": "web", "destination": "eu", "team": "core"}
    assert kwargs["command"] == ["bin/jobs", "--queue", "a b"]
    assert spec.env_file == "/srv/deploy/.kamal/apps/app-eu/env/roles/web.env"


def test_spec_hash_follows_config_and_secrets_but_not_the_hostname():
    base = _app.RoleSpec(params(secret_env={"S": "x"}), environ={}).spec_hash("sha256:1")
    assert base == _app.RoleSpec(params(secret_env={"S": "x"}), environ={}).spec_hash("sha256:1")
    assert base != _app.RoleSpec(params(secret_env={"S": "y"}), environ={}).spec_hash("sha256:1")
    assert base != _app.RoleSpec(params(secret_env={"S": "x"}, options={"memory": "1g"}), environ={}).spec_hash("sha256:1")
    assert base != _app.RoleSpec(params(secret_env={"S": "x"}), environ={}).spec_hash("sha256:2")


def test_stop_timeout_follows_kamal():
    assert _app.RoleSpec(params(drain_timeout=12), environ={}).stop_timeout() == 12
    assert _app.RoleSpec(params(drain_timeout=12, proxy={}), environ={}).stop_timeout() is None
    assert _app.RoleSpec(params(drain_timeout=12, proxy={}, stop_timeout=4), environ={}).stop_timeout() == 4


def test_route_follows_the_proxy_contract():
    proxy = {"hosts": ["a.example.com"], "app_port": 3000, "healthcheck": {"path": "/health"}}
    spec = _app.RoleSpec(params(destination="eu", proxy=proxy), environ={})
    route = spec.route()
    assert route["name"] == "app-web-eu"
    assert route["app_port"] == 3000 and route["hosts"] == ["a.example.com"]
    # Unset values are the proxy backend's to fill, the same for every module.
    assert _caddy.normalize_route(route)["healthcheck"] == {"path": "/health", "interval": 1, "timeout": 5}


def test_render_run_never_shows_secret_values():
    spec = _app.RoleSpec(params(env={"A": "1"}, secret_env={"S": "hush"}), environ={})
    line = _app.render_run(spec, "app-web-v1", "vm1-x", spec.image(), spec.create_kwargs())
    assert "hush" not in line and "--env A=1" in line and "--env-file" in line
