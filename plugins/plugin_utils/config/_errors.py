# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception every problem with a deploy.yml becomes."""

from __future__ import annotations

from ansible.errors import AnsibleError


class KamalConfigError(AnsibleError):
    """A deploy.yml that Kamal would not run (or that we refuse to run).

    ``kamal_message`` is the message as Kamal words it, key path first (``servers/web: ...``), so
    tests can hold it against the real ``kamal``; ``str()`` adds the file (and the line when known)
    and, for checks Kamal lacks, a hint.
    """

    def __init__(self, kamal_message, file=None, line=None, hint=None, key_path=None):
        self.kamal_message = kamal_message
        self.file = file
        self.line = line
        self.hint = hint
        self.key_path = key_path
        where = ""
        if file:
            where = "%s:%s: " % (file, line) if line else "%s: " % file
        text = where + kamal_message
        if hint:
            text += " (%s)" % hint
        super().__init__(text)
