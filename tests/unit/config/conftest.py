import os
import textwrap

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import load_config

BASE = """\
service: app
image: dhh/app
servers: [1.1.1.1]
registry: {username: u, password: p}
builder: {arch: amd64}
"""


@pytest.fixture
def project(tmp_path):
    """Write config/deploy*.yml files into a fresh project dir; returns a loader bound to it."""

    class Project:
        root = str(tmp_path)
        config_file = os.path.join(str(tmp_path), "config", "deploy.yml")

        def write(self, text, destination=None, dedent=True):
            os.makedirs(os.path.dirname(self.config_file), exist_ok=True)
            name = "deploy.%s.yml" % destination if destination else "deploy.yml"
            path = os.path.join(self.root, "config", name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(textwrap.dedent(text) if dedent else text)
            return path

        def load(self, text=None, destination=None, version="v1", environ=None, **kwargs):
            if text is not None:
                self.write(text)
            return load_config(self.config_file, destination=destination, version=version,
                               environ=environ or {}, project_dir=self.root, **kwargs)

    return Project()


@pytest.fixture
def base():
    return BASE
