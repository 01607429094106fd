# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the app image on the controller and push it, with Kamal's semantics (controller only).

Kamal builds from a clean git clone of HEAD unless ``builder.context`` is set, labels the image
``service=<service>`` (servers refuse images without it), and tags ``<repo>:<version>`` and
``<repo>:latest[-<dest>]``. We use ``docker buildx build`` when the plugin is installed and fall back
to the classic ``docker build``, which cannot do build secrets, ssh or foreign platforms: those fail
with a message saying so instead of building something else.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
import platform
import shutil
import re
import subprocess
import tempfile
import time
import urllib.request

DOCKER_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"   # Kamal's name: either tool finds the other's registry
LOCAL_REGISTRY_IMAGE = "registry:3"


class BuildError(Exception):
    """A build step failed; the message names the step, the command's output and the fix."""


# The lines of `docker build` / `docker push` output worth showing while they run: build steps (classic and
# BuildKit) and each layer pushed; the rest stays in the error message when a step fails.
PROGRESS_LINE = re.compile(r"^(Step \d+/\d+ : |#\d+ \[|[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from)|\S+: digest: )")


class Runner:
    """Runs commands; tests replace it. Returns (rc, stdout, stderr). With ``on_line``, stdout and stderr are read
    together as they come and each line is passed to it (stderr is then empty)."""

    def __call__(self, args, cwd=None, env=None, input_text=None, on_line=None):
        if on_line is None:
            res = subprocess.run(args, cwd=cwd, env=env, input=input_text, capture_output=True, text=True, check=False)
            return res.returncode, res.stdout, res.stderr
        lines = []
        with subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.PIPE if input_text else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            if input_text:
                proc.stdin.write(input_text)
                proc.stdin.close()
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))
        return proc.returncode, "".join(lines), ""


def local_arch():
    return DOCKER_ARCH.get(platform.machine(), platform.machine())


def is_local_registry(server):
    return bool(server) and (server == "localhost" or server.startswith("localhost:"))


def refuse_unsupported(builder):
    """The builder settings we cannot run, refused before anything is built (a plan fails on them too)."""
    if builder.get("remote") or not builder.get("local", True):
        raise BuildError("builder.remote: remote builders are not supported yet; build on a machine of the target arch "
                         "or push a prebuilt image and deploy with skip_push")
    if builder.get("pack"):
        raise BuildError("builder.pack: buildpacks are not supported yet; build with a Dockerfile")


class KamalBuilder:
    """Kamal's named buildx builder for this config (`kamal build create|remove|details`): kamal-local-<driver>, or
    kamal-local-registry-<driver> with a local registry; none for the docker driver. Our deploys build with
    `docker buildx build --load` on the engine's current builder, so this builder is only made or removed for a
    machine that also builds with Kamal."""

    def __init__(self, builder, local_registry=False):
        refuse_unsupported(builder)
        self.driver = builder.get("driver") or "docker-container"
        self.local_registry = local_registry

    @property
    def docker_driver(self):
        return self.driver == "docker"

    @property
    def cloud(self):
        return self.driver.startswith("cloud")

    @property
    def name(self):
        if self.cloud:
            return re.sub(r"[ /]", "-", self.driver)
        return f"kamal-local-{'registry-' if self.local_registry else ''}{self.driver}"

    def create_commands(self):
        if self.docker_driver:
            return []
        if self.cloud:
            return [["docker", "buildx", "create", "--driver", *self.driver.split()]]
        options = ["--driver-opt", "network=host"] if self.local_registry else []
        return [["docker", "buildx", "create", "--name", self.name, f"--driver={self.driver}", *options]]

    def remove_commands(self):
        return [] if self.docker_driver else [["docker", "buildx", "rm", self.name]]

    @staticmethod
    def info_commands():
        return [["docker", "context", "ls"], ["docker", "buildx", "ls"]]

    @staticmethod
    def deploy_build_note():
        return "docker buildx build --load on the engine's current builder (docker build without buildx), then docker push"


class LocalRegistry:
    """Kamal's local registry (``registry.server: localhost:PORT``): the container ``kamal-docker-registry`` on the
    controller, published on 127.0.0.1 only (servers reach it through an SSH remote forward). A deploy's build starts
    it; ``kamal registry setup`` starts it and ``registry remove`` stops and removes it (its images go with it)."""

    def __init__(self, server, runner=None, image=None, sleep=None, answers=None):
        self.server = server
        self.run = runner or Runner()
        self.image = image or LOCAL_REGISTRY_IMAGE
        self.sleep = sleep or time.sleep
        self.answers = answers or Build._registry_answers
        self.actions = []

    def _docker(self, *args, what):
        rc, out, err = self.run(["docker", *args])
        if rc != 0:
            raise BuildError(f"{what} failed (docker {args[0]}, exit {rc}):\n{(out + err).strip()[-4000:]}")
        return out

    @property
    def port(self):
        port = self.server.split(":", 1)[1] if ":" in self.server else ""
        if not port.isdigit():
            raise BuildError(f"registry.server: a local registry needs a port, as in localhost:5555 (got {self.server})")
        return port

    def setup(self):
        """Start it (or keep it running) and wait until it answers. Returns True when it was started."""
        port, name = self.port, LOCAL_REGISTRY_CONTAINER
        rc, out, _err = self.run(["docker", "inspect", "-f", "{{.State.Running}} {{json .HostConfig.PortBindings}}", name])
        if rc == 0:
            running, _sep, bindings = out.strip().partition(" ")
            ports = [b.get("HostPort") for b in (json.loads(bindings or "{}") or {}).get("5000/tcp") or []]
            if port not in ports:
                raise BuildError(f"the local registry container {name} publishes port {', '.join(p for p in ports if p) or 'none'}, "
                                 f"but registry.server is {self.server}: remove it (`docker rm -f {name}`; its images go with it) "
                                 "or use its port in registry.server")
            if running == "true":
                return False
            self._docker("start", name, what=f"starting the local registry {name}")
            self.actions.append(f"docker start {name}")
        else:
            self._docker("run", "--detach", "-p", f"127.0.0.1:{port}:5000", "--name", name, self.image,
                         what=f"starting the local registry {name} ({self.image})")
            self.actions.append(f"docker run --detach -p 127.0.0.1:{port}:5000 --name {name} {self.image}")
        for _attempt in range(50):
            if self.answers(port):
                return True
            self.sleep(0.2)
        raise BuildError(f"the local registry {name} did not answer on 127.0.0.1:{port} within 10 s: see `docker logs {name}`")

    def remove(self):
        """Stop and remove the container (Kamal: ``docker stop`` && ``docker rm``, failures ignored). Returns True when
        there was one to remove."""
        name = LOCAL_REGISTRY_CONTAINER
        if self.run(["docker", "inspect", "-f", "{{.Id}}", name])[0] != 0:
            return False
        for args in (["stop", name], ["rm", name]):
            self._docker(*args, what=f"removing the local registry {name}")
            self.actions.append("docker " + " ".join(args))
        return True


class Build:
    """One build-and-push of ``repository:version`` for a service.

    ``builder`` is the resolved ``builder`` section (KamalConfig.builder.to_dict()); ``registry`` has
    ``server``, ``username`` and ``password`` (values, not secret names); ``secret_values`` holds the
    values of ``builder.secrets``.
    """

    def __init__(self, *, service, repository, version, latest_tag, project_dir, builder, registry=None,
                 secret_values=None, runner=None, environ=None, clone_root=None, local_registry_image=None,
                 sleep=None, progress=None, no_cache=False):
        self.no_cache = no_cache
        self.service, self.repository, self.version, self.latest_tag = service, repository, version, latest_tag
        self.project_dir = os.path.abspath(project_dir)
        self.builder = builder
        self.registry = registry or {}
        self.secret_values = secret_values or {}
        self.run = runner or Runner()
        self.environ = dict(os.environ if environ is None else environ)
        self.clone_root = clone_root or os.path.join(tempfile.gettempdir(), "kamal-clones")
        self.local_registry_image = local_registry_image or LOCAL_REGISTRY_IMAGE
        self.sleep = sleep or time.sleep
        self.progress = progress  # called with "<image>: <line>" for build steps and pushed layers
        self.actions = []

    def _show_progress(self, line):
        if PROGRESS_LINE.match(line):
            self.progress(f"{self.image}: {line}")

    # -- plan ---------------------------------------------------------------------------------
    @property
    def image(self):
        return f"{self.repository}:{self.version}"

    @property
    def latest_image(self):
        return f"{self.repository}:{self.latest_tag}"

    def _docker(self, *args, what, input_text=None, cwd=None, env=None, stream=False):
        """``stream``: long steps (build, push) pass their progress lines to ``self.progress`` as they come."""
        extra = {"on_line": self._show_progress} if stream and self.progress else {}
        rc, out, err = self.run(["docker", *args], cwd=cwd, env=env, input_text=input_text, **extra)
        if rc != 0:
            raise BuildError(f"{what} failed (docker {args[0]}, exit {rc}):\n{(out + err).strip()[-4000:]}")
        return out

    def image_built(self):
        """The version's image exists locally and carries our service label."""
        rc, out, _err = self.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", self.image])
        if rc != 0:
            return False
        labels = json.loads(out.strip() or "null") or {}
        return labels.get("service") == self.service

    def registry_is_insecure(self):
        """Whether the local engine talks plain HTTP to the image's registry (then so must the client)."""
        server = self.repository.split("/", 1)[0] if "/" in self.repository else ""
        if not server or is_local_registry(server):
            return bool(server)
        rc, out, _err = self.run(["docker", "info", "--format", "{{json .RegistryConfig}}"])
        if rc != 0:
            return False
        config = json.loads(out.strip() or "{}") or {}
        index = (config.get("IndexConfigs") or {}).get(server)
        if index is not None:
            return not index.get("Secure", True)
        host = server.rsplit(":", 1)[0]
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(cidr) for cidr in config.get("InsecureRegistryCIDRs") or [])

    def image_pushed(self):
        args = ["docker", "manifest", "inspect"]
        if self.registry_is_insecure():
            args.append("--insecure")
        rc, _out, _err = self.run(args + [self.image])
        return rc == 0

    def plan(self, push=True):
        """What a run would do, without doing it: {"build": bool, "push": bool}."""
        build = not self.image_built()
        return {"build": build, "push": bool(push) and (build or not self.image_pushed())}

    # -- steps --------------------------------------------------------------------------------
    def buildx_available(self):
        rc, _out, _err = self.run(["docker", "buildx", "version"])
        return rc == 0

    def setup_local_registry(self):
        """With ``registry.server: localhost:PORT``, the registry runs here (LocalRegistry). Returns True when started."""
        if not is_local_registry(self.registry.get("server")):
            return False
        registry = LocalRegistry(self.registry.get("server"), runner=self.run, image=self.local_registry_image, sleep=self.sleep,
                                 answers=self._registry_answers)
        started = registry.setup()
        self.actions += registry.actions
        return started

    @staticmethod
    def _registry_answers(port):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never through a proxy
        try:
            with opener.open(f"http://127.0.0.1:{port}/v2/", timeout=1) as res:
                return res.status == 200
        except OSError:
            return False

    def login(self):
        server, user, password = self.registry.get("server"), self.registry.get("username"), self.registry.get("password")
        if is_local_registry(server) or not user:
            return
        args = ["login", *([server] if server else []), "-u", str(user), "--password-stdin"]
        self._docker(*args, what=f"docker login to {server or 'Docker Hub'} as {user} on the controller (for the push)",
                     input_text=str(password or ""))
        self.actions.append(f"docker login {server or ''} -u {user}".replace("  ", " "))

    def git_clone(self):
        """A clean clone of the project's HEAD, reused between builds (as Kamal's build clone)."""
        rc, top, err = self.run(["git", "-C", self.project_dir, "rev-parse", "--show-toplevel"])
        if rc != 0:
            raise BuildError(f"{self.project_dir} is not a git repository, and Kamal builds from a git clone of HEAD: "
                             f"commit the app to git, or set `builder.context: .` to build the working tree ({err.strip()})")
        top = top.strip()
        _rc, head, _err = self.run(["git", "-C", top, "rev-parse", "HEAD"])
        head = head.strip()
        digest = hashlib.sha256(self.project_dir.encode()).hexdigest()[:13]
        clone_dir = os.path.join(self.clone_root, f"{self.service}-{digest}")
        repo_dir = os.path.join(clone_dir, os.path.basename(top))
        if os.path.isdir(os.path.join(repo_dir, ".git")):
            steps = [["remote", "set-url", "origin", top], ["fetch", "origin"], ["reset", "--hard", head], ["clean", "-fdx"],
                     ["submodule", "update", "--init"]]
            ok = all(self.run(["git", "-C", repo_dir, *s])[0] == 0 for s in steps)
            rc, status, _err = self.run(["git", "-C", repo_dir, "status", "--porcelain"])
            _rc, clone_head, _err = self.run(["git", "-C", repo_dir, "rev-parse", "HEAD"])
            if ok and rc == 0 and not status.strip() and clone_head.strip() == head:
                return os.path.join(repo_dir, os.path.relpath(self.project_dir, top))
            self.run(["rm", "-rf", repo_dir])
        os.makedirs(clone_dir, exist_ok=True)
        rc, out, err = self.run(["git", "-C", clone_dir, "clone", top, "--recurse-submodules"])
        if rc != 0:
            raise BuildError(f"git clone of {top} failed:\n{(out + err).strip()}")
        self.actions.append(f"git clone {top} {repo_dir}")
        return os.path.join(repo_dir, os.path.relpath(self.project_dir, top))

    def build_dir(self):
        context = self.builder.get("context")
        if self.builder.get("git_clone", context is None):
            return self.git_clone(), "."
        return self.project_dir, context

    def preflight(self):
        """What the build would refuse, found without building or cloning (a plan fails on it, as the run would before
        any change): a builder setting we cannot run, keys that need buildx where it is missing, a missing Dockerfile
        (in a git build, in the commit that would be cloned)."""
        context = self.builder.get("context")
        if not self.builder.get("git_clone", context is None):
            self.build_command(self.project_dir, context, self.buildx_available())
            return
        rc, top, err = self.run(["git", "-C", self.project_dir, "rev-parse", "--show-toplevel"])
        if rc != 0:
            raise BuildError(f"{self.project_dir} is not a git repository, and Kamal builds from a git clone of HEAD: "
                             f"commit the app to git, or set `builder.context: .` to build the working tree ({err.strip()})")
        dockerfile = self.builder.get("dockerfile") or "Dockerfile"
        path = os.path.relpath(os.path.join(self.project_dir, dockerfile), top.strip())
        if self.run(["git", "-C", top.strip(), "cat-file", "-e", f"HEAD:{path}"])[0] != 0:
            raise BuildError(f"builder.dockerfile: {dockerfile} is not in the commit a build clones (HEAD of {top.strip()}) "
                             "(Missing Dockerfile): commit it, or set builder.context to build the working tree")
        self.build_command(self.project_dir, ".", self.buildx_available(), check_dockerfile=False)

    def build_command(self, build_dir, context, buildx, check_dockerfile=True):
        b = self.builder
        arches = b.get("arch") or []
        if isinstance(arches, str):
            arches = [arches]
        foreign = [a for a in arches if a != local_arch()]
        refuse_unsupported(b)
        if not buildx:
            needs = [name for name, v in (("secrets", b.get("secrets")), ("ssh", b.get("ssh")), ("cache", b.get("cache")),
                                          ("provenance", b.get("provenance")), ("sbom", b.get("sbom"))) if v]
            if foreign:
                needs.append(f"arch {', '.join(foreign)} (this machine is {local_arch()})")
            if needs:
                raise BuildError(f"builder: {', '.join(needs)} need docker buildx, which is not installed here: install the "
                                 "buildx plugin (docker-buildx), or drop these builder keys")
            args = ["build"]
        else:
            args = ["buildx", "build", "--load"]
            if arches:
                args += ["--platform", ",".join(f"linux/{a}" for a in arches)]
        args += ["-t", self.image, "-t", self.latest_image, "--label", f"service={self.service}"]
        for key, value in (b.get("args") or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        for name in b.get("secrets") or []:
            args += ["--secret", f"id={name}"]
        dockerfile = b.get("dockerfile") or "Dockerfile"
        if check_dockerfile and not os.path.exists(os.path.join(build_dir, dockerfile)):
            raise BuildError(f"builder.dockerfile: {dockerfile} not found in {build_dir} (Missing Dockerfile)")
        args += ["--file", dockerfile]
        if b.get("target"):
            args += ["--target", str(b["target"])]
        if b.get("ssh"):
            args += ["--ssh", str(b["ssh"])]
        for key in ("provenance", "sbom"):
            if b.get(key) is not None:
                args += [f"--{key}", str(b[key]).lower()]
        if self.no_cache:
            args.append("--no-cache")
        args.append(context)
        return args

    def build(self):
        build_dir, context = self.build_dir()
        args = self.build_command(build_dir, context, self.buildx_available())
        env = dict(self.environ, **{k: str(v) for k, v in self.secret_values.items()})
        env.setdefault("DOCKER_BUILDKIT", "1" if args[0] == "buildx" else "0")
        self._docker(*args, what=f"building {self.image}", cwd=build_dir, env=env, stream=True)
        self.actions.append("docker " + " ".join(args))

    def push(self):
        for ref in (self.image, self.latest_image):
            self._docker("push", ref, what=f"pushing {ref} to {self.registry.get('server') or 'Docker Hub'}", stream=True)
            self.actions.append(f"docker push {ref}")

    def execute(self, push=True, check_mode=False):
        """Build and push as needed. Returns {"changed", "built", "pushed", "image", "actions"}."""
        plan = self.plan(push)
        if check_mode and plan["build"]:
            self.preflight()
        if not check_mode:
            if plan["build"]:
                self.build()
            if plan["push"]:
                self.login()
                self.push()
        return {"changed": plan["build"] or plan["push"], "built": plan["build"], "pushed": plan["push"],
                "image": self.image, "latest_image": self.latest_image, "actions": self.actions}


# Kamal's `build dev` tags: never a version a deploy boots.
DEV_TAG_SUFFIX = "-dirty"


def dev_build(build_args):
    """Kamal's ``build dev`` from a build's arguments (commands.build_args): the working tree as it is, uncommitted and
    untracked files included (never a git clone; ``builder.context`` when set, else the project directory), tagged
    ``<version>-dirty`` and ``<latest tag>-dirty``."""
    builder = dict(build_args["builder"], git_clone=False)
    builder["context"] = builder.get("context") or "."
    dev = dict(build_args)
    dev.update(builder=builder, version=build_args["version"] + DEV_TAG_SUFFIX, latest_tag=build_args["latest_tag"] + DEV_TAG_SUFFIX)
    return dev


# -- image_delivery: ssh (ours) ------------------------------------------------------------------------------

def local_image_id(image, runner=None):
    """The controller's image ID of ``image``, or None when it is not here."""
    rc, out, _err = (runner or Runner())(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    return out.strip() if rc == 0 and out.strip() else None


def image_archive(image, image_id, level=1, cache_dir=None):
    """``docker save <image> | gzip -<level>`` into a file named after the image ID, made once for every server
    (parallel hosts wait on a lock and reuse it). Older archives of the same repository are removed.
    Returns ``(path, seconds spent saving, or 0 when reused)``."""
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), f"kamal-deliver-{os.getuid()}")
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    prefix = hashlib.sha256(repository.encode()).hexdigest()[:12]
    name = f"{prefix}-{image_id.split(':', 1)[-1][:32]}-{level}.tar{'.gz' if level else ''}"
    path = os.path.join(cache_dir, name)
    with open(os.path.join(cache_dir, f"{prefix}.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return path, 0.0
        for old in os.listdir(cache_dir):
            if old.startswith(prefix + "-"):
                os.unlink(os.path.join(cache_dir, old))
        t0 = time.monotonic()
        partial = path + ".partial"
        compressor = None
        if level:
            compressor = [shutil.which("pigz") or "gzip", f"-{level}", "-c"]
        with open(partial, "wb") as out:
            save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE if compressor else out,  # pylint: disable=consider-using-with
                                    stderr=subprocess.PIPE)
            if compressor:
                gz = subprocess.Popen(compressor, stdin=save.stdout, stdout=out)  # pylint: disable=consider-using-with
                save.stdout.close()
                gz_rc = gz.wait()
            else:
                gz_rc = 0
            err = save.stderr.read().decode(errors="replace")
            save_rc = save.wait()
        if save_rc != 0 or gz_rc != 0:
            os.unlink(partial)
            raise BuildError(f"docker save {image} failed (exit {save_rc or gz_rc}): {err.strip()}")
        os.rename(partial, path)
        return path, time.monotonic() - t0
