"""kamal_app's asset bridging (asset_path): Kamal's extracted/ and volumes/ directories, both versions' files in
each volume, the mount, the clean-up, check mode; against the fake engine and proxy."""
import io
import os
import tarfile

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _assets
from test_app_fakes import REPO, World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import

PROXY = {"hosts": ["app.example.com"], "app_port": 80}
V1_FILES = {"/rails/public/assets/app-111.css": b"v1 css", "/rails/public/assets/shared.txt": b"from v1",
            "/rails/public/assets/.hidden": b"dot", "/rails/public/assets/img/logo-1.png": b"\x89PNG1"}
V2_FILES = {"/rails/public/assets/app-222.css": b"v2 css", "/rails/public/assets/shared.txt": b"from v2",
            "/rails/public/assets/img/logo-2.png": b"\x89PNG2"}


@pytest.fixture
def world(tmp_path):
    world = World(tmp_path)
    labels = {"service": "app"}
    world.engine.publish(REPO + ":a1", labels, {"files": V1_FILES})
    world.engine.publish(REPO + ":a2", labels, {"files": V2_FILES})
    return world


def boot(world, version, check_mode=False, **overrides):
    overrides.setdefault("asset_path", "/rails/public/assets")
    overrides.setdefault("proxy", PROXY)
    return world.run(check_mode=check_mode, version=version, **overrides)


def tree(path):
    found = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, path)] = handle.read()
    return found


def assets_dir(world, kind, name):
    return os.path.join(world.home, ".kamal/apps/app/assets", kind, name)


def test_the_first_boot_extracts_the_assets_and_mounts_them(world):
    result = boot(world, "a1", asset_path_options="ro")
    assert result["changed"]
    expected = {"app-111.css": b"v1 css", "shared.txt": b"from v1", ".hidden": b"dot", "img/logo-1.png": b"\x89PNG1"}
    assert tree(assets_dir(world, "extracted", "web-a1")) == expected
    assert tree(assets_dir(world, "volumes", "web-a1")) == expected
    create = next(c for c in world.engine.calls if c[0] == "create" and c[1] == "app-web-a1")
    assert create[3]["volumes"] == ["%s:/rails/public/assets:ro" % assets_dir(world, "volumes", "web-a1")]
    # the extraction container is created, never started, and removed
    assert ("archive", "app-web-assets", "/rails/public/assets") in world.engine.calls
    assert ("start", "app-web-assets") not in world.engine.calls
    assert world.engine.named("app-web-assets") is None
    assert any(a.startswith("extract %s:a1:/rails/public/assets to " % REPO) for a in result["actions"])


def test_a_second_version_gets_both_versions_files_and_the_old_one_gets_the_new_ones(world):
    boot(world, "a1")
    seen_by_old = {}

    def look(container):  # the old container must have the new files before the new one even starts
        if container.name == "app-web-a2" and not seen_by_old:
            seen_by_old.update(tree(assets_dir(world, "volumes", "web-a1")))

    world.engine.behaviours[world.engine.registry[REPO + ":a2"].id]["on_reload"] = look
    result = boot(world, "a2")
    assert result["changed"] and result["old_version"] == "a1"
    assert seen_by_old["app-222.css"] == b"v2 css" and seen_by_old["shared.txt"] == b"from v1"
    # the new container's volume: its own files win, the old version's are added
    assert tree(assets_dir(world, "volumes", "web-a2")) == {
        "app-222.css": b"v2 css", "shared.txt": b"from v2", "img/logo-2.png": b"\x89PNG2",
        "app-111.css": b"v1 css", ".hidden": b"dot", "img/logo-1.png": b"\x89PNG1"}
    # the old version stopped: its directories went
    assert sorted(os.listdir(os.path.join(world.home, ".kamal/apps/app/assets/volumes"))) == ["web-a2"]
    assert sorted(os.listdir(os.path.join(world.home, ".kamal/apps/app/assets/extracted"))) == ["web-a2"]


def test_clean_up_keeps_a_directory_another_running_container_mounts(world):
    boot(world, "a1")
    # another role whose name starts like this one's, running with its own volume
    boot(world, "a1", role="web-admin")
    boot(world, "a2")
    assert sorted(os.listdir(os.path.join(world.home, ".kamal/apps/app/assets/volumes"))) == ["web-a2", "web-admin-a1"]


def test_an_identical_rerun_changes_nothing(world):
    boot(world, "a1")
    calls = len(world.engine.calls)
    again = boot(world, "a1")
    assert again["changed"] is False and again["actions"] == []
    assert len(world.engine.calls) == calls


def test_check_mode_plans_the_extraction_and_writes_nothing(world):
    result = boot(world, "a1", check_mode=True)
    assert result["changed"]
    assert any(a.startswith("extract %s:a1:/rails/public/assets" % REPO) for a in result["actions"])
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app/assets"))
    assert "archive" not in world.engine.mutations()


def test_a_role_without_the_proxy_bridges_nothing(world):
    world.run(version="a1", asset_path="/rails/public/assets", readiness_delay=0)
    assert not os.path.exists(os.path.join(world.home, ".kamal/apps/app/assets"))
    create = next(c for c in world.engine.calls if c[0] == "create")
    assert create[3]["volumes"] == []


def test_exec_containers_do_not_mount_the_assets(world):
    boot(world, "a1")
    world.run(command="exec", version="a1", exec_command="true", asset_path="/rails/public/assets", proxy=PROXY)
    create = [c for c in world.engine.calls if c[0] == "create" and "-exec-" in c[1]][0]
    assert create[3]["volumes"] == []


def test_a_missing_asset_path_fails_naming_it_and_nothing_runs(world):
    result = None
    with pytest.raises(_assets.AssetError) as error:
        result = boot(world, "a1", asset_path="/app/public/assets")
    assert result is None
    assert "asset_path /app/public/assets is not in the image %s:a1" % REPO in str(error.value)
    assert world.engine.named("app-web-a1") is None and world.engine.named("app-web-assets") is None


def test_a_link_at_the_asset_path_is_followed(world):
    files = dict((k.replace("/rails/public/assets", "/srv/assets-1"), v) for k, v in V1_FILES.items())
    files["/rails/public/assets"] = ("link", "../../srv/assets-1")
    world.engine.publish(REPO + ":l1", {"service": "app"}, {"files": files})
    boot(world, "l1")
    assert tree(assets_dir(world, "extracted", "web-l1"))["app-111.css"] == b"v1 css"


def archive(*members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as handle:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data
                handle.addfile(info)
            else:
                info.size = len(data)
                handle.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("members", [
    [("assets/../../evil", "file", b"x")],
    [("/etc/evil", "file", b"x")],
    [("assets/out", "link", "/tmp"), ("assets/out/evil", "file", b"x")],
])
def test_an_archive_never_writes_outside_the_directory(tmp_path, members):
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(_assets.AssetError):
        _assets.extract_tar(archive(*members), str(target))
    assert not (tmp_path / "evil").exists()


def test_copy_missing_is_cp_rnT(tmp_path):
    source, target = tmp_path / "s", tmp_path / "t"
    (source / "d").mkdir(parents=True)
    (source / "d" / "new").write_text("new")
    (source / "same").write_text("source")
    os.symlink("same", str(source / "link"))
    target.mkdir()
    (target / "same").write_text("target")
    assert _assets.copy_missing(str(source), str(target)) == 2
    assert (target / "same").read_text() == "target" and (target / "d" / "new").read_text() == "new"
    assert os.readlink(str(target / "link")) == "same"
    assert _assets.copy_missing(str(source), str(target)) == 0


def test_the_assets_step_alone_prepares_what_the_boot_then_finds_done(world):
    boot(world, "a1")
    alone = world.run(command="assets", version="a2", asset_path="/rails/public/assets", proxy=PROXY)
    assert alone["changed"] and alone["assets"]["old_version"] == "a1"
    # the serving container's volume already has the new files, before anything boots
    assert tree(assets_dir(world, "volumes", "web-a1"))["app-222.css"] == b"v2 css"
    assert world.engine.named("app-web-a2") is None
    archives = len([c for c in world.engine.calls if c[0] == "archive"])
    result = boot(world, "a2")
    assert result["changed"] and len([c for c in world.engine.calls if c[0] == "archive"]) == archives
    assert not any(a.startswith("extract ") for a in result["actions"])


def test_a_rollout_serves_both_versions_assets_and_its_promotion_cleans_up(world):
    boot(world, "a1")
    world.run(command="rollout_deploy", version="a2", asset_path="/rails/public/assets", proxy=PROXY)
    assert tree(assets_dir(world, "volumes", "web-a1"))["app-222.css"] == b"v2 css"  # the live one has the new files
    assert tree(assets_dir(world, "volumes", "web-a2"))["app-111.css"] == b"v1 css"
    promoted = boot(world, "a2", stop_stale=True)
    assert promoted["promoted"] is True
    assert sorted(os.listdir(os.path.join(world.home, ".kamal/apps/app/assets/volumes"))) == ["web-a2"]
