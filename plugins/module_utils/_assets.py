# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's asset bridging (``asset_path``) for a role behind the proxy, on one server.

A Rails app's fingerprinted assets change with every version. While the proxy switches, and after, a page
of either version may ask any server for its assets, so each version's container mounts a directory holding
both versions' files:

- ``.kamal/apps/<svc[-dest]>/assets/extracted/<role>-<version>``: the version's ``asset_path``, copied out of its
  image (a created, never started container, as Kamal's ``docker container cp -L``);
- ``.kamal/apps/<svc[-dest]>/assets/volumes/<role>-<version>``: what the container mounts at ``asset_path``: its
  own files, then the previous version's added (never overwriting, ``cp -rnT``); the previous version's volume,
  still mounted by the container serving now, gets the new files the same way;
- once the previous container stopped, the other versions' directories of the role go.

The same names and paths as Kamal's, so either tool can take the server over. Stdlib and the Docker SDK only;
the manager (``_app.App``) passes itself in to record each operation (``actions``, check mode)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os
import posixpath
import shutil
import stat
import tempfile

from ansible_collections.kamal.deploy.plugins.module_utils import _docker
from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming


class AssetError(_docker.DockerError):
    """Assets that cannot be bridged; the message names the image, the path and the fix."""


def extracted_directory(spec, version=None):
    return os.path.join(spec.home, naming.asset_extracted_directory(spec.service, spec.role, version or spec.version,
                                                                    spec.destination))


def volume_directory(spec, version=None):
    return os.path.join(spec.home, naming.asset_volume_directory(spec.service, spec.role, version or spec.version,
                                                                 spec.destination))


def volume(spec, version=None):
    """The ``--volume`` of the role's container: ``<host dir>:<asset_path>[:<options>]``."""
    value = "%s:%s" % (volume_directory(spec, version), spec.asset_path)
    return value + ":" + spec.asset_path_options if spec.asset_path_options else value


# Copying ------------------------------------------------------------------------------------------------------

def copy_missing(source, target):
    """``cp -rnT source target``: every file of ``source`` that ``target`` does not have yet, directories made as
    needed, symbolic links copied as links; nothing in ``target`` is overwritten. Returns the files copied."""
    copied = 0
    for root, dirs, files in os.walk(source):
        relative = os.path.relpath(root, source)
        here = target if relative == "." else os.path.join(target, relative)
        if not os.path.isdir(here):
            os.makedirs(here)
        for name in sorted(dirs):
            src = os.path.join(root, name)
            if os.path.islink(src) and not os.path.lexists(os.path.join(here, name)):
                os.symlink(os.readlink(src), os.path.join(here, name))
                copied += 1
        for name in sorted(files):
            src, dst = os.path.join(root, name), os.path.join(here, name)
            if os.path.lexists(dst):
                continue
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst)
            copied += 1
    return copied


def _inside(root, path):
    root = os.path.realpath(root)
    return os.path.realpath(path) == root or os.path.realpath(path).startswith(root + os.sep)


def extract_tar(fileobj, target):
    """The members of Docker's archive of one directory, without that directory's own name, into ``target``.

    Regular files, directories and symbolic links only; a member that would land outside ``target`` (an absolute
    name, ``..``, or a path through a link) is refused."""
    import tarfile  # only a boot that extracts assets needs it

    with tarfile.open(fileobj=fileobj, mode="r|") as archive:
        for member in archive:
            parts = [p for p in posixpath.normpath(member.name).split("/") if p not in ("", ".")]
            if member.name.startswith("/") or ".." in parts:
                raise AssetError("the image's asset archive has a member outside its directory: %s" % member.name)
            relative = parts[1:]  # Docker names each member after the directory it archived
            if not relative:
                continue
            path = os.path.join(target, *relative)
            if not _inside(target, os.path.dirname(path)):
                raise AssetError("the image's asset archive writes through a link: %s" % member.name)
            if member.isdir():
                if not os.path.isdir(path):
                    os.makedirs(path)
                os.chmod(path, (member.mode & 0o777) | stat.S_IRWXU)
            elif member.issym():
                if os.path.lexists(path):
                    os.unlink(path)
                os.symlink(member.linkname, path)
            elif member.isfile():
                if not os.path.isdir(os.path.dirname(path)):
                    os.makedirs(os.path.dirname(path))
                source = archive.extractfile(member)
                with open(path, "wb") as handle:
                    shutil.copyfileobj(source, handle)
                os.chmod(path, (member.mode & 0o777) | stat.S_IRUSR)
            # hard links, devices and fifos have no place among assets: skipped


# The bridge ---------------------------------------------------------------------------------------------------

class AssetBridge:
    """The asset steps of one role's boot on one server. ``manager``: the ``_app.App`` whose operations these
    are (its client, spec, check mode and ``_do``)."""

    def __init__(self, manager):
        self.manager = manager
        self.spec = manager.spec

    def prepare(self, old_version=None):
        """Extract the version's assets (once: a complete extraction is kept) and combine them with
        ``old_version``'s, both ways. Returns what was done."""
        spec = self.spec
        extracted = extracted_directory(spec)
        info = {"extracted": extracted, "volume": volume_directory(spec), "old_version": old_version or None}
        if not os.path.isdir(extracted):
            self.extract(extracted)
            info["extracted_now"] = True
        self._sync(extracted, volume_directory(spec), required=True)
        if old_version and old_version != spec.version:
            self._sync(extracted, volume_directory(spec, old_version))
            self._sync(extracted_directory(spec, old_version), volume_directory(spec))
        return info

    def extract(self, target):
        """``docker container create`` the image, copy ``asset_path`` out of it (following a link there, as
        ``docker cp -L``), remove the container. The directory appears complete or not at all."""
        spec, manager = self.spec, self.manager
        image, name = spec.image(), spec.prefix + "-assets"
        manager._do("extract %s:%s to %s" % (image, spec.asset_path, target))  # pylint: disable=protected-access
        if manager.check_mode:
            return
        client = manager.client
        leftover = _docker.find_container(client, name)
        if leftover is not None:
            _docker.call("removing the leftover %s" % name, leftover.remove, force=True)
        container = _docker.call("creating %s from %s" % (name, image), client.containers.create, image, name=name)
        try:
            path = spec.asset_path.rstrip("/") or "/"
            stream, found = self._archive(container, path)
            link = (found or {}).get("linkTarget")
            if link:
                path = posixpath.normpath(link if link.startswith("/") else posixpath.join(posixpath.dirname(path), link))
                stream, found = self._archive(container, path)
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            work = tempfile.mkdtemp(prefix=".%s." % os.path.basename(target), dir=parent)
            try:
                with tempfile.TemporaryFile() as spool:
                    for chunk in stream:
                        spool.write(chunk)
                    spool.seek(0)
                    extract_tar(spool, work)
                os.chmod(work, 0o755)
                if os.path.isdir(target):
                    shutil.rmtree(target)
                os.rename(work, target)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        finally:
            try:
                container.remove(force=True)
            except Exception:  # pylint: disable=broad-except
                pass

    def _archive(self, container, path):
        try:
            return container.get_archive(path)
        except Exception as exc:  # pylint: disable=broad-except
            if _docker.docker_errors is not None and isinstance(exc, _docker.docker_errors.NotFound):
                raise AssetError("asset_path %s is not in the image %s: set asset_path to the directory the image "
                                 "serves its assets from (Rails: /rails/public/assets)" % (path, self.spec.image()))
            raise AssetError(_docker.error_message(exc, "copying %s out of %s" % (path, self.spec.image())))

    def _sync(self, source, target, required=False):
        """``cp -rnT source target``; a missing side is fine but for the version's own (``required``)."""
        manager = self.manager
        if manager.check_mode:
            if required or os.path.isdir(target):
                manager.actions.append("add the missing files of %s to %s" % (source, target))
            return
        if not os.path.isdir(source) or (not required and not os.path.isdir(target)):
            return
        if not os.path.isdir(target):
            os.makedirs(target, 0o755)
        copied = copy_missing(source, target)
        if copied:
            manager.actions.append("add %d file(s) of %s to %s" % (copied, source, target))
            manager.changed = True

    def clean_up(self, mounted=()):
        """Kamal's clean-up once the previous container stopped: the role's directories of other versions go, but
        any a running container still mounts (``mounted``: host paths), so another role whose name starts like
        this one's keeps its own."""
        spec = self.spec
        keep = "%s-%s" % (spec.role, spec.version)
        mounted = set(os.path.realpath(p) for p in mounted)
        volumes = os.path.dirname(volume_directory(spec))
        for directory in (os.path.dirname(extracted_directory(spec)), volumes):
            if not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                if not name.startswith(spec.role + "-") or name == keep:
                    continue
                if os.path.realpath(os.path.join(volumes, name)) in mounted:
                    continue
                self.manager._do("rm -rf %s" % os.path.join(directory, name),  # pylint: disable=protected-access
                                 shutil.rmtree, os.path.join(directory, name), True)


def mounted_paths(containers):
    """Host paths bind-mounted into ``containers`` (inspected)."""
    return [m.get("Source") for c in containers for m in (c.attrs.get("Mounts") or []) if m.get("Source")]
