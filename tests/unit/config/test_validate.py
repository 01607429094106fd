"""Validation: Kamal's rules and messages (key path first), plus what Kamal wrongly lets through."""
import os

import pytest
import yaml

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "configs")
INVALID = os.path.join(CORPUS, "invalid")


def _strip(base, *keys):
    return "".join(line + "\n" for line in base.splitlines() if line.split(":")[0] not in keys)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(INVALID) if f.endswith(".yml")))
def test_kamal_rejections_have_kamal_messages(project, name):
    """The corpus the oracle test also runs through the real Kamal."""
    with open(os.path.join(INVALID, name), encoding="utf-8") as handle:
        text = handle.read()
    with pytest.raises(KamalConfigError) as error:
        project.load(text)
    assert error.value.kamal_message == yaml.safe_load(text)["x-expect"]


@pytest.mark.parametrize("extra, message", [
    # Kamal 2.12 checks (2.11 refused every restart option).
    ("servers: {web: {hosts: [1.1.1.1], options: {restart: sometimes}}}",
     "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or on-failure:N"),
    ("servers: {web: {hosts: [1.1.1.1], options: {restart: no}}}",
     'servers/web/options/restart: should be a string. Use "no" to disable restarts'),
    ("accessories: {db: {image: x, host: h, options: {restart: on-failure:x}}}",
     "accessories/db/options/restart: should be no, always, unless-stopped, on-failure, or on-failure:N"),
    ("stop_timeout: '10'", "stop_timeout: should be an integer"),
    ("servers: {web: {hosts: [1.1.1.1], stop_timeout: 1.5}}", "servers/web/stop_timeout: should be an integer"),
    ("output: {otel: {endpoint: x, token: y}}", "output/otel: unknown key: token"),
    ("output: {syslog: {}}", "output: unknown key: syslog"),
    ("ssh: {forward_agent: 'no'}", "ssh/forward_agent: should be a boolean"),
    ("minimum_version: 99.0", "Current version is 2.12.0, minimum required is 99.0"),
    ("minimum_version: 2.12.0.rc1", None),
    ("minimum_version: 2.12.1.beta", "Current version is 2.12.0, minimum required is 2.12.1.beta"),
    ("minimum_version: '2.12'", None),
    ("registry: {server: localhost:5000}\nbuilder: {arch: [amd64, arm64], remote: tcp://builder:2375, local: false}",
     "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)"),
    ("servers: {web: [h1], api: {hosts: [h1], proxy: {host: a.com, run: {http_port: 81}}}}\nproxy: {run: {http_port: 80}}",
     "Conflicting proxy run configurations for host h1"),
    ("servers: {web: [h1], api: {hosts: [h1], proxy: {host: b.com}}}\nproxy: {host: a.com, run: {http_port: 80}}", None),
    ("servers: {web: {hosts: [h1], proxy: {hosts: [b.com]}}}\nproxy: {host: a.com}",
     "proxy: Specify one of 'host' or 'hosts', not both"),
    ("proxy: {ssl: {private_key_pem: KEY}, host: a.com}",
     "proxy: Missing certificate_pem setting (required when private_key_pem is present)"),
    ("servers: {web: {hosts: [h1], proxy: {ssl: true}}}",
     "servers/web/proxy: Must set a host to enable automatic SSL"),
    ("accessories: {db: {image: x, host: h, env: {tags: {}}}}", "accessories/db/env: tags are only allowed in the root env"),
    ("accessories: {db: {image: x, host: h, registry: {server: r.io}}}", "accessories/db/registry/username: is required"),
    ("accessories: {db: [x]}", "accessories/db: should be a hash"),
    ("accessories: {db: {image: x, hosts: [{h1: a, h2: b}]}}", "accessories/db/hosts/0: multiple hosts found"),
    ("accessories: {db: {image: x, host: h, files: [1]}}", None),
    ("accessories: {db: {image: x, host: h, directories: {a: b}}}", "accessories/db/directories: should be an array"),
    ("servers: {web: {hosts: [h1], logging: {driver: 1, options: []}}}", "servers/web/logging/options: should be a hash"),
    ("servers: {web: {hosts: [h1], env: {secret: [[1]]}}}", "servers/web/env/secret/0: should be a string"),
    ("servers: {web: {hosts: [h1], proxy: {app_port: x}}}", "servers/web/proxy/app_port: should be an integer"),
    ("servers: [h1, [h2]]", "servers/1: should be a string or a hash"),
    ("servers: web", "servers: should be an array or a hash"),
    ("ssh: {config: [[1]]}", "ssh/config/0: should be a string"),
    ("proxy: {healthcheck: {interval: 1s}}", "proxy/healthcheck/interval: should be an integer"),
    ("proxy: {run: {options: [a]}}", "proxy/run/options: should be a hash"),
    ("proxy: {logging: {request_headers: X-Foo}}", "proxy/logging/request_headers: should be an array"),
    ("builder: {arch: amd64, pack: {builder: x, buildpacks: [a], extra: 1}}", "builder/pack: unknown key: extra"),
    ("builder: {arch: amd64, args: [A=1]}", "builder/args: should be a hash"),
    ("builder: {arch: [amd64, {a: 1}]}", "builder/arch: should be an array or a string"),
    ("hooks_output: {pre-deploy: [x]}", "hooks_output/pre-deploy: should be a string"),
    ("aliases: {shell: [a]}", "aliases/shell: should be a string"),
    ("env: {clear: [A]}", "env/clear: should be a hash"),
    ("env: {tags: []}", "env/tags: should be a hash"),
    ("env: {tags: {a: x}}", "env/tags/a: should be a hash"),
    ("env: {tags: {a: {clear: {X: [1]}}}}", "env/tags/a/clear/X: should be a string"),
    ("boot: {parallel_roles: 1}", "boot/parallel_roles: should be a boolean"),
    ("sshkit: {dns_retries: x}", "sshkit/dns_retries: should be an integer"),
    ("registry: {server: localhost:5000}\nimage: ''", None),
    ("primary_role: workers\nservers: {web: [h1], workers: {cmd: x}}", "No servers specified for the workers primary_role"),
    ("servers: {web: [h1], workers: {cmd: x}}\nallow_empty_roles: true", None),
])
def test_kamal_rules(project, base, extra, message):
    text = _strip(base, *[line.split(":")[0] for line in extra.splitlines()]) + extra + "\n"
    if message is None:
        assert project.load(text).service
        return
    with pytest.raises(KamalConfigError) as error:
        project.load(text)
    assert error.value.kamal_message == message


# Every key of Kamal 2.12's proxy section (lib/kamal/configuration/docs/proxy.yml) with a value of the wrong type,
# and Kamal's message: the config model reads the keys from the route's one table (_route.KAMAL_KEYS).
@pytest.mark.parametrize("extra, message", [
    ("proxy: {host: [a.com]}", "proxy/host: should be a string"),
    ("proxy: {hosts: a.com}", "proxy/hosts: should be an array"),
    ("proxy: {hosts: [[a.com]]}", "proxy/hosts/0: should be a string"),
    ("proxy: {app_port: '80'}", "proxy/app_port: should be an integer"),
    ("proxy: {ssl: [x]}", "proxy/ssl: should be a boolean or a hash"),
    ("proxy: {ssl_redirect: 'no'}", "proxy/ssl_redirect: should be a boolean"),
    ("proxy: {forward_headers: 1}", "proxy/forward_headers: should be a boolean"),
    ("proxy: {response_timeout: 1.5}", "proxy/response_timeout: should be an integer"),
    ("proxy: {path_prefix: [/api]}", "proxy/path_prefix: should be a string"),
    ("proxy: {path_prefixes: /api}", "proxy/path_prefixes: should be an array"),
    ("proxy: {strip_path_prefix: x}", "proxy/strip_path_prefix: should be a boolean"),
    ("proxy: {healthcheck: /up}", "proxy/healthcheck: should be a hash"),
    ("proxy: {healthcheck: {path: [/up]}}", "proxy/healthcheck/path: should be a string"),
    ("proxy: {healthcheck: {timeout: x}}", "proxy/healthcheck/timeout: should be an integer"),
    ("proxy: {healthcheck: {pth: /up}}", "proxy/healthcheck: unknown key: pth"),
    ("proxy: {buffering: {requests: x}}", "proxy/buffering/requests: should be a boolean"),
    ("proxy: {buffering: {responses: x}}", "proxy/buffering/responses: should be a boolean"),
    ("proxy: {buffering: {memory: x}}", "proxy/buffering/memory: should be an integer"),
    ("proxy: {buffering: {max_request_body: x}}", "proxy/buffering/max_request_body: should be an integer"),
    ("proxy: {buffering: {max_response_body: x}}", "proxy/buffering/max_response_body: should be an integer"),
    ("proxy: {logging: [x]}", "proxy/logging: should be a hash"),
    ("proxy: {logging: {response_headers: X-Id}}", "proxy/logging/response_headers: should be an array"),
    ("proxy: {logging: {headers: [X-Id]}}", "proxy/logging: unknown key: headers"),
    ("proxy: {tls: true}", "proxy: unknown key: tls"),
    ("proxy: {log_request_headers: [X-Id]}", "proxy: unknown key: log_request_headers"),
    ("servers: {web: {hosts: [h1], proxy: {buffering: {memory: x}}}}", "servers/web/proxy/buffering/memory: should be an integer"),
    ("accessories: {a: {image: x, host: h, proxy: {path_prefixes: /x}}}", "accessories/a/proxy/path_prefixes: should be an array"),
])
def test_each_proxy_key_is_checked_with_kamals_message(project, base, extra, message):
    text = _strip(base, extra.split(":")[0]) + extra + "\n"
    with pytest.raises(KamalConfigError) as error:
        project.load(text)
    assert error.value.kamal_message == message


@pytest.mark.parametrize("extra, message, hint", [
    ("proxy: {host: 'a.com,b.com'}", "proxy/host: 'a.com,b.com' names several hosts", "hosts:"),
    ("servers: {web: {hosts: [h1], proxy: {host: 'a.com, b.com'}}}", "servers/web/proxy/host: 'a.com, b.com' names several hosts", "hosts:"),
    ("proxy: {run: {bind_ips: [0.0.0.0, 300.1.1.1]}}", "proxy/run/bind_ips/1: Invalid publish IP address: 300.1.1.1", None),
    ("proxy: {run: {bind_ips: [localhost]}}", "proxy/run/bind_ips/0: Invalid publish IP address: localhost", None),
    ("accessories: {a: {image: x, host: h, proxy: {host: a.com, run: {bind_ips: [x]}}}}",
     "accessories/a/proxy/run/bind_ips/0: Invalid publish IP address: x", None),
    ("run_directory: /etc/kamal", "run_directory: Kamal ignores this setting and always uses .kamal in the SSH user's home directory",
     "remove run_directory"),
    ("boot: {limit: lots}", "boot/limit: should be a positive number of hosts or a percentage like 25%", None),
    ("boot: {limit: 0}", "boot/limit: should be a positive number of hosts or a percentage like 25%", None),
    # our own settings, checked by the proxy backend's rule before anything changes
    ("x-kamal-deploy: {proxy: {client_ip: {header: CF-Connecting-IP}}}",
     "x-kamal-deploy/proxy/client_ip: client_ip needs trusted_proxies: the addresses allowed to set CF-Connecting-IP "
     "(e.g. your load balancer's, or Cloudflare's ranges)", "trusted_proxies: [173.245.48.0/20"),
    ("x-kamal-deploy: {proxy: {client_ip: {header: X-Real-IP, trusted_proxies: [10.0.0.0/8, lb.example]}}}",
     "x-kamal-deploy/proxy/client_ip: trusted_proxies: 'lb.example' is not an IP address or CIDR range", None),
    ("x-kamal-deploy: {proxy: {basic_auth: {username: admin}}}",
     "x-kamal-deploy/proxy/basic_auth: needs a username and password (the name of a secret in .kamal/secrets)",
     "password: ADMIN_PASSWORD"),
])
def test_what_kamal_lets_through_is_rejected(project, base, extra, message, hint):
    text = _strip(base, extra.split(":")[0]) + extra + "\n"
    with pytest.raises(KamalConfigError) as error:
        project.load(text)
    assert error.value.kamal_message == message
    if hint:
        assert hint in str(error.value)


@pytest.mark.parametrize("bind_ips", [["0.0.0.0"], ["::1"], ["[::1]", "127.0.0.1"]])
def test_valid_bind_ips_pass(project, base, bind_ips):
    config = project.load(base + "proxy: {run: {bind_ips: %s}}\n" % bind_ips)
    assert config.roles[0].proxy.run.bind_ips == bind_ips


def test_error_names_the_file_the_key_came_from(project, base):
    project.write(base)
    project.write("servers: {web: {hosts: [h1], labels: {role: x}}}\n", destination="staging")
    with pytest.raises(KamalConfigError) as error:
        project.load(destination="staging")
    assert str(error.value).startswith(os.path.join(project.root, "config", "deploy.staging.yml") + ": servers/web/labels/role:")
    assert error.value.key_path == "servers/web/labels/role"


def test_top_level_errors_name_every_file(project, base):
    project.write(_strip(base, "servers"))
    project.write("env: {}\n", destination="eu")
    with pytest.raises(KamalConfigError) as error:
        project.load(destination="eu")
    assert "deploy.yml + " in str(error.value) and "No servers or accessories specified" in str(error.value)


def test_legacy_traefik_hooks_are_refused(project, base):
    os.makedirs(os.path.join(project.root, ".kamal", "hooks"))
    open(os.path.join(project.root, ".kamal", "hooks", "pre-traefik-reboot"), "w", encoding="utf-8").close()
    with pytest.raises(KamalConfigError) as error:
        project.load(base)
    assert error.value.kamal_message == "Found pre-traefik-reboot, these should be renamed to (pre|post)-proxy-reboot"


def test_error_is_an_ansible_error_without_traceback_noise(project):
    from ansible.errors import AnsibleError  # pylint: disable=import-outside-toplevel
    with pytest.raises(AnsibleError):
        project.load("service: [\n")


@pytest.mark.parametrize("extra", [
    "x-anything: {whatever: [1, 2]}",
    "stop_timeout: 20",
    "output: {otel: {endpoint: 'http://otel:4318'}, file: {path: /var/log/kamal/}}",
    "ssh: {forward_agent: false, log_level: debug, key_data: [SSH_KEY], proxy_command: 'ssh -W %h:%p j'}",
    "servers: {web: {hosts: [h1], options: {restart: 'on-failure:5'}, stop_timeout: 30}}",
    "accessories: {db: {image: x, host: h, options: {restart: always, cpus: 2}}}",
    "labels: {service: overridden}",
    "hooks_output: {pre-deploy: verbose, pre-build: quiet}",
    "hooks_output: ':verbose'",
    "proxy: {ssl: false}",
    "servers: [1, {2.2.2.2: 3}]",
    "ssh: {config: ~/.ssh/config}",
    "ssh: {port: '2222'}",
    "minimum_version: 2",
    "registry: {server: localhost:5000}\nbuilder: {arch: amd64, remote: 'ssh://docker@b'}",
    "proxy: {host: a.com, ssl: true}\nservers: [h1]",
    "proxy: {host: a.com, ssl: {certificate_pem: C, private_key_pem: K}}\nservers: [h1, h2]",
])
def test_valid_keys_load(project, base, extra):
    text = _strip(base, *[line.split(":")[0] for line in extra.splitlines()]) + extra + "\n"
    assert project.load(text).service == "app"
