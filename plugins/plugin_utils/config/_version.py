# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app version Kamal deploys by default: the git commit of the app repository."""

from __future__ import annotations

import subprocess

from ansible_collections.kamal.deploy.plugins.module_utils._naming import random_hex
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._errors import KamalConfigError


def _git(project_dir, *args):
    try:
        result = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise KamalConfigError("Can't use commit hash as version: git is not installed", hint="pass a version (-e version=...)") from None
    except subprocess.TimeoutExpired:
        raise KamalConfigError("Can't use commit hash as version: `git %s` timed out in %s" % (" ".join(args), project_dir)) from None
    return result


def git_version(project_dir, build_from_clone=True, suffix=None):
    """Full SHA of HEAD; ``<sha>_uncommitted_<16 hex>`` when the tree is dirty and the build uses it.

    Like Kamal, a dirty tree only changes the version when the build does not come from a clean git
    clone (that is, when ``builder.context`` is set).
    """
    head = _git(project_dir, "rev-parse", "HEAD")
    if head.returncode != 0:
        raise KamalConfigError("Can't use commit hash as version, no git repository found in %s" % project_dir,
                               hint="commit in a git repository, or pass a version (-e version=...)")
    sha = head.stdout.strip()
    if not build_from_clone:
        status = _git(project_dir, "status", "--porcelain")
        if status.stdout.strip():
            sha += "_uncommitted_%s" % (suffix if suffix is not None else random_hex(8))
    return sha
