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

import hashlib
import ipaddress
import json
import os
import platform
import subprocess
import tempfile

DOCKER_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class BuildError(Exception):
    """A build step failed; the message names the step, the command's output and the fix."""


class Runner:
    """Runs commands; tests replace it. Returns (rc, stdout, stderr)."""

    def __call__(self, args, cwd=None, env=None, input_text=None):
        res = subprocess.run(args, cwd=cwd, env=env, input=input_text, capture_output=True, text=True, check=False)
        return res.returncode, res.stdout, res.stderr


def local_arch():
    return DOCKER_ARCH.get(platform.machine(), platform.machine())


def is_local_registry(server):
    return bool(server) and (server == "localhost" or server.startswith("localhost:"))


class Build:
    """One build-and-push of ``repository:version`` for a service.

    ``builder`` is the resolved ``builder`` section (KamalConfig.builder.to_dict()); ``registry`` has
    ``server``, ``username`` and ``password`` (values, not secret names); ``secret_values`` holds the
    values of ``builder.secrets``.
    """

    def __init__(self, *, service, repository, version, latest_tag, project_dir, builder, registry=None,
                 secret_values=None, runner=None, environ=None, clone_root=None):
        self.service, self.repository, self.version, self.latest_tag = service, repository, version, latest_tag
        self.project_dir = os.path.abspath(project_dir)
        self.builder = builder
        self.registry = registry or {}
        self.secret_values = secret_values or {}
        self.run = runner or Runner()
        self.environ = dict(os.environ if environ is None else environ)
        self.clone_root = clone_root or os.path.join(tempfile.gettempdir(), "kamal-clones")
        self.actions = []

    # -- plan ---------------------------------------------------------------------------------
    @property
    def image(self):
        return f"{self.repository}:{self.version}"

    @property
    def latest_image(self):
        return f"{self.repository}:{self.latest_tag}"

    def _docker(self, *args, what, input_text=None, cwd=None, env=None):
        rc, out, err = self.run(["docker", *args], cwd=cwd, env=env, input_text=input_text)
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

    def login(self):
        server, user, password = self.registry.get("server"), self.registry.get("username"), self.registry.get("password")
        if is_local_registry(server) or not user:
            return
        args = ["login", *([server] if server else []), "-u", str(user), "--password-stdin"]
        self._docker(*args, what=f"docker login to {server or 'Docker Hub'} as {user}", input_text=str(password or ""))
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

    def build_command(self, build_dir, context, buildx):
        b = self.builder
        arches = b.get("arch") or []
        if isinstance(arches, str):
            arches = [arches]
        foreign = [a for a in arches if a != local_arch()]
        if b.get("remote") or not b.get("local", True):
            raise BuildError("builder.remote: remote builders are not supported yet; build on a machine of the target arch "
                             "or push a prebuilt image and deploy with skip_push")
        if b.get("pack"):
            raise BuildError("builder.pack: buildpacks are not supported yet; build with a Dockerfile")
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
        if not os.path.exists(os.path.join(build_dir, dockerfile)):
            raise BuildError(f"builder.dockerfile: {dockerfile} not found in {build_dir} (Missing Dockerfile)")
        args += ["--file", dockerfile]
        if b.get("target"):
            args += ["--target", str(b["target"])]
        if b.get("ssh"):
            args += ["--ssh", str(b["ssh"])]
        for key in ("provenance", "sbom"):
            if b.get(key) is not None:
                args += [f"--{key}", str(b[key]).lower()]
        args.append(context)
        return args

    def build(self):
        build_dir, context = self.build_dir()
        args = self.build_command(build_dir, context, self.buildx_available())
        env = dict(self.environ, **{k: str(v) for k, v in self.secret_values.items()})
        env.setdefault("DOCKER_BUILDKIT", "1" if args[0] == "buildx" else "0")
        self._docker(*args, what=f"building {self.image}", cwd=build_dir, env=env)
        self.actions.append("docker " + " ".join(args))

    def push(self):
        for ref in (self.image, self.latest_image):
            self._docker("push", ref, what=f"pushing {ref} to {self.registry.get('server') or 'Docker Hub'}")
            self.actions.append(f"docker push {ref}")

    def execute(self, push=True, check_mode=False):
        """Build and push as needed. Returns {"changed", "built", "pushed", "image", "actions"}."""
        plan = self.plan(push)
        if not check_mode:
            if plan["build"]:
                self.build()
            if plan["push"]:
                self.login()
                self.push()
        return {"changed": plan["build"] or plan["push"], "built": plan["build"], "pushed": plan["push"],
                "image": self.image, "latest_image": self.latest_image, "actions": self.actions}
