"""A Kamal project directory set up to deploy to the lab with this collection, as a user would have it:
config/deploy.yml, .kamal/secrets and an ansible.cfg that enables the kamal inventory plugin.
Used by the integration tests and the benchmarks."""
import os
import re
import shutil
import subprocess
import textwrap
import threading
import time
import urllib.request
import uuid

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ANSIBLE_CFG = """\
[defaults]
collections_path = {collections_path}
interpreter_python = /usr/bin/python3
forks = 20
[inventory]
unparsed_is_failed = True
enable_plugins = kamal.deploy.kamal, host_list, script, auto, yaml, ini, toml
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
"""


def write_lab_project(root, config, collections_path, secrets="KAMAL_REGISTRY_PASSWORD=none\n", proxy_image=None):
    """Write the project's files under ``root``; ``proxy_image``: the lab's prebuilt proxy (group_vars)."""
    root = str(root)
    os.makedirs(os.path.join(root, "config"), exist_ok=True)
    os.makedirs(os.path.join(root, ".kamal"), exist_ok=True)
    with open(os.path.join(root, "config", "deploy.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    with open(os.path.join(root, ".kamal", "secrets"), "w", encoding="utf-8") as f:
        f.write(secrets)
    with open(os.path.join(root, "ansible.cfg"), "w", encoding="utf-8") as f:
        f.write(ANSIBLE_CFG.format(collections_path=collections_path))
    if proxy_image:
        os.makedirs(os.path.join(root, "config", "group_vars"), exist_ok=True)
        with open(os.path.join(root, "config", "group_vars", "all.yml"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(f"""\
                ---
                kamal_proxy_image: {proxy_image}
                """))


class Lab:
    """The lab as tests/lab/lab.py up left it (build/lab/lab.json): servers, registry, SSH config."""

    def __init__(self, state):
        self.state = state
        self.servers = state["servers"]
        self.ips = [s["ip"] for s in self.servers]
        self.registry = state["registry"]
        self.registry_push = state["registry_push"]
        self.images = state["images"]
        self.ssh_config = state["ssh_config"]
        self.ansible_cfg = state["ansible_cfg"]
        self.inventory = state["inventory"]

    def extra(self, role):
        return next(s for s in self.state["extra_servers"] if s.get("role") == role)

    def ssh(self, ip, command, check=True, input=None, timeout=60):  # pylint: disable=redefined-builtin
        """Run a shell command on a lab server over real SSH."""
        res = subprocess.run(["ssh", "-F", self.ssh_config, ip, command], input=input, text=True,
                             capture_output=True, timeout=timeout, check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"ssh {ip} {command!r} failed ({res.returncode}): {res.stdout}{res.stderr}")
        return res

    def ansible_env(self):
        return dict(os.environ, ANSIBLE_CONFIG=self.ansible_cfg)


class App:
    """A Kamal project in a temporary git repository, deployed with ansible-playbook."""

    def __init__(self, lab, root, prefix="dz", **config_overrides):
        self.lab, self.root = lab, root
        self.service = f"{prefix}{uuid.uuid4().hex[:6]}"
        self.host = f"{self.service}.lab.test"
        (root / "app").mkdir()
        self.config = {
            "service": self.service, "image": self.service, "servers": {"web": list(lab.ips)},
            "proxy": {"host": self.host, "app_port": 80},
            "registry": {"server": lab.registry, "username": "lab", "password": ["KAMAL_REGISTRY_PASSWORD"]},
            "builder": {"arch": "amd64"},
            "env": {"clear": {"APP_NAME": self.service}, "secret": ["APP_SECRET"]},
            "ssh": {"keys": [lab.state["ssh_key"]], "config": lab.ssh_config},
            "readiness_delay": 0, "deploy_timeout": 4, "drain_timeout": 5,
        }
        self.config.update(config_overrides)
        self.secrets = "KAMAL_REGISTRY_PASSWORD=none\nAPP_SECRET=s3cr3t-value\n"
        self.write_config()
        hooks = root / ".kamal" / "hooks"
        hooks.mkdir()
        for name in ("pre-connect", "pre-build", "pre-deploy", "post-deploy"):
            shutil.copy(os.path.join(REPO, "tests", "fixtures", "hooks", "record"), hooks / name)
        self.hook_log = root / "hooks.log"
        self.git("init", "-q")

    def write_config(self):
        """(Re)write config/deploy.yml, .kamal/secrets and ansible.cfg from ``self.config`` and ``self.secrets``."""
        write_lab_project(self.root, self.config, os.environ["ANSIBLE_COLLECTIONS_PATH"], secrets=self.secrets,
                          proxy_image=f"{self.lab.registry}/kamal-lab/proxy:2.11")

    def hook_records(self):
        """Each hook run as a dict of what it saw, in order."""
        if not self.hook_log.exists():
            return []
        records = []
        for chunk in self.hook_log.read_text().split("--\n"):
            lines = [line for line in chunk.splitlines() if "=" in line]
            if lines:
                records.append(dict(line.split("=", 1) for line in lines))
        return records

    def git(self, *args):
        return subprocess.run(["git", "-C", str(self.root), "-c", "user.email=t@example.test", "-c", "user.name=t", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, version, healthy=True):
        (self.root / "app" / "index.html").write_text(f"app {version}\n")
        up = self.root / "app" / "up"
        if healthy:
            up.write_text("ok\n")
        elif up.exists():
            up.unlink()
        (self.root / "Dockerfile").write_text(textwrap.dedent("""\
            FROM kamal-lab/busybox:1
            COPY app/ /www/
            CMD ["sh", "-c", "trap 'exit 0' TERM INT; [ -f /www/up ] || echo 'boot error: no /up in this build' >&2; httpd -f -p 80 -h /www & wait"]
            """))
        self.git("add", "-A")
        self.git("commit", "-qm", version)
        return self.git("rev-parse", "HEAD")

    def playbook_env(self):
        env = dict(os.environ, ANSIBLE_CONFIG=str(self.root / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", HOOK_LOG=str(self.hook_log))
        env.pop("VERSION", None)
        return env

    def start_playbook(self, name, *args):
        return subprocess.Popen(["ansible-playbook", "-i", "config/deploy.yml", f"kamal.deploy.{name}", *args], cwd=self.root,
                                env=self.playbook_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)

    def playbook(self, name, *args, check=True):
        res = subprocess.run(["ansible-playbook", "-i", "config/deploy.yml", f"kamal.deploy.{name}", *args],
                             cwd=self.root, env=self.playbook_env(), capture_output=True, text=True, check=False,
                             stdin=subprocess.DEVNULL)
        if check:
            assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
        return res

    def get(self, ip, timeout=3):
        req = urllib.request.Request(f"http://{ip}/", headers={"Host": self.host})
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read().decode().strip()

    def versions_served(self):
        return {ip: self.get(ip)[1] for ip in self.lab.ips}

    def containers(self, ip):
        out = self.lab.ssh(ip, f"docker ps -a --filter label=service={self.service} --format '{{{{.ID}}}} {{{{.Names}}}} {{{{.State}}}}'").stdout
        return sorted(out.splitlines())


class Load:
    """Steady traffic to every server through the proxy: a new connection per request, failures counted, each
    request's start and latency kept."""

    def __init__(self, app, clients_per_server=2):
        self.app, self.stop = app, threading.Event()
        self.requests = self.failures = 0
        self.errors, self.lock = [], threading.Lock()
        self.samples = []  # (start, seconds, ok, server ip) per request, for latency figures
        self.threads = [threading.Thread(target=self.run, args=(ip,), daemon=True)
                        for ip in app.lab.ips for _client in range(clients_per_server)]

    def run(self, ip):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                status, _body = self.app.get(ip)
                ok = status == 200
                err = None if ok else f"{ip}: HTTP {status}"
            except OSError as e:
                ok, err = False, f"{ip}: {e}"
            with self.lock:
                self.requests += 1
                self.samples.append((t0, time.monotonic() - t0, ok, ip))
                if not ok:
                    self.failures += 1
                    self.errors.append(err)
            time.sleep(0.01)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def changed_counts(output):
    return [int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1])]
