"""The plan: for each deploy.yml shape the project has, the module arguments equal what roles/app/tasks/run.yml
and roles/accessory/tasks/run.yml computed in Jinja (expected values worked out from those templates)."""
import base64
import json
import os
import textwrap

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import plan
from ansible_collections.kamal.deploy.plugins.plugin_utils.config import load_config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SEED = os.path.join(os.path.dirname(REPO), "shared", "seed-deploy-example.yml")
DEFAULT_LOG_REQUEST_HEADERS = ["Cache-Control", "Last-Modified", "User-Agent"]
BUFFERING = {"requests": True, "responses": True}

# ../shared/seed-deploy-example.yml, inlined so the test runs without the shared directory.
SEED_CONFIG = """\
service: shop
image: acme/shop
servers:
  web:
    - 192.0.2.10
proxy:
  ssl: true
  host: shop.example.test
  app_port: 8080
  forward_headers: true
registry:
  username: acme
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
env:
  clear:
    BIND_HOST: 0.0.0.0
  secret:
    - API_KEY
    - DATABASE_URL
accessories:
  postgres:
    image: postgres:15
    host: 192.0.2.10
    port: "127.0.0.1:5432:5432"
    env:
      clear:
        POSTGRES_USER: postgres
        POSTGRES_DB: shop_production
      secret:
        - POSTGRES_PASSWORD
    directories:
      - data:/var/lib/postgresql/data
"""

# tests/lab/project.py's LabApp config (the shape every deploy test in the lab uses).
LAB_CONFIG = """\
service: dz1234
image: dz1234
servers:
  web: [172.29.0.11, 172.29.0.12, 172.29.0.13]
proxy: {host: dz1234.lab.test, app_port: 80}
registry: {server: "172.29.0.1:5000", username: lab, password: [KAMAL_REGISTRY_PASSWORD]}
builder: {arch: amd64}
env: {clear: {APP_NAME: dz1234}, secret: [APP_SECRET]}
readiness_delay: 0
deploy_timeout: 4
drain_timeout: 5
"""

# Roles without the proxy, host tags, per-role options, logging, cmd, a destination-less stop_timeout rule.
ROLES_CONFIG = """\
service: app
image: dhh/app
servers:
  web:
    hosts:
      - 1.1.1.1: [edge]
    labels: {team: web}
    stop_timeout: 12
    proxy:
      hosts: [a.test, b.test]
      path_prefix: /api
      strip_path_prefix: false
      ssl:
        certificate_pem: WEB_CERT
        private_key_pem: WEB_KEY
      ssl_redirect: false
      response_timeout: 9
      healthcheck: {path: /health, interval: 2}
      logging: {request_headers: [X-Req], response_headers: [X-Resp]}
  jobs:
    hosts: [1.1.1.2]
    cmd: bin/jobs
    options: {memory: 1g, restart: always}
    logging: {driver: json-file, options: {max-size: 5m}}
registry: {server: ghcr.io, username: [REG_USER], password: [REG_PASS]}
builder: {arch: amd64}
env:
  clear: {A: "1"}
  secret: [DB_URL, "ALIAS:REAL_KEY"]
  tags:
    edge: {clear: {EDGE: "yes"}, secret: [EDGE_TOKEN]}
volumes: [/data:/data]
labels: {owner: ops}
retain_containers: 3
x-kamal-deploy: {min_uptime: 4}
"""

SECRETS = {"KAMAL_REGISTRY_PASSWORD": "reg-pw", "API_KEY": "k", "DATABASE_URL": "postgres://x", "POSTGRES_PASSWORD": "pg",
           "APP_SECRET": "s3cr3t", "REG_USER": "ru", "REG_PASS": "rp", "DB_URL": "db", "REAL_KEY": "real",
           "EDGE_TOKEN": "edge-token", "WEB_CERT": "CERT PEM", "WEB_KEY": "KEY PEM"}


def load(tmp_path, text, destination=None, files=None):
    """The ``kamal`` variable the inventory sets: to_dict() plus secret_names, through JSON as Ansible keeps it."""
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(textwrap.dedent(text))
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    config = load_config(str(tmp_path / "config" / "deploy.yml"), destination=destination, version="v1", environ={},
                         project_dir=str(tmp_path))
    kamal = config.to_dict()
    kamal["secret_names"] = config.secret_names()
    return json.loads(json.dumps(kamal))


def seed_text():
    return open(SEED, encoding="utf-8").read() if os.path.exists(SEED) else SEED_CONFIG


# (config, role, host, expected kamal_app arguments for a boot of v1 by "dev@example.test")
APP_CASES = {
    "seed": (seed_text, "web", "192.0.2.10", {
        "command": "boot", "service": "shop", "role": "web", "version": "v1", "image": "acme/shop",
        "registry": {"server": None, "username": "acme", "password": "reg-pw"}, "host": "192.0.2.10",
        "env": {"BIND_HOST": "0.0.0.0"}, "secret_env": {"API_KEY": "k", "DATABASE_URL": "postgres://x"},
        "logging": {"driver": None, "options": {}}, "volumes": [],
        "labels": {"service": "shop", "role": "web", "destination": ""}, "options": {},
        "proxy": {"hosts": ["shop.example.test"], "path_prefixes": [], "app_port": 8080, "tls": True,
                  "forward_headers": True, "buffering": BUFFERING, "healthcheck": {},
                  "log_request_headers": DEFAULT_LOG_REQUEST_HEADERS},
        "readiness_delay": 7, "deploy_timeout": 30, "min_uptime": 0, "drain_timeout": 30, "retain_containers": 5,
        "stop_stale": True, "prune": True, "performer": "dev@example.test"}),
    "lab": (lambda: LAB_CONFIG, "web", "172.29.0.12", {
        "command": "boot", "service": "dz1234", "role": "web", "version": "v1", "image": "172.29.0.1:5000/dz1234",
        "registry": {"server": "172.29.0.1:5000", "username": "lab", "password": "reg-pw"}, "host": "172.29.0.12",
        "env": {"APP_NAME": "dz1234"}, "secret_env": {"APP_SECRET": "s3cr3t"},
        "logging": {"driver": None, "options": {}}, "volumes": [],
        "labels": {"service": "dz1234", "role": "web", "destination": ""}, "options": {},
        "proxy": {"hosts": ["dz1234.lab.test"], "path_prefixes": [], "app_port": 80, "tls": False,
                  "buffering": BUFFERING, "healthcheck": {}, "log_request_headers": DEFAULT_LOG_REQUEST_HEADERS},
        "readiness_delay": 0, "deploy_timeout": 4, "min_uptime": 0, "drain_timeout": 5, "retain_containers": 5,
        "stop_stale": True, "prune": True, "performer": "dev@example.test"}),
    "demo": (lambda: open(os.path.join(REPO, "demo", "config", "deploy.yml"), encoding="utf-8").read(), "web", "172.29.0.11", {
        "command": "boot", "service": "demo", "role": "web", "version": "v1", "image": "172.29.0.1:5000/demo",
        "registry": {"server": "172.29.0.1:5000", "username": "lab", "password": "reg-pw"}, "host": "172.29.0.11",
        "env": {"BIND_HOST": "0.0.0.0", "GREETING": "hello from kamal.deploy"},
        "secret_env": {"API_KEY": "k", "DATABASE_URL": "postgres://x"},
        "logging": {"driver": None, "options": {}}, "volumes": [],
        "labels": {"service": "demo", "role": "web", "destination": ""}, "options": {},
        "proxy": {"hosts": ["demo.lab.test"], "path_prefixes": [], "app_port": 8080, "tls": True, "forward_headers": True,
                  "buffering": BUFFERING, "healthcheck": {"path": "/up"}, "log_request_headers": DEFAULT_LOG_REQUEST_HEADERS},
        "readiness_delay": 0, "deploy_timeout": 30, "min_uptime": 0, "drain_timeout": 30, "retain_containers": 5,
        "stop_stale": True, "prune": True, "performer": "dev@example.test"}),
    "web with tags and custom certificate": (lambda: ROLES_CONFIG, "web", "1.1.1.1", {
        "command": "boot", "service": "app", "role": "web", "version": "v1", "image": "ghcr.io/dhh/app",
        "registry": {"server": "ghcr.io", "username": "ru", "password": "rp"}, "host": "1.1.1.1",
        "env": {"A": "1", "EDGE": "yes"}, "secret_env": {"DB_URL": "db", "ALIAS": "real", "EDGE_TOKEN": "edge-token"},
        "logging": {"driver": None, "options": {}}, "volumes": ["/data:/data"],
        "labels": {"service": "app", "role": "web", "destination": "", "owner": "ops", "team": "web"}, "options": {},
        "proxy": {"hosts": ["a.test", "b.test"], "path_prefixes": ["/api"], "strip_path_prefix": False, "app_port": 80,
                  "tls": True, "tls_certificate_pem": "CERT PEM", "tls_private_key_pem": "KEY PEM", "ssl_redirect": False,
                  "response_timeout": 9, "buffering": BUFFERING, "healthcheck": {"path": "/health", "interval": 2},
                  "log_request_headers": ["X-Req"], "log_response_headers": ["X-Resp"]},
        "readiness_delay": 7, "deploy_timeout": 30, "min_uptime": 4, "drain_timeout": 30, "stop_timeout": 12,
        "retain_containers": 3, "stop_stale": True, "prune": True, "performer": "dev@example.test"}),
    "jobs without the proxy": (lambda: ROLES_CONFIG, "jobs", "1.1.1.2", {
        "command": "boot", "service": "app", "role": "jobs", "version": "v1", "image": "ghcr.io/dhh/app",
        "registry": {"server": "ghcr.io", "username": "ru", "password": "rp"}, "host": "1.1.1.2",
        "env": {"A": "1"}, "secret_env": {"DB_URL": "db", "ALIAS": "real"},
        "logging": {"driver": "json-file", "options": {"max-size": "5m"}}, "volumes": ["/data:/data"],
        "labels": {"service": "app", "role": "jobs", "destination": "", "owner": "ops"}, "options": {"memory": "1g"},
        "cmd": "bin/jobs", "readiness_delay": 7, "deploy_timeout": 30, "min_uptime": 4, "drain_timeout": 30,
        # No proxy and no stop_timeout: docker stop waits drain_timeout (Kamal).
        "stop_timeout": 30, "retain_containers": 3, "stop_stale": True, "prune": True, "performer": "dev@example.test"}),
}


@pytest.mark.parametrize("case", list(APP_CASES))
def test_app_boot_plan_is_what_the_role_template_passed(tmp_path, case):
    text, role, host, expected = APP_CASES[case]
    kamal = load(tmp_path, text())
    secrets = dict(SECRETS, DEMO_SECRET="demo")
    assert plan.app_args(kamal, role, host, "boot", version="v1", secrets=secrets, performer="dev@example.test") == expected


def test_every_secret_the_app_plan_reads_is_one_the_prepare_role_resolves(tmp_path):
    kamal = load(tmp_path, ROLES_CONFIG)
    assert set(kamal["secret_names"]) == {"DB_URL", "REAL_KEY", "EDGE_TOKEN", "WEB_CERT", "WEB_KEY", "REG_USER", "REG_PASS"}
    only_those = {name: SECRETS[name] for name in kamal["secret_names"]}
    plan.app_args(kamal, "web", "1.1.1.1", secrets=only_those)
    plan.app_args(kamal, "jobs", "1.1.1.2", secrets=only_those)


def test_commands_that_boot_nothing_pass_no_secret_nor_login_and_their_own_options(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG)
    args = plan.app_args(kamal, "web", "172.29.0.11", "logs", secrets={}, needs_secrets=False, performer="me",
                         options={"lines": 5, "grep": "GET", "retain": 2, "unrelated": True})
    assert "secret_env" not in args and "registry" not in args and "version" not in args
    assert (args["lines"], args["grep"], args["retain_containers"]) == (5, "GET", 2)
    assert "unrelated" not in args
    assert (args["stop_stale"], args["prune"]) == (False, False)


def test_a_redeploy_boots_without_pruning(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG)
    args = plan.app_args(kamal, "web", "172.29.0.11", "boot", secrets=SECRETS, skip_prune=True)
    assert (args["stop_stale"], args["prune"]) == (True, False)


def test_a_destination_is_passed_and_labels_carry_it(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.staging.yml").write_text("env: {clear: {STAGE: '1'}}\n")
    kamal = load(tmp_path, LAB_CONFIG, destination="staging")
    args = plan.app_args(kamal, "web", "172.29.0.11", secrets=SECRETS)
    assert args["destination"] == "staging" and args["labels"]["destination"] == "staging"
    assert args["env"] == {"APP_NAME": "dz1234", "STAGE": "1"}


def test_ssh_delivery_and_local_registries_log_in_nowhere(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG.replace('registry: {server: "172.29.0.1:5000", username: lab, password: [KAMAL_REGISTRY_PASSWORD]}',
                                              "x-kamal-deploy: {image_delivery: ssh}"))
    assert "registry" not in plan.app_args(kamal, "web", "172.29.0.11", secrets=SECRETS)
    kamal = load(tmp_path, LAB_CONFIG.replace('server: "172.29.0.1:5000"', 'server: "localhost:5555"'))
    assert "registry" not in plan.app_args(kamal, "web", "172.29.0.11", secrets=SECRETS)


def test_a_missing_secret_names_itself_and_the_setting(tmp_path):
    kamal = load(tmp_path, ROLES_CONFIG)
    with pytest.raises(plan.PlanError, match="servers/web/proxy/ssl/certificate_pem: the secret WEB_CERT has no value"):
        plan.app_args(kamal, "web", "1.1.1.1", secrets={k: v for k, v in SECRETS.items() if k != "WEB_CERT"})
    with pytest.raises(plan.PlanError, match="No role by the name of 'worker'.*web, jobs"):
        plan.app_args(kamal, "worker", "1.1.1.1", secrets=SECRETS)


def test_seed_postgres_accessory_plan_is_what_the_role_template_passed(tmp_path):
    kamal = load(tmp_path, seed_text())
    assert plan.accessory_args(kamal, "postgres", "192.0.2.10", "boot", secrets=SECRETS) == {
        "command": "boot", "service": "shop", "name": "postgres", "accessory_service": "shop-postgres",
        "image": "postgres:15", "host": "192.0.2.10", "network": "kamal", "port": "127.0.0.1:5432:5432",
        "env": {"POSTGRES_USER": "postgres", "POSTGRES_DB": "shop_production"}, "secret_env": {"POSTGRES_PASSWORD": "pg"},
        "labels": {}, "options": {}, "files": [],
        "directories": [{"local": "data", "remote": "/var/lib/postgresql/data", "mode": None, "owner": None, "options": None,
                         "host_path": "shop-postgres/data", "volume": "$PWD/shop-postgres/data:/var/lib/postgresql/data",
                         "template": False}],
        "volumes": []}


ACCESSORY_CONFIG = """\
service: app
image: dhh/app
servers: [1.1.1.1]
registry: {server: ghcr.io, username: [REG_USER], password: [REG_PASS]}
builder: {arch: amd64}
logging: {driver: journald}
accessories:
  cache:
    image: ghcr.io/acme/cache:1
    host: 1.1.1.1
    cmd: cache --fast
    labels: {team: data}
    options: {memory: 256m}
    env: {clear: {PORT: "6379"}, secret: [CACHE_PW]}
    files:
      - config/cache.conf.erb:/etc/cache.conf
      - local: config/plain.txt
        remote: /etc/plain.txt
        mode: "0600"
    volumes: [/srv/cache:/cache]
  mirror:
    image: mirror:2
    host: 1.1.1.1
    registry: {server: quay.io, username: bot, password: [MIRROR_PW]}
    proxy: {host: mirror.test, app_port: 8080}
"""


def test_accessory_files_are_read_and_erb_rendered_on_the_controller(tmp_path):
    kamal = load(tmp_path, ACCESSORY_CONFIG, files={
        "config/cache.conf.erb": 'port <%= ENV["PORT"] %>\npassword <%= ENV.fetch("CACHE_PW") %>\n',
        "config/plain.txt": "plain <%= not rendered %>"})
    args = plan.accessory_args(kamal, "cache", "1.1.1.1", "boot", secrets={"CACHE_PW": "pw1", "REG_USER": "ru", "REG_PASS": "rp"})
    assert [(base64.b64decode(f["content_b64"]).decode(), f["remote"], f["mode"]) for f in args["files"]] == [
        ("port 6379\npassword pw1\n", "/etc/cache.conf", "755"), ("plain <%= not rendered %>", "/etc/plain.txt", "0600")]
    # The image names the root registry: it logs in with the root credentials.
    assert args["registry"] == {"server": "ghcr.io", "username": "ru", "password": "rp"}
    assert (args["cmd"], args["labels"], args["options"]) == ("cache --fast", {"team": "data"}, {"memory": "256m"})
    assert args["logging"] == {"driver": "journald", "options": {}}
    assert args["volumes"] == ["/srv/cache:/cache"] and "proxy" not in args and "port" not in args


def test_an_accessory_registry_of_its_own_and_commands_without_secrets(tmp_path):
    kamal = load(tmp_path, ACCESSORY_CONFIG, files={"config/cache.conf.erb": "", "config/plain.txt": ""})
    args = plan.accessory_args(kamal, "mirror", "1.1.1.1", "boot", secrets={"MIRROR_PW": "mp"})
    assert args["image"] == "quay.io/mirror:2"
    assert args["registry"] == {"server": "quay.io", "username": "bot", "password": "mp"}
    stop = plan.accessory_args(kamal, "mirror", "1.1.1.1", "stop", needs_secrets=False, options={"force": True})
    assert stop["registry"] == {"server": "quay.io", "username": None, "password": None}
    assert "secret_env" not in stop and stop["force"] is True


def test_a_missing_accessory_file_names_the_accessory_and_the_file(tmp_path):
    kamal = load(tmp_path, ACCESSORY_CONFIG, files={"config/plain.txt": ""})
    with pytest.raises(plan.PlanError, match="accessories/cache/files: cannot read .*cache.conf.erb"):
        plan.accessory_args(kamal, "cache", "1.1.1.1", secrets={"CACHE_PW": "x"})


def test_a_proxied_accessory_is_routed_like_a_role(tmp_path):
    kamal = load(tmp_path, ACCESSORY_CONFIG, files={"config/cache.conf.erb": "", "config/plain.txt": ""})
    args = plan.accessory_args(kamal, "mirror", "1.1.1.1", "boot", secrets={"MIRROR_PW": "mp"})
    assert args["proxy"] == {"hosts": ["mirror.test"], "path_prefixes": [], "app_port": 8080, "tls": False,
                             "buffering": BUFFERING, "healthcheck": {}, "log_request_headers": DEFAULT_LOG_REQUEST_HEADERS}


CERTIFIED_ACCESSORY = """\
service: app
image: dhh/app
servers: [1.1.1.1]
registry: {username: u, password: p}
builder: {arch: amd64}
accessories:
  admin:
    image: admin:1
    host: 1.1.1.1
    proxy:
      host: admin.test
      ssl: {certificate_pem: ADMIN_CERT, private_key_pem: ADMIN_KEY}
"""


def test_an_accessory_with_its_own_certificate_gets_it_not_just_tls(tmp_path):
    kamal = load(tmp_path, CERTIFIED_ACCESSORY)
    # The prepare role resolves every name in secret_names: the accessory's certificate must be among them.
    assert kamal["secret_names"] == ["ADMIN_CERT", "ADMIN_KEY"]
    route = plan.accessory_args(kamal, "admin", "1.1.1.1", "boot", secrets={"ADMIN_CERT": "CERT", "ADMIN_KEY": "KEY"})["proxy"]
    assert (route["tls"], route["tls_certificate_pem"], route["tls_private_key_pem"]) == (True, "CERT", "KEY")
    with pytest.raises(plan.PlanError, match="accessories/admin/proxy/ssl/private_key_pem: the secret ADMIN_KEY has no value"):
        plan.accessory_args(kamal, "admin", "1.1.1.1", "boot", secrets={"ADMIN_CERT": "CERT"})
    # Commands that read no secret (stop, details) still run, routing without the certificate as before.
    stop = plan.accessory_args(kamal, "admin", "1.1.1.1", "stop", needs_secrets=False)["proxy"]
    assert stop["tls"] is True and "tls_certificate_pem" not in stop


def test_asset_path_goes_to_roles_behind_the_proxy_with_its_options(tmp_path):
    kamal = load(tmp_path, ROLES_CONFIG + "asset_path: /rails/public/assets:ro\n")
    web = plan.app_args(kamal, "web", "1.1.1.1", secrets=SECRETS)
    assert (web["asset_path"], web["asset_path_options"]) == ("/rails/public/assets", "ro")
    assert "asset_path" not in plan.app_args(kamal, "jobs", "1.1.1.2", secrets=SECRETS)


def test_error_pages_go_up_with_every_boot_and_a_bad_one_fails_naming_it(tmp_path):
    kamal = load(tmp_path, LAB_CONFIG + "error_pages_path: public\n", files={
        "public/503.html": "<p>{{ .Message }}</p>", "public/404.html": "<p>lost</p>", "public/index.html": "no",
        "public/5000.html": "no"})
    expected = {"503.html": "<p>{{ .Message }}</p>", "404.html": "<p>lost</p>"}
    assert plan.app_args(kamal, "web", "172.29.0.11", "boot", secrets=SECRETS)["error_pages"] == expected
    assert "error_pages" not in plan.app_args(kamal, "web", "172.29.0.11", "start", secrets=SECRETS)
    (tmp_path / "public" / "502.html").write_text("{{ .Host }}")
    with pytest.raises(plan.PlanError, match=r"error_pages_path: 502.html: \{\{ .Host \}\} is not something"):
        plan.app_args(kamal, "web", "172.29.0.11", "boot", secrets=SECRETS)
    # no directory, or no page in it: nothing to upload, as Kamal
    assert plan.error_pages(dict(kamal, error_pages_path="missing")) == {}


def test_a_parallel_boot_keeps_the_other_roles_secrets_apart(tmp_path):
    kamal = load(tmp_path, ROLES_CONFIG)
    web = plan.app_args(kamal, "web", "1.1.1.1", secrets=SECRETS, performer="me")
    jobs = plan.app_args(kamal, "jobs", "1.1.1.2", secrets=SECRETS, performer="me")
    web2 = dict(web, role="web2")
    call = plan.parallel_boot([jobs, web2], barrier=False)
    assert {k: v for k, v in call.items() if k not in ("parallel_roles", "parallel_secrets", "barrier")} == jobs
    (entry,) = call["parallel_roles"]
    assert entry["role"] == "web2" and entry["env"] == web["env"]
    for left_out in ("secret_env", "registry", "prune", "performer"):
        assert left_out not in entry
    assert "tls_private_key_pem" not in entry["proxy"] and "tls_certificate_pem" not in entry["proxy"]
    assert entry["proxy"]["hosts"] == ["a.test", "b.test"]
    assert call["parallel_secrets"] == {"web2": {"secret_env": web["secret_env"], "proxy": {
        "tls_certificate_pem": "CERT PEM", "tls_private_key_pem": "KEY PEM"}}}
    assert call["barrier"] is False
    assert plan.parallel_boot([web, jobs], barrier=True)["barrier"] is True
