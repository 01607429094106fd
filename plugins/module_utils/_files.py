# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the server, written the one way every module needs: atomically, with an exact mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os
import tempfile


def write_atomic(path, content, mode=0o644, dir_mode=0o755, tmp_dir=None):
    """Write ``content`` (str or bytes) to ``path`` via a temp file + rename, so a reader never sees half a
    file (env files with secrets, Caddy's config, dnsmasq's hosts). Parents are created with ``dir_mode``.
    ``tmp_dir`` holds the temp file when the target's own directory is watched (dnsmasq reloads on any
    new file there); it must be on the same filesystem."""
    directory = os.path.dirname(path)
    # exist_ok: a host's roles boot in threads (boot.parallel_roles), each writing its env file in the same new directory.
    os.makedirs(directory, dir_mode, exist_ok=True)
    if tmp_dir:
        os.makedirs(tmp_dir, dir_mode, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=tmp_dir or directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
