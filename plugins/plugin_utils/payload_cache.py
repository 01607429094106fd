# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our modules' payloads (AnsiballZ), kept from one run to the next.

Ansible builds a module's payload (the module, the module_utils it imports and Ansible's own, zipped) once per
run, in the run's own temporary directory, and deletes it when the run ends. For kamal_app that build takes about
0.2 s of every run and for kamal_lock 0.16 s, all of it before the first byte goes to a server (bench/overhead.py).
This keeps the files Ansible built in a store under ANSIBLE_HOME, keyed by what they are made of, and puts them
back where Ansible looks for them before it builds:

- the key: Ansible's version and install path, and the path, size and mtime of every file under this collection's
  ``plugins/modules`` and ``plugins/module_utils`` and under Ansible's ``module_utils``. Any edit, upgrade or
  other install gives another key, so a payload is never reused for code it was not built from;
- Ansible names, writes and reads the files itself; we only copy them whole (atomically, by rename), never read
  them. If a later Ansible keeps its payloads elsewhere or names them otherwise, nothing is found, nothing is
  copied, and Ansible builds as it always did.

``KAMAL_PAYLOAD_CACHE=0`` turns it off. Controller only; every failure here is ignored (the cost is a build)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

# Ansible's per-run payload directory, inside its per-run local temporary directory (DEFAULT_LOCAL_TMP).
RUN_CACHE_DIR = "ansiballz_cache"
# How many stores (keys) to keep: two checkouts or installs used in turn keep both.
KEEP_STORES = 10
COLLECTION_PREFIX = "ansible_collections.kamal.deploy.plugins.modules."
_PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def enabled(environ=None):
    return (environ if environ is not None else os.environ).get("KAMAL_PAYLOAD_CACHE", "1") not in ("0", "false", "no")


def _tree_stats(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                st = os.stat(path)
                yield "%s %d %d\n" % (path, st.st_size, st.st_mtime_ns)


def signature(ansible_version, ansible_dir, plugins_dir=_PLUGINS):
    """The store's key: what the payloads of this collection's modules are built from."""
    digest = hashlib.sha256(("%s %s\n" % (ansible_version, ansible_dir)).encode("utf-8"))
    for root in (os.path.join(plugins_dir, "modules"), os.path.join(plugins_dir, "module_utils"),
                 os.path.join(ansible_dir, "module_utils")):
        for line in _tree_stats(root):
            digest.update(line.encode("utf-8"))
    return digest.hexdigest()[:32]


def _payload_files(folder, module_fqn):
    """The payload files Ansible wrote for ``module_fqn`` (``<fqn>-<compression>-<extensions>``), not its locks
    or half-written files."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [name for name in names
            if name.startswith(module_fqn + "-") and not name.endswith((".lock", "-part")) and not name.startswith(".")]


def _copy_atomic(source, folder, name):
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % name)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class PayloadCache:
    """The store for one key: ``restore`` before Ansible builds a module, ``keep`` after."""

    def __init__(self, store_root, key, run_tmp):
        self.store_root = store_root
        self.store = os.path.join(store_root, key)
        self.run_cache = os.path.join(run_tmp, RUN_CACHE_DIR)

    def restore(self, module_fqn):
        """Copy the stored payloads of ``module_fqn`` into this run's payload directory (those not there yet).
        The number of files copied."""
        copied = 0
        for name in _payload_files(self.store, module_fqn):
            if not os.path.exists(os.path.join(self.run_cache, name)):
                os.makedirs(self.run_cache, exist_ok=True)
                _copy_atomic(os.path.join(self.store, name), self.run_cache, name)
                copied += 1
        return copied

    def keep(self, module_fqn):
        """Copy the payloads Ansible built in this run for ``module_fqn`` into the store (those not kept yet).
        The number of files copied."""
        copied = 0
        for name in _payload_files(self.run_cache, module_fqn):
            if not os.path.exists(os.path.join(self.store, name)):
                if not os.path.isdir(self.store):
                    os.makedirs(self.store, mode=0o700, exist_ok=True)
                    self._prune()
                _copy_atomic(os.path.join(self.run_cache, name), self.store, name)
                copied += 1
        return copied

    def _prune(self):
        """Keep the newest KEEP_STORES stores: the others were built from code no longer there (or not in use)."""
        stores = [os.path.join(self.store_root, name) for name in os.listdir(self.store_root)]
        stores = sorted((path for path in stores if os.path.isdir(path) and path != self.store),
                        key=os.path.getmtime, reverse=True)
        for path in stores[KEEP_STORES - 1:]:
            shutil.rmtree(path, ignore_errors=True)


def for_run():
    """This run's PayloadCache (Ansible's settings read in the worker), or None when it is turned off."""
    if not enabled():
        return None
    import ansible  # pylint: disable=import-outside-toplevel
    from ansible import constants as C  # pylint: disable=import-outside-toplevel
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel
    home = os.path.expanduser(C.config.get_config_value("ANSIBLE_HOME"))
    ansible_dir = os.path.dirname(os.path.abspath(ansible.__file__))
    return PayloadCache(os.path.join(home, "kamal.deploy", "payloads"), signature(__version__, ansible_dir),
                        C.DEFAULT_LOCAL_TMP)  # pylint: disable=no-member


class CachedPayloads:
    """Mixin for action plugins that run one of this collection's modules: the module's payload comes from the
    store when it was built before from the same code, and goes into it when Ansible builds it."""

    def _configure_module(self, module_name, module_args, task_vars):
        cache, fqn = None, None
        short = module_name.rsplit(".", 1)[-1]
        if module_name.startswith("kamal.deploy."):
            try:
                cache, fqn = for_run(), COLLECTION_PREFIX + short
                if cache:
                    cache.restore(fqn)
            except Exception:  # pylint: disable=broad-except
                cache = None  # a cache that fails costs a build, never the run
        built = super()._configure_module(module_name, module_args, task_vars)
        if cache:
            try:
                cache.keep(fqn)
            except Exception:  # pylint: disable=broad-except
                pass
        return built
