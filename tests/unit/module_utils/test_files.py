"""write_atomic: a file written whole, its directories made on the way, by several threads at once."""
import os

from ansible_collections.kamal.deploy.plugins.module_utils import _files


def test_a_directory_another_thread_makes_first_is_no_error(tmp_path, monkeypatch):
    # Two roles booting in threads on one host (boot.parallel_roles) both write an env file in .../env/roles, which
    # does not exist yet: the other thread makes it just before this one does.
    real_makedirs = os.makedirs

    def raced(name, mode=0o777, exist_ok=False):
        real_makedirs(name, mode, exist_ok=True)  # the other thread
        return real_makedirs(name, mode, exist_ok=exist_ok)

    monkeypatch.setattr(_files.os, "makedirs", raced)
    target = tmp_path / "env" / "roles" / "web.env"
    _files.write_atomic(str(target), "A=1\n", mode=0o600)
    assert target.read_text() == "A=1\n" and oct(os.stat(target).st_mode & 0o777) == "0o600"
