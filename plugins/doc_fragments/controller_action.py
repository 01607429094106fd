# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes of an action that runs on the controller only and changes nothing."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Returns the same in check mode; it changes nothing either way.
    support: full
  diff_mode:
    description: Has no diff to show.
    support: none
  action:
    description: Runs on the controller as an action plugin.
    support: full
  platform:
    description: Runs on the POSIX controller.
    support: full
    platforms: posix
"""
