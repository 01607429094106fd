"""Property: whatever a deploy.yml holds, loading it either works or raises KamalConfigError, never a Python error.

Valid configs from the corpus are mutated (keys deleted, renamed and inserted, values replaced by YAML values of
other types, values nested) and, separately, their text is cut and spliced with YAML and ERB fragments. The loader,
validator and model must turn each into a config or one KamalConfigError; the config must then serve what the
inventory plugin asks of it. Every crash this found has a row in test_bad_inputs.py.
"""
import copy
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError, load_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config import _validate

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "configs")
# Valid configs of the corpus that load without a destination or ERB, covering roles, tags, accessories, proxy,
# builder, ssh, env and aliases.
BASES = ["01_minimal.yml", "02_list_with_tags.yml", "03_roles.yml", "06_accessories.yml", "09_proxy_hosts_custom_certs.yml",
         "10_proxy_roles.yml", "11_proxy_run.yml", "12_local_registry.yml", "14_ssh.yml", "16_builder_full.yml",
         "18_logging_volumes_labels.yml", "19_boot_percent.yml", "20_timeouts_misc.yml", "25_accessory_tags.yml",
         "26_accessory_paths_hash.yml", "27_env_aliases.yml", "29_flat_env_and_numbers.yml"]
# Fuzzing budget: each example loads a config (a few ms); this keeps the module under 20 s.
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _base(name):
    with open(os.path.join(CORPUS, name), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data.pop("x-oracle", None)
    return data


CONFIGS = [_base(name) for name in BASES]
TEXTS = [yaml.safe_dump(config, sort_keys=False) for config in CONFIGS]
# Keys Kamal knows, so mutations also reach the deeper checks, and names with a meaning of their own.
SCHEMAS = (_validate.TOP_LEVEL, _validate.ROLE, _validate.ACCESSORY, _validate.BOOT, _validate.BUILDER, _validate.PROXY,
           _validate.PROXY_RUN, _validate.SSH, _validate.SSHKIT, _validate.OWN_SETTINGS)
KNOWN_KEYS = sorted({str(key) for schema in SCHEMAS for key in schema} | {
    "x-kamal-deploy", "clear", "secret", "tags", "username", "password", "all", "web", "kamal_x", "accessory_db",
    "certificate_pem", "private_key_pem", "local", "remote", "mode", "<<"})
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-5, max_value=10**6) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=8)
           | st.sampled_from(["", "web", "all", "1.1.1.1", "localhost:5555", "ssh", "registry", "25%", "0%", "always",
                              "on-failure:x", "a.com,b.com", "ssh://h", "tcp://h", "amd64", "docker", "gha", "s3", ":verbose",
                              "/abs", "rel/path", "a:b:c", "NAME:KEY", "{{ x }}", "$(echo)", "2.12.0.rc1"]))
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=6) | st.integers(min_value=-2, max_value=3) | st.none() | st.booleans()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)


OPS = ["delete", "replace", "insert", "rename", "nest"]


def _containers(node, path=()):
    """Every (path, dict or list) in the config, the root included."""
    found = [(path, node)]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, (dict, list)):
            found += _containers(value, path + (key,))
    return found


def _mutate(data, draw):
    """One random edit of a dict/list somewhere in ``data``, in place."""
    _path, node = draw(st.sampled_from(_containers(data)))
    op = draw(st.sampled_from(OPS))
    if isinstance(node, dict):
        keys = list(node)
        if op == "insert" or not keys:
            node[draw(KEYS)] = draw(VALUES)
            return
        key = draw(st.sampled_from(keys))
        if op == "delete":
            del node[key]
        elif op == "replace":
            node[key] = draw(VALUES)
        elif op == "rename":
            node[draw(KEYS)] = node.pop(key)
        else:
            node[key] = draw(st.sampled_from([[node[key]], {draw(KEYS): node[key]}]))
    else:
        if op == "insert" or not node:
            node.insert(draw(st.integers(min_value=0, max_value=len(node))), draw(VALUES))
            return
        index = draw(st.integers(min_value=0, max_value=len(node) - 1))
        if op == "delete":
            del node[index]
        elif op in ("replace", "rename"):
            node[index] = draw(VALUES)
        else:
            node[index] = draw(st.sampled_from([[node[index]], {draw(KEYS): node[index]}]))


def _load_or_refuse(root, content):
    """Load ``content`` as root/config/deploy.yml: the config, or None when it was refused with a KamalConfigError."""
    config_file = os.path.join(root, "config", "deploy.yml")
    os.makedirs(os.path.dirname(config_file), exist_ok=True)
    with open(config_file, "wb") as handle:
        handle.write(content if isinstance(content, bytes) else content.encode("utf-8"))
    try:
        config = load_config(config_file, version="v1", environ={}, project_dir=root)
    except KamalConfigError as error:
        assert str(error) and error.kamal_message
        return None
    # What the inventory plugin asks of a loaded config.
    assert isinstance(config.to_dict(), dict)
    assert all(isinstance(name, str) and name for name in config.secret_names()), config.secret_names()
    for group, hosts in config.inventory_groups().items():
        assert isinstance(group, str) and group and all(isinstance(host, str) and host for host in hosts), (group, hosts)
    for host in config.all_hosts:
        config.host_vars(host)
    return config


@pytest.mark.parametrize("text", TEXTS, ids=BASES)
def test_every_base_config_loads(tmp_path, text):
    """The fuzz mutates valid configs: a refused base would make its mutants prove nothing."""
    assert _load_or_refuse(str(tmp_path), text) is not None


@FUZZ
@given(data=st.data(), base=st.sampled_from(range(len(CONFIGS))))
def test_mutated_configs_load_or_fail_with_a_config_error(tmp_path_factory, data, base):
    config = copy.deepcopy(CONFIGS[base])
    for _edit in range(data.draw(st.integers(min_value=1, max_value=4))):
        _mutate(config, data.draw)
    _load_or_refuse(str(tmp_path_factory.mktemp("fuzz")), yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


FRAGMENTS = st.sampled_from(["&a ", "*a", "<<: *a\n", "- ", ": ", "\n  ", "\t", "[", "]", "{", "}", "---\n", "...\n", "#",
                             "'", '"', "<%= ENV['X'] %>", "<% x %>", "<%", "%>", "!!binary ", "!!set ", "!!python/name:os.system ",
                             "? ", "|\n", "\x00", "\ufeff", "~"])


@FUZZ
@given(base=st.sampled_from(range(len(TEXTS))), edits=st.lists(
    st.tuples(st.floats(min_value=0, max_value=1), st.integers(min_value=0, max_value=20), FRAGMENTS | st.text(max_size=4) | st.binary(max_size=3)),
    min_size=1, max_size=4))
def test_spliced_text_loads_or_fails_with_a_config_error(tmp_path_factory, base, edits):
    content = TEXTS[base].encode("utf-8")
    for where, cut, fragment in edits:
        at = int(where * len(content))
        content = content[:at] + (fragment if isinstance(fragment, bytes) else fragment.encode("utf-8")) + content[at + cut:]
    _load_or_refuse(str(tmp_path_factory.mktemp("fuzz")), content)
