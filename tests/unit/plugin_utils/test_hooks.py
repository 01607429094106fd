"""Kamal's hooks on the controller: when they run, with which environment, and how they fail."""
import os
import shutil
import stat

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import hooks

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures", "hooks", "record")
SHA = "0123456789abcdef0123456789abcdef01234567"


def read_records(path):
    """The records the fixture hook appended: a list of dicts."""
    if not os.path.exists(path):
        return []
    records, current = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line == "--":
                records.append(current)
                current = {}
            else:
                key, _sep, value = line.partition("=")
                current[key] = value
    return records


@pytest.fixture
def project(tmp_path):
    hooks_dir = tmp_path / ".kamal" / "hooks"
    hooks_dir.mkdir(parents=True)
    log = tmp_path / "hooks.log"

    class Project:
        root = str(tmp_path)
        dir = hooks_dir
        environ = {"PATH": os.environ["PATH"], "HOOK_LOG": str(log), "HOME": str(tmp_path)}

        def install(self, *names, source=FIXTURE):
            for name in names:
                shutil.copy(source, hooks_dir / name)
                os.chmod(hooks_dir / name, 0o755)

        def records(self):
            return read_records(str(log))

        def run(self, name, **kwargs):
            kwargs.setdefault("service", "app")
            kwargs.setdefault("version", SHA)
            kwargs.setdefault("performer_name", "dev@example.com")
            kwargs.setdefault("environ", self.environ)
            return hooks.run_hook(name, project_dir=self.root, **kwargs)

    return Project()


def test_service_version_abbreviates_like_kamal():
    assert hooks.service_version("app", SHA) == "app@0123456"
    assert hooks.service_version("app", SHA + "_uncommitted_0011223344556677") == "app@" + SHA + "_uncommitted_0011223344556677"
    assert hooks.service_version("app", "v1") == "app@v1"
    assert hooks.service_version("app", None) == "app"


def test_ruby_rounding_of_runtime():
    assert [hooks.ruby_round(x) for x in (0.5, 1.5, 2.5, 2.49, 61.7)] == [1, 2, 3, 2, 62]


def test_base_env_has_kamals_variables_and_leaves_unset_ones_out(project):
    project.install("pre-deploy")
    result = project.run("pre-deploy", hosts=["1.1.1.1", "1.1.1.2"], command="deploy", lock=True,
                         recorded_at="2026-11-18T11:06:40Z")
    assert result["ran"] and result["rc"] == 0 and result["changed"]
    record = project.records()[0]
    assert {k: v for k, v in record.items() if k.startswith("KAMAL_")} == {
        "KAMAL_RECORDED_AT": "2026-11-18T11:06:40Z", "KAMAL_PERFORMER": "dev@example.com", "KAMAL_VERSION": SHA,
        "KAMAL_SERVICE_VERSION": "app@0123456", "KAMAL_SERVICE": "app", "KAMAL_HOSTS": "1.1.1.1,1.1.1.2",
        "KAMAL_COMMAND": "deploy", "KAMAL_LOCK": "true"}
    assert result["env"]["KAMAL_LOCK"] == "true"
    # run as Kamal runs it: /usr/bin/env .kamal/hooks/<name> from the project root
    assert record["argv0"] == ".kamal/hooks/pre-deploy" and record["cwd"] == project.root
    assert result["cmd"] == ["/usr/bin/env", ".kamal/hooks/pre-deploy"]


def test_optional_variables_when_set(project):
    project.install("post-deploy", "pre-app-boot")
    project.run("post-deploy", destination="staging", roles=["web", "workers"], command="app", subcommand="boot",
                runtime=12.5, hosts=["h1"])
    project.run("pre-app-boot", runtime=12.5, hosts=["h1"])
    post, boot = project.records()
    assert post["KAMAL_DESTINATION"] == "staging" and post["KAMAL_ROLES"] == "web,workers"
    assert post["KAMAL_SUBCOMMAND"] == "boot" and post["KAMAL_RUNTIME"] == "13" and post["KAMAL_LOCK"] == "false"
    assert "KAMAL_RUNTIME" not in boot and "KAMAL_DESTINATION" not in boot and "KAMAL_ROLES" not in boot


@pytest.mark.parametrize("name, gets_secrets", [
    ("pre-connect", True), ("pre-deploy", True), ("post-deploy", True),
    ("pre-build", False), ("pre-app-boot", False), ("post-app-boot", False),
    ("pre-proxy-reboot", False), ("post-proxy-reboot", False), ("docker-setup", False),
])
def test_secrets_only_for_the_hooks_kamal_gives_them_to(project, name, gets_secrets):
    project.install(name)
    result = project.run(name, secrets={"SECRET_TOKEN": "s3cr3t"})
    record = project.records()[0]
    assert (record.get("SECRET_TOKEN") == "s3cr3t") is gets_secrets
    assert result["secrets_exported"] is gets_secrets
    assert "SECRET_TOKEN" not in result["env"]


def test_secrets_are_masked_in_the_output(project):
    project.install("pre-deploy")
    project.environ["HOOK_ECHO"] = "token is s3cr3t"
    result = project.run("pre-deploy", secrets={"SECRET_TOKEN": "s3cr3t"})
    assert result["stdout"] == "token is ********\n"


def test_missing_hook_is_not_run(project):
    result = project.run("pre-build")
    assert not result["ran"] and not result["changed"] and result["skipped_reason"] == "no hook file .kamal/hooks/pre-build"


def test_skip_hooks_skips_even_pre_connect(project):
    project.install("pre-connect")
    result = project.run("pre-connect", skip=True)
    assert not result["ran"] and result["skipped_reason"] == "skip_hooks" and project.records() == []


def test_check_mode_does_not_run(project):
    project.install("pre-deploy")
    result = project.run("pre-deploy", check_mode=True)
    assert not result["ran"] and not result["changed"] and result["would_run"]
    assert result["skipped_reason"] == "check mode"
    assert project.records() == []


def test_non_executable_hook_says_chmod(project):
    project.install("pre-deploy")
    os.chmod(project.dir / "pre-deploy", stat.S_IRUSR | stat.S_IWUSR)
    if os.access(project.dir / "pre-deploy", os.X_OK):
        pytest.skip("root can execute anything here")
    with pytest.raises(hooks.HookError, match=r"not executable: run `chmod \+x \.kamal/hooks/pre-deploy`"):
        project.run("pre-deploy")


def test_failing_hook_fails_with_its_output(project):
    project.install("pre-deploy")
    project.environ.update(HOOK_EXIT="3", HOOK_ECHO="CI is red for s3cr3t")
    with pytest.raises(hooks.HookError) as e:
        project.run("pre-deploy", secrets={"SECRET_TOKEN": "s3cr3t"})
    assert str(e.value) == "Hook `pre-deploy` failed:\n.kamal/hooks/pre-deploy exited with status 3\nCI is red for ********"
    assert e.value.result["rc"] == 3


def test_traefik_hooks_are_refused(project):
    project.install("pre-deploy")
    (project.dir / "post-traefik-reboot").write_text("#!/bin/sh\n")
    with pytest.raises(hooks.HookError, match="Found post-traefik-reboot in .*renamed to \\(pre\\|post\\)-proxy-reboot"):
        project.run("pre-deploy")


def test_custom_hooks_path(project, tmp_path):
    other = tmp_path / "ops" / "hooks"
    other.mkdir(parents=True)
    shutil.copy(FIXTURE, other / "pre-build")
    result = project.run("pre-build", hooks_path="ops/hooks")
    assert result["ran"] and project.records()[0]["argv0"] == "ops/hooks/pre-build"


def test_unknown_hook_name(project):
    with pytest.raises(hooks.HookError, match="Unknown hook 'pre-deploy2'"):
        project.run("pre-deploy2")


def test_hooks_output_levels():
    assert hooks.output_level(None, "pre-deploy") is None
    assert hooks.output_level(":verbose", "pre-deploy") == "verbose"
    assert hooks.output_level({"pre-deploy": "quiet"}, "pre-deploy") == "quiet"
    assert hooks.output_level({"pre-deploy": "quiet"}, "pre-build") is None
    with pytest.raises(hooks.HookError, match="invalid level 'loud'"):
        hooks.output_level("loud", "pre-deploy")


class FakeGit:
    def __init__(self, email="", name="", rc=0):
        self.email, self.name, self.rc = email, name, rc

    def __call__(self, args, cwd=None, env=None):
        value = self.email if args[-1] == "user.email" else self.name
        return self.rc, value + "\n", ""


def test_performer_is_git_email_else_whoami():
    assert hooks.performer("/", runner=FakeGit(email="dev@example.com")) == "dev@example.com"
    assert hooks.performer("/", runner=FakeGit(rc=1)) not in ("", None)
    assert hooks.locked_by("/", runner=FakeGit(name="Jane Doe")) == "Jane Doe"
