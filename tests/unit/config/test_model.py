"""The resolved model: every default and derived value the roles and modules rely on."""
import json
import os
import subprocess

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError, default_project_dir

ROLES = """\
service: app
image: dhh/app
primary_role: web
servers:
  workers:
    hosts: [1.1.1.3, {1.1.1.4: [eu, canary]}]
    cmd: bin/jobs
    stop_timeout: 12
    options: {memory: 2g, restart: always, add-host: [a:1, b:2], init: true}
    env: {clear: {QUEUE: jobs}, secret: [JOB_TOKEN]}
    logging: {options: {max-file: "3"}}
  web:
    - 1.1.1.1
    - 1.1.1.2: eu
  api:
    hosts: [1.1.1.1]
    proxy: {host: api.example.com, app_port: 3000}
    labels: {tier: api}
    asset_path: /rails/public:ro
env:
  clear: {RAILS_ENV: production, QUEUE: default}
  secret: [RAILS_MASTER_KEY, DB_PASSWORD:MAIN_DB_PASSWORD]
  tags:
    eu: {clear: {REGION: eu}, secret: [EU_TOKEN]}
    canary: {CANARY: "1"}
proxy: {host: app.example.com, response_timeout: 10, run: {http_port: 8080}}
labels: {team: core}
volumes: [/data:/data]
logging: {driver: json-file, options: {max-size: 50m}}
registry: {server: ghcr.io, username: [GH_USER], password: [GH_TOKEN]}
builder: {arch: amd64, secrets: [NPM_TOKEN]}
stop_timeout: 20
boot: {limit: 50%, wait: 3}
accessories:
  db:
    image: postgres:16
    host: 1.1.1.9
    port: 5432
    env: {secret: ["POSTGRES_PASSWORD:MAIN_DB_PASSWORD"]}
    files: [init.sql:/docker-entrypoint-initdb.d/init.sql, {local: my.cnf.erb, remote: /etc/my.cnf, mode: "0600"}]
    directories: [data:/var/lib/postgresql/data, "/srv/logs:/logs:z"]
    volumes: [/backups:/backups]
    options: {restart: always, shm-size: 1g}
  cache:
    image: redis
    service: shared-cache
    roles: [web, api]
    registry: {server: registry.io, username: u, password: [R_PW]}
    proxy: {host: cache.example.com}
  edge:
    image: caddy
    tags: [eu]
"""


@pytest.fixture
def roles(project):
    return project.load(ROLES, destination=None)


def test_roles_in_kamal_order_primary_first_then_by_name(roles):
    assert [role.name for role in roles.roles] == ["web", "api", "workers"]
    assert roles.primary_role == "web" and roles.roles[0].primary


def test_hosts(roles):
    assert roles.all_hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.9"]  # roles by name: api, web, workers
    assert roles.app_hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"]
    assert roles.primary_host == "1.1.1.1"
    assert roles.host_tags == {"1.1.1.1": [], "1.1.1.2": ["eu"], "1.1.1.3": [], "1.1.1.4": ["eu", "canary"], "1.1.1.9": []}
    assert roles.accessory_hosts == ["1.1.1.9", "1.1.1.1", "1.1.1.2", "1.1.1.4"]


def test_images_and_names(roles):
    assert roles.repository == "ghcr.io/dhh/app"
    assert roles.absolute_image == "ghcr.io/dhh/app:v1"
    assert roles.latest_image == "ghcr.io/dhh/app:latest"
    assert roles.service_with_version == "app-v1"
    assert roles.lock_dir == ".kamal/lock-app" and roles.audit_log == ".kamal/app-audit.log"
    web = roles.role("web")
    assert (web.container_prefix, web.proxy_service, web.env_file) == ("app-web", "app-web", ".kamal/apps/app/env/roles/web.env")


def test_env_per_host_merges_root_role_and_tag_envs(roles):
    workers = roles.role("workers")
    plain, tagged = workers.env["1.1.1.3"], workers.env["1.1.1.4"]
    assert plain.clear == {"RAILS_ENV": "production", "QUEUE": "jobs"}
    assert plain.secrets == {"RAILS_MASTER_KEY": "RAILS_MASTER_KEY", "DB_PASSWORD": "MAIN_DB_PASSWORD", "JOB_TOKEN": "JOB_TOKEN"}
    assert tagged.clear == {"RAILS_ENV": "production", "QUEUE": "jobs", "REGION": "eu", "CANARY": "1"}
    assert list(tagged.secrets) == ["RAILS_MASTER_KEY", "DB_PASSWORD", "JOB_TOKEN", "EU_TOKEN"]
    assert roles.role("web").env["1.1.1.2"].clear["QUEUE"] == "default"


def test_role_settings(roles):
    workers = roles.role("workers")
    assert workers.cmd == "bin/jobs"
    assert workers.options == {"memory": "2g", "add-host": ["a:1", "b:2"], "init": True}
    assert workers.restart_policy == "always"
    assert workers.option_args == ["--memory", '"2g"', "--add-host", '"a:1"', "--add-host", '"b:2"', "--init"]
    assert workers.logging.args == ["--log-driver", '"json-file"', "--log-opt", 'max-size="50m"', "--log-opt", 'max-file="3"']
    assert workers.labels == {"service": "app", "role": "workers", "destination": "", "team": "core"}
    assert roles.role("api").labels["tier"] == "api"
    assert (workers.stop_timeout, workers.effective_stop_timeout) == (12, 12)
    assert (roles.role("web").stop_timeout, roles.role("web").effective_stop_timeout) == (20, 20)
    api = roles.role("api")
    assert (api.asset_path, api.asset_path_options) == ("/rails/public", "ro")
    assert roles.role("web").restart_policy == "unless-stopped"


def test_effective_stop_timeout_defaults(project, base):
    config = project.load(base.replace("servers: [1.1.1.1]", "servers: {web: [h1], jobs: [h2]}") + "drain_timeout: 9\n")
    assert config.role("web").effective_stop_timeout is None  # proxied: Docker's default
    assert config.role("jobs").effective_stop_timeout == 9     # not proxied: drain_timeout


def test_proxy_roles_and_merge(roles):
    web, api, workers = roles.role("web"), roles.role("api"), roles.role("workers")
    assert web.running_proxy and api.running_proxy and not workers.running_proxy
    assert web.proxy.route["hosts"] == ["app.example.com"] and web.proxy.route["response_timeout"] == 10
    assert (api.proxy.route["hosts"], api.proxy.route["app_port"], api.proxy.route["response_timeout"]) == (["api.example.com"], 3000, 10)
    assert api.proxy.run.http_port == 8080 and api.proxy.run.image == "basecamp/kamal-proxy:v0.9.2"
    assert workers.proxy is None
    assert roles.proxy_hosts == ["1.1.1.1", "1.1.1.2"]
    assert web.proxy.route["buffering"] == {"requests": True, "responses": True}
    assert web.proxy.route["log_request_headers"] == ["Cache-Control", "Last-Modified", "User-Agent"]


def test_accessories(roles):
    db, cache, edge = roles.accessories
    assert (db.service_name, db.image, db.hosts, db.port) == ("app-db", "postgres:16", ["1.1.1.9"], "5432:5432")
    assert db.env.secrets == {"POSTGRES_PASSWORD": "MAIN_DB_PASSWORD"}
    assert db.env_file == ".kamal/apps/app/env/accessories/db.env"
    assert db.restart_policy == "always" and db.options == {"shm-size": "1g"}
    assert [(f.host_path, f.mode, f.volume, f.template) for f in db.files] == [
        ("app-db/docker-entrypoint-initdb.d/init.sql", "755", "$PWD/app-db/docker-entrypoint-initdb.d/init.sql:/docker-entrypoint-initdb.d/init.sql", False),
        ("app-db/etc/my.cnf", "0600", "$PWD/app-db/etc/my.cnf:/etc/my.cnf", True),
    ]
    assert db.files[0].local == os.path.join(roles.project_dir, "init.sql")
    assert [(d.host_path, d.mode, d.volume) for d in db.directories] == [
        ("app-db/data", None, "$PWD/app-db/data:/var/lib/postgresql/data"), ("/srv/logs", None, "/srv/logs:/logs:z")]
    assert db.volume_args[:2] == ["--volume", "/backups:/backups"]
    assert db.labels == {"service": "app-db"} and db.network == "kamal" and db.proxy is None
    assert (cache.service_name, cache.image, cache.hosts) == ("shared-cache", "registry.io/redis", ["1.1.1.1", "1.1.1.2"])
    assert cache.registry.password_secret == "R_PW" and cache.proxy.route["hosts"] == ["cache.example.com"]
    assert edge.hosts == ["1.1.1.4", "1.1.1.2"]


def test_registry_boot_and_secrets(roles):
    assert (roles.registry.server, roles.registry.username_secret, roles.registry.password_secret) == ("ghcr.io", "GH_USER", "GH_TOKEN")
    assert roles.boot.limit == 2 and roles.boot.wait == 3  # 50% of 5 hosts (accessory hosts count)
    assert sorted(roles.secret_names()) == sorted(["RAILS_MASTER_KEY", "MAIN_DB_PASSWORD", "JOB_TOKEN", "EU_TOKEN", "R_PW", "GH_USER",
                                                   "GH_TOKEN", "NPM_TOKEN"])


def test_inventory_groups(roles):
    assert roles.inventory_groups() == {
        "web": ["1.1.1.1", "1.1.1.2"], "api": ["1.1.1.1"], "workers": ["1.1.1.3", "1.1.1.4"],
        "accessory_db": ["1.1.1.9"], "accessory_cache": ["1.1.1.1", "1.1.1.2"], "accessory_edge": ["1.1.1.4", "1.1.1.2"],
        "kamal_proxy": ["1.1.1.1", "1.1.1.2"], "kamal_primary": ["1.1.1.1"],
    }


def test_to_dict_is_plain_json(roles):
    data = json.loads(json.dumps(roles.to_dict()))
    assert data["roles"][0]["name"] == "web" and data["accessories"][0]["name"] == "db"


@pytest.mark.parametrize("ssh, expected", [
    ("{}", {"ansible_user": "root", "ansible_port": 22, "kamal_tags": []}),
    ("{user: app, port: '2222', keys: [k1, ~/.ssh/k2], keys_only: true, proxy: jump.example.com, config: false}",
     {"ansible_user": "app", "ansible_port": 2222, "kamal_tags": [], "ansible_ssh_private_key_file": "{root}/k1",
      "ansible_ssh_common_args": "-i '~/.ssh/k2' -o IdentitiesOnly=yes -o ProxyJump=root@jump.example.com -F /dev/null"}),
    ("{keys: [../keys/deploy], config: config/ssh_config}",
     {"ansible_user": "root", "ansible_port": 22, "kamal_tags": [], "ansible_ssh_private_key_file": "{parent}/keys/deploy",
      "ansible_ssh_common_args": "-F {root}/config/ssh_config"}),
    ("{proxy_command: 'ssh -W %h:%p bastion', config: /etc/ssh/other, forward_agent: true}",
     {"ansible_user": "root", "ansible_port": 22, "kamal_tags": [],
      "ansible_ssh_common_args": "-o 'ProxyCommand=ssh -W %h:%p bastion' -F /etc/ssh/other -o ForwardAgent=yes"}),
])
def test_host_vars_from_ssh(project, base, ssh, expected):
    """Relative key and config paths are the project directory's (Kamal runs there), whatever the working directory."""
    places = {"{root}": project.root, "{parent}": os.path.dirname(project.root)}
    for name, value in list(expected.items()):
        for marker, path in places.items():
            value = value.replace(marker, path) if isinstance(value, str) else value
        expected[name] = value
    assert project.load(base + "ssh: %s\n" % ssh).host_vars("1.1.1.1") == expected


def test_host_vars_carry_tags(roles):
    assert roles.host_vars("1.1.1.4")["kamal_tags"] == ["eu", "canary"]


def test_ssh_defaults_and_jump_user(project, base):
    ssh = project.load(base + "ssh: {proxy: bastion}\n").ssh
    assert (ssh.user, ssh.port, ssh.proxy, ssh.config, ssh.log_level) == ("root", 22, "root@bastion", True, "fatal")


def test_defaults(project, base):
    config = project.load(base)
    assert (config.readiness_delay, config.deploy_timeout, config.drain_timeout, config.stop_timeout) == (7, 30, 30, None)
    assert (config.retain_containers, config.hooks_path, config.secrets_path) == (5, ".kamal/hooks", ".kamal/secrets")
    assert config.error_pages_path is None and config.boot.limit is None and config.boot.parallel_roles is False
    assert config.builder.driver == "docker-container" and config.builder.dockerfile == "Dockerfile" and config.builder.git_clone
    assert config.logging.args == ["--log-opt", 'max-size="10m"']
    assert config.roles[0].labels == {"service": "app", "role": "web", "destination": ""}
    assert config.run_directory == ".kamal"


def test_zero_is_kept_not_defaulted(project, base):
    assert project.load(base + "readiness_delay: 0\n").readiness_delay == 0


def test_min_uptime_comes_from_x_kamal_deploy(project, base):
    assert project.load(base).min_uptime == 0
    config = project.load(base + "x-kamal-deploy: {min_uptime: 15}\n")
    assert config.min_uptime == 15 and config.to_dict()["min_uptime"] == 15


def test_destination_names(project, base):
    project.write(base)
    project.write("servers: [2.2.2.2]\n", destination="staging")
    config = project.load(destination="staging")
    assert config.all_hosts == ["2.2.2.2"]
    assert config.latest_image == "dhh/app:latest-staging"
    assert config.roles[0].container_prefix == "app-web-staging"
    assert config.roles[0].labels["destination"] == "staging"
    assert config.lock_dir == ".kamal/lock-app-staging"
    assert config.roles[0].env_file == ".kamal/apps/app-staging/env/roles/web.env"


def test_local_registry_defaults_image_to_service(project, base):
    config = project.load(base.replace("image: dhh/app\n", "").replace("registry: {username: u, password: p}", "registry: {server: 'localhost:5555'}"))
    assert (config.image, config.repository, config.registry.local, config.registry.local_port) == ("app", "localhost:5555/app", True, 5555)


def test_accessory_only_config(project):
    config = project.load("""\
        service: app
        image: dhh/app
        registry: {username: u, password: p}
        builder: {arch: amd64}
        accessories: {db: {image: mysql, hosts: [1.1.1.1, 1.1.1.2]}}
        """)
    assert config.roles == [] and config.primary_host is None and config.all_hosts == ["1.1.1.1", "1.1.1.2"]
    assert config.inventory_groups()["kamal_primary"] == []


@pytest.mark.parametrize("limit, hosts, expected", [("25%", 4, 1), ("25%", 8, 2), ("10%", 3, 1), ("100%", 3, 3), (2, 3, 2), ("3", 3, 3)])
def test_boot_limit(project, base, limit, hosts, expected):
    servers = "servers: [%s]" % ", ".join("h%d" % i for i in range(hosts))
    config = project.load(base.replace("servers: [1.1.1.1]", servers) + "boot: {limit: '%s'}\n" % limit)
    assert config.boot.limit == expected


def test_aliases_hooks_output_and_output(project, base):
    config = project.load(base + "aliases: {console: app exec -i bash}\nhooks_output: {pre-deploy: ':verbose'}\n"
                          "output: {file: {path: /var/log/kamal}}\n")
    assert config.aliases == {"console": "app exec -i bash"}
    assert config.hooks_output == {"pre-deploy": "verbose"}
    assert config.output == {"file": {"path": "/var/log/kamal"}}


# Version ----------------------------------------------------------------------------------------------

def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(project, base):
    project.write(base)
    _git(project.root, "init", "-q")
    _git(project.root, "add", ".")
    _git(project.root, "commit", "-qm", "init")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True, check=True).stdout.strip()
    return project, sha


def test_version_is_the_full_git_sha(repo):
    project, sha = repo
    assert project.load(version=None).version == sha and len(sha) == 40


def test_dirty_tree_gets_an_uncommitted_suffix_when_building_from_the_tree(repo, base):
    project, sha = repo
    project.write(base + "builder: {arch: amd64, context: .}\n")
    version = project.load(version=None).version
    assert version.startswith(sha + "_uncommitted_") and len(version) == 40 + len("_uncommitted_") + 16


def test_dirty_tree_keeps_the_sha_when_building_from_a_clone(repo, base):
    project, sha = repo
    project.write(base + "env: {A: b}\n")
    assert project.load(version=None).version == sha


def test_explicit_version_and_version_env_win(repo):
    project, _sha = repo
    assert project.load(version="1.2.3").version == "1.2.3"
    assert project.load(version=None, environ={"VERSION": "from-env"}).version == "from-env"


def test_no_git_repository_is_a_clear_error(project, base):
    project.write(base)
    with pytest.raises(KamalConfigError, match="no git repository found"):
        project.load(version=None)
    assert project.load(version=None, resolve_version=False).absolute_image is None


def test_default_project_dir_is_the_parent_of_config():
    assert default_project_dir("/srv/app/config/deploy.yml") == "/srv/app"
    assert default_project_dir("/srv/app/deploy.yml") == "/srv/app"


@pytest.mark.parametrize("port, warned", [
    ("5432", True), ("5432:5432", True), ("5432:5432/udp", True), ("db:5432:5432", True), ("[nope]:5432:5432", True),
    ("127.0.0.1:5432:5432", False), ("0.0.0.0:5432:5432", False), ("[::1]:5432:5432", False),
    ("10.0.0.5:5432:5432/tcp", False), (None, False),
])
def test_an_accessory_port_without_a_bind_address_is_warned_about_with_the_fix(project, base, port, warned):
    text = base + "accessories:\n  db:\n    image: postgres:15\n    host: 1.1.1.1\n"
    if port is not None:
        text += "    port: \"%s\"\n" % port
    config = project.load(text)
    assert bool(config.warnings) is warned
    if warned:
        container = port.split("/")[0].rsplit(":", 1)[-1]
        assert config.warnings[0].startswith('accessories/db: port "%s" publishes on every interface' % port)
        assert '"127.0.0.1:%s:%s"' % (container, container) in config.warnings[0] and "kamal#1880" in config.warnings[0]
