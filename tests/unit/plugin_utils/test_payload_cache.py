"""Module payloads kept across runs: keyed by what they are built from, copied whole, Ansible's locks and
half-written files left alone, and a failing cache never failing a run."""
import os
import time
from unittest import mock

from ansible.plugins.action import ActionBase

from ansible_collections.kamal.deploy.plugins.plugin_utils import payload_cache

FQN = payload_cache.COLLECTION_PREFIX + "kamal_app"


def tree(root):
    for rel in ("modules/kamal_app.py", "module_utils/_app.py", "ansible/module_utils/basic.py"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# %s\n" % rel)
    return root


def test_the_key_changes_with_any_module_or_module_util_and_with_ansible(tmp_path):
    root = tree(tmp_path)
    ansible_dir = str(root / "ansible")
    key = payload_cache.signature("2.19.4", ansible_dir, plugins_dir=str(root))
    assert key == payload_cache.signature("2.19.4", ansible_dir, plugins_dir=str(root))
    assert key != payload_cache.signature("2.19.5", ansible_dir, plugins_dir=str(root))
    (root / "module_utils" / "_app.py").write_text("# edited, longer than before\n")
    edited = payload_cache.signature("2.19.4", ansible_dir, plugins_dir=str(root))
    assert edited != key
    (root / "ansible" / "module_utils" / "basic.py").write_text("# upgraded in place, longer\n")
    assert payload_cache.signature("2.19.4", ansible_dir, plugins_dir=str(root)) != edited


def test_a_payload_built_in_one_run_is_put_back_in_the_next(tmp_path):
    store = tmp_path / "store"
    first, second = tmp_path / "run1", tmp_path / "run2"
    (first / "ansiballz_cache").mkdir(parents=True)
    for name in (FQN + "-ZIP_DEFLATED-none", FQN + "-ZIP_DEFLATED-none.lock", FQN + "-ZIP_DEFLATED-none-part",
                 payload_cache.COLLECTION_PREFIX + "kamal_lock-ZIP_DEFLATED-none"):
        (first / "ansiballz_cache" / name).write_bytes(b"payload of " + name.encode())
    assert payload_cache.PayloadCache(str(store), "k1", str(first)).keep(FQN) == 1
    assert sorted(os.listdir(store / "k1")) == [FQN + "-ZIP_DEFLATED-none"]
    cache = payload_cache.PayloadCache(str(store), "k1", str(second))
    assert cache.restore(FQN) == 1 and cache.restore(FQN) == 0
    assert (second / "ansiballz_cache" / (FQN + "-ZIP_DEFLATED-none")).read_bytes() == b"payload of " + FQN.encode() + b"-ZIP_DEFLATED-none"
    # another key (the code changed) finds nothing: Ansible builds
    assert payload_cache.PayloadCache(str(store), "k2", str(tmp_path / "run3")).restore(FQN) == 0


def test_old_stores_are_pruned_to_the_newest_few(tmp_path):
    store = tmp_path / "store"
    run = tmp_path / "run"
    (run / "ansiballz_cache").mkdir(parents=True)
    (run / "ansiballz_cache" / (FQN + "-ZIP_DEFLATED-none")).write_bytes(b"x")
    for n in range(payload_cache.KEEP_STORES + 3):
        payload_cache.PayloadCache(str(store), "k%02d" % n, str(run)).keep(FQN)
        os.utime(store / ("k%02d" % n), (time.time() + n, time.time() + n))
    kept = sorted(os.listdir(store))
    assert len(kept) == payload_cache.KEEP_STORES and kept[-1] == "k%02d" % (payload_cache.KEEP_STORES + 2)


def test_it_is_off_with_kamal_payload_cache_0():
    assert payload_cache.enabled({}) and not payload_cache.enabled({"KAMAL_PAYLOAD_CACHE": "0"})


class Base(ActionBase):
    def run(self, tmp=None, task_vars=None):
        raise NotImplementedError


class Cached(payload_cache.CachedPayloads, Base):
    pass


def test_a_cache_that_fails_costs_a_build_never_the_run():
    action = Cached.__new__(Cached)
    with mock.patch.object(payload_cache, "for_run", side_effect=OSError("read-only home")), \
            mock.patch.object(ActionBase, "_configure_module", return_value=("built", "/usr/bin/python3")) as build:
        assert action._configure_module("kamal.deploy.kamal_app", {}, {}) == ("built", "/usr/bin/python3")
    assert build.call_count == 1


def test_other_collections_modules_are_left_to_ansible():
    action = Cached.__new__(Cached)
    with mock.patch.object(payload_cache, "for_run") as for_run, \
            mock.patch.object(ActionBase, "_configure_module", return_value=("built", "sh")):
        action._configure_module("ansible.builtin.ping", {}, {})
    assert for_run.call_count == 0
