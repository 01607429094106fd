"""Build and push on the controller: the docker commands and when they run."""
import json

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import build as build_module
from ansible_collections.kamal.deploy.plugins.plugin_utils.build import Build, BuildError


class FakeRunner:
    """Answers docker/git commands from a table and records every call."""

    def __init__(self, *, image_labels=None, pushed=False, buildx=False, fail=None, registry_config=None):
        self.calls, self.inputs, self.envs = [], [], []
        self.registry_config = registry_config or {}
        self.image_labels, self.pushed, self.buildx, self.fail = image_labels, pushed, buildx, fail or ()

    def __call__(self, args, cwd=None, env=None, input_text=None):
        self.calls.append(args)
        self.inputs.append(input_text)
        self.envs.append(env)
        cmd = " ".join(args[:3])
        if any(f in " ".join(args) for f in self.fail):
            return 1, "", "boom"
        if cmd.startswith("docker image inspect"):
            return (0, json.dumps(self.image_labels), "") if self.image_labels is not None else (1, "", "No such image")
        if cmd.startswith("docker manifest inspect"):
            return (0, "{}", "") if self.pushed else (1, "", "no such manifest")
        if cmd.startswith("docker info --format"):
            return 0, json.dumps(self.registry_config), ""
        if cmd.startswith("docker buildx version"):
            return (0, "v0.12", "") if self.buildx else (1, "", "not a docker command")
        return 0, "", ""


def make(tmp_path, runner, builder=None, registry=None, **kw):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    builder = {"arch": ["amd64"], "context": ".", "git_clone": False, "dockerfile": "Dockerfile", **(builder or {})}
    return Build(service="shop", repository="reg.test/acme/shop", version="abc123", latest_tag="latest",
                 project_dir=str(tmp_path), builder=builder, registry=registry or {}, runner=runner, **kw)


def docker_calls(runner, verb):
    return [c for c in runner.calls if c[0] == "docker" and c[1] == verb]


def test_builds_with_service_label_both_tags_and_pushes_both(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    runner = FakeRunner()
    out = make(tmp_path, runner, builder={"args": {"RUBY": "3.3"}, "target": "prod"}).execute()
    build = docker_calls(runner, "build")[0]
    assert build[1:] == ["build", "-t", "reg.test/acme/shop:abc123", "-t", "reg.test/acme/shop:latest", "--label",
                         "service=shop", "--build-arg", "RUBY=3.3", "--file", "Dockerfile", "--target", "prod", "."]
    assert [c[2] for c in docker_calls(runner, "push")] == ["reg.test/acme/shop:abc123", "reg.test/acme/shop:latest"]
    assert out["changed"] and out["built"] and out["pushed"]


def test_an_image_already_built_and_pushed_is_left_alone(tmp_path):
    runner = FakeRunner(image_labels={"service": "shop"}, pushed=True)
    out = make(tmp_path, runner).execute()
    assert out == {"changed": False, "built": False, "pushed": False, "image": "reg.test/acme/shop:abc123",
                   "latest_image": "reg.test/acme/shop:latest", "actions": []}
    assert not docker_calls(runner, "build") and not docker_calls(runner, "push")


def test_an_image_without_our_label_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    runner = FakeRunner(image_labels={"service": "other"}, pushed=True)
    assert make(tmp_path, runner).execute()["built"]


def test_check_mode_plans_without_running_anything(tmp_path):
    runner = FakeRunner()
    out = make(tmp_path, runner).execute(check_mode=True)
    assert out["built"] and out["pushed"] and out["changed"]
    assert not docker_calls(runner, "build") and not docker_calls(runner, "push") and not docker_calls(runner, "login")


def test_login_passes_the_password_on_stdin_never_in_argv(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    runner = FakeRunner()
    b = make(tmp_path, runner, registry={"server": "reg.test", "username": "acme", "password": "s3cr3t"})
    b.execute()
    login = docker_calls(runner, "login")[0]
    assert login == ["docker", "login", "reg.test", "-u", "acme", "--password-stdin"]
    assert runner.inputs[runner.calls.index(login)] == "s3cr3t"
    assert all("s3cr3t" not in " ".join(a) for a in b.actions)


@pytest.mark.parametrize("registry", [{"server": "localhost:5555"}, {"server": "reg.test"}])
def test_no_login_for_a_local_registry_or_without_username(tmp_path, registry, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    runner = FakeRunner()
    make(tmp_path, runner, registry=registry).execute()
    assert not docker_calls(runner, "login")


@pytest.mark.parametrize("builder, needle", [
    ({"secrets": ["GITHUB_TOKEN"]}, "secrets"),
    ({"arch": ["arm64"]}, "arch arm64"),
    ({"cache": {"type": "registry"}}, "cache"),
])
def test_keys_that_need_buildx_fail_clearly_without_it(tmp_path, builder, needle, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    with pytest.raises(BuildError, match=f"builder: .*{needle}.*need docker buildx"):
        make(tmp_path, FakeRunner(), builder=builder).execute()


def test_buildx_gets_platform_secrets_and_their_values_in_env(tmp_path):
    runner = FakeRunner(buildx=True)
    make(tmp_path, runner, builder={"secrets": ["GITHUB_TOKEN"], "arch": ["amd64", "arm64"]},
         secret_values={"GITHUB_TOKEN": "t0k"}).execute()
    call = next(c for c in runner.calls if c[1:3] == ["buildx", "build"])
    assert call[3:6] == ["--load", "--platform", "linux/amd64,linux/arm64"]
    assert ["--secret", "id=GITHUB_TOKEN"] == call[call.index("--secret"):call.index("--secret") + 2]
    assert runner.envs[runner.calls.index(call)]["GITHUB_TOKEN"] == "t0k"


def test_missing_dockerfile_names_the_file_and_dir(tmp_path):
    with pytest.raises(BuildError, match="builder.dockerfile: Containerfile not found"):
        make(tmp_path, FakeRunner(), builder={"dockerfile": "Containerfile"}).execute()


def test_git_clone_mode_needs_a_git_repository(tmp_path):
    runner = FakeRunner(fail=("rev-parse",))
    with pytest.raises(BuildError, match="not a git repository.*builder.context: \\."):
        make(tmp_path, runner, builder={"context": None, "git_clone": True}).execute()


def test_a_failed_build_reports_the_output(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    with pytest.raises(BuildError, match="(?s)building reg.test/acme/shop:abc123 failed .*boom"):
        make(tmp_path, FakeRunner(fail=("--label",))).execute()


@pytest.mark.parametrize("config, insecure", [
    ({"IndexConfigs": {"reg.test": {"Secure": False}}}, True),
    ({"IndexConfigs": {"reg.test": {"Secure": True}}}, False),
    ({"InsecureRegistryCIDRs": ["127.0.0.0/8"]}, False),
])
def test_the_registry_check_speaks_http_only_where_the_engine_does(tmp_path, config, insecure):
    runner = FakeRunner(image_labels={"service": "shop"}, pushed=True, registry_config=config)
    make(tmp_path, runner).execute()
    manifest = next(c for c in runner.calls if c[1:3] == ["manifest", "inspect"])
    assert ("--insecure" in manifest) is insecure


def test_an_ip_registry_inside_an_insecure_cidr_is_insecure(tmp_path):
    runner = FakeRunner(registry_config={"InsecureRegistryCIDRs": ["172.29.0.0/24"]})
    b = Build(service="shop", repository="172.29.0.1:5000/shop", version="v", latest_tag="latest", project_dir=str(tmp_path),
              builder={}, runner=runner)
    assert b.registry_is_insecure()


class StreamingRunner(FakeRunner):
    """Answers like FakeRunner; a streamed build or push also prints docker-like lines through on_line."""

    OUTPUT = {"build": ["Step 1/2 : FROM scratch", " ---> Using cache", "Step 2/2 : COPY . /app", "Successfully built 0123"],
              "push": ["The push refers to repository [reg.test/acme/shop]", "0123456789ab: Pushed",
                       "abc123: digest: sha256:feed size: 528"]}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.streamed = []

    def __call__(self, args, cwd=None, env=None, input_text=None, on_line=None):
        rc, out, err = super().__call__(args, cwd=cwd, env=env, input_text=input_text)
        if on_line is not None:
            self.streamed.append(args[1])
        if on_line is not None and args[1] in self.OUTPUT:
            for line in self.OUTPUT[args[1]]:
                on_line(line)
        return rc, out, err


def test_build_and_push_show_their_steps_and_layers_as_they_run(tmp_path):
    shown, runner = [], StreamingRunner()
    make(tmp_path, runner, progress=shown.append).execute(push=True)
    assert runner.streamed == ["build", "push", "push"]  # the version and the latest tag
    image = "reg.test/acme/shop:abc123"
    assert f"{image}: Step 1/2 : FROM scratch" in shown and f"{image}: Step 2/2 : COPY . /app" in shown
    assert f"{image}: 0123456789ab: Pushed" in shown
    assert not any("Using cache" in line or "refers to repository" in line for line in shown)


def test_without_progress_nothing_is_streamed(tmp_path):
    runner = StreamingRunner()
    make(tmp_path, runner).execute(push=True)
    assert docker_calls(runner, "build") and docker_calls(runner, "push") and runner.streamed == []


def test_the_runner_streams_lines_as_they_come_and_keeps_the_output():
    from ansible_collections.kamal.deploy.plugins.plugin_utils.build import Runner
    seen = []
    rc, out, err = Runner()(["sh", "-c", "echo 'Step 1/1 : FROM x'; echo oops >&2; exit 3"], on_line=seen.append)
    assert (rc, err) == (3, "") and seen == ["Step 1/1 : FROM x", "oops"] and "oops" in out


def test_kamals_builder_names_and_commands():
    from ansible_collections.kamal.deploy.plugins.plugin_utils.build import KamalBuilder
    local = KamalBuilder({"arch": ["amd64"]})
    assert local.name == "kamal-local-docker-container"
    assert local.create_commands() == [["docker", "buildx", "create", "--name", "kamal-local-docker-container", "--driver=docker-container"]]
    assert local.remove_commands() == [["docker", "buildx", "rm", "kamal-local-docker-container"]]
    registry = KamalBuilder({"arch": ["amd64"]}, local_registry=True)
    assert registry.create_commands()[0][-3:] == ["--driver=docker-container", "--driver-opt", "network=host"]
    assert registry.name == "kamal-local-registry-docker-container"
    docker = KamalBuilder({"arch": ["amd64"], "driver": "docker"})
    assert docker.create_commands() == docker.remove_commands() == []
    cloud = KamalBuilder({"arch": ["amd64"], "driver": "cloud org/builder"})
    assert cloud.name == "cloud-org-builder" and cloud.create_commands() == [["docker", "buildx", "create", "--driver", "cloud", "org/builder"]]


def test_no_cache_reaches_the_build_command(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    build = Build(service="app", repository="r/app", version="v1", latest_tag="latest", project_dir=str(tmp_path),
                  builder={"arch": [], "context": "."}, no_cache=True)
    assert "--no-cache" in build.build_command(str(tmp_path), ".", buildx=True)


def test_a_plan_fails_on_a_missing_dockerfile_before_anything_is_built(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    runner = FakeRunner()
    build = make(tmp_path, runner, builder={"dockerfile": "Dockerfile.production"})
    with pytest.raises(BuildError, match=r"Dockerfile.production not found .*\(Missing Dockerfile\)"):
        build.execute(check_mode=True)
    assert not docker_calls(runner, "build") and not docker_calls(runner, "push")


def test_a_plan_fails_on_a_builder_setting_we_cannot_run(tmp_path):
    with pytest.raises(BuildError, match="builder.remote: remote builders are not supported"):
        make(tmp_path, FakeRunner(), builder={"remote": "ssh://b.test"}).execute(check_mode=True)
    with pytest.raises(BuildError, match="builder: secrets need docker buildx"):
        make(tmp_path, FakeRunner(buildx=False), builder={"secrets": ["GH"]}).execute(check_mode=True)


def test_a_plan_of_a_git_build_looks_for_the_dockerfile_in_the_commit_it_would_clone(tmp_path):
    import subprocess  # pylint: disable=import-outside-toplevel
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "README").write_text("x\n")
    subprocess.run(git + ["add", "README"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    build = make(tmp_path, RealGit(), builder={"git_clone": True, "context": None})  # Dockerfile written, not committed
    with pytest.raises(BuildError, match=r"Dockerfile is not in the commit a build clones .*\(Missing Dockerfile\)"):
        build.execute(check_mode=True)
    subprocess.run(git + ["add", "Dockerfile"], check=True)
    subprocess.run(git + ["commit", "-qm", "y"], check=True)
    assert build.execute(check_mode=True)["built"]


class RealGit(FakeRunner):
    """git for real, docker from the table."""

    def __call__(self, args, cwd=None, env=None, input_text=None):
        if args[0] == "git":
            import subprocess  # pylint: disable=import-outside-toplevel
            res = subprocess.run(args, capture_output=True, text=True, check=False)
            return res.returncode, res.stdout, res.stderr
        return super().__call__(args, cwd, env, input_text)


def test_a_dev_build_is_the_working_tree_tagged_dirty(tmp_path, monkeypatch):
    monkeypatch.setattr("ansible_collections.kamal.deploy.plugins.plugin_utils.build.local_arch", lambda: "amd64")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    # a git build (no context): the dev build still takes the working tree, uncommitted files and all
    args = {"service": "shop", "repository": "reg.test/acme/shop", "version": "abc123_uncommitted_1f2e", "latest_tag": "latest-staging",
            "project_dir": str(tmp_path), "builder": {"arch": ["amd64"], "context": None, "git_clone": True}, "registry": {},
            "secret_values": {}, "no_cache": True}
    dev = build_module.dev_build(args)
    assert (dev["version"], dev["latest_tag"]) == ("abc123_uncommitted_1f2e-dirty", "latest-staging-dirty")
    assert args["builder"]["git_clone"] is True, "the arguments given are left as they were"
    runner = FakeRunner(buildx=True)
    Build(runner=runner, **dev).build()
    build = docker_calls(runner, "buildx")[-1]
    assert build[1:] == ["buildx", "build", "--load", "--platform", "linux/amd64", "-t", "reg.test/acme/shop:abc123_uncommitted_1f2e-dirty",
                         "-t", "reg.test/acme/shop:latest-staging-dirty", "--label", "service=shop", "--file", "Dockerfile",
                         "--no-cache", "."]
    assert not [c for c in runner.calls if c[0] == "git"], "no clone"
    kept = build_module.dev_build(dict(args, builder={"context": "app", "git_clone": False}))
    assert kept["builder"]["context"] == "app"
