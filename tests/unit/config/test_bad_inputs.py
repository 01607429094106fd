"""Every kind of bad or hostile deploy.yml gives one clear KamalConfigError: the file, the line where YAML has one,
the key path, what is wrong and the fix. One table; each row is the whole message a user reads."""
import inspect
import os
import resource
import sys
import time

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError, load_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config import _loader
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._loader import MAX_YAML_DEPTH, MAX_YAML_VALUES

# BASE of conftest.py, with servers last so a row can replace them.
HEAD = """\
service: app
image: dhh/app
registry: {username: u, password: p}
builder: {arch: amd64}
"""
BASE = HEAD + "servers: [1.1.1.1]\n"
DIRECTORY = object()  # the config path is a directory


def _bomb(merge=False):
    """Nine levels of nine aliases under x- keys: 9**9 values once expanded."""
    if merge:
        lines = ["x-a: &a {%s}" % ", ".join("k%d: v" % i for i in range(9))]
        level = "x-%s: &%s {<<: [%s]}"
    else:
        lines = ["x-a: &a [%s]" % ", ".join(["v"] * 9)]
        level = "x-%s: &%s [%s]"
    names = "abcdefghi"
    for previous, name in zip(names, names[1:]):
        lines.append(level % (name, name, ", ".join(["*" + previous] * 9)))
    return "\n".join(lines) + "\n"


def _nested(levels):
    return "x-deep: " + "[" * levels + "]" * levels + "\n"


def _line(text, needle):
    return text.splitlines().index(next(line for line in text.splitlines() if needle in line)) + 1


BOMB, MERGE_BOMB = BASE + _bomb(), BASE + _bomb(merge=True)
ALIASES = "YAML aliases expand to more than %d values (alias *%%s); a deploy.yml needs far fewer: check the anchors" % MAX_YAML_VALUES
DEEP = "YAML nests deeper than %d levels; a deploy.yml needs a few: check the brackets and indentation" % MAX_YAML_DEPTH
EMPTY = ("config/deploy.yml: is empty (or only comments): a Kamal config needs at least service, image and servers (and "
         "registry and builder) (`kamal init` writes a starting one)")
NOT_A_HASH = "config/deploy.yml: should be a hash of settings (service: ..., servers: ...), not "
MOVE = "is kamal.deploy's own setting, which Kamal rejects; move it under x-kamal-deploy: (x-kamal-deploy: {%s})"

# (deploy.yml, deploy.staging.yml or None, the message), id
CASES = [
    # Hostile YAML: bounded before anything is built from it.
    (BOMB, None, "config/deploy.yml:%d: " % _line(BOMB, "x-f:") + ALIASES % "e", "alias-bomb"),
    (MERGE_BOMB, None, "config/deploy.yml:%d: " % _line(MERGE_BOMB, "x-e:") + ALIASES % "d", "merge-key-bomb"),
    (BASE + "x-a: &a [1, *a]\n", None,
     "config/deploy.yml:6: YAML alias *a is inside the value it names (&a, line 6), so that value would contain itself "
     "(a deploy.yml cannot be recursive: use the alias after the anchored value ends)", "self-referencing-alias"),
    (BASE + "x-a: &a\n  b: {c: *a}\n", None,
     "config/deploy.yml:7: YAML alias *a is inside the value it names (&a, line 6), so that value would contain itself "
     "(a deploy.yml cannot be recursive: use the alias after the anchored value ends)", "mapping-containing-its-anchor"),
    (BASE + "x-a: &a {<<: *a}\n", None,
     "config/deploy.yml:6: YAML alias *a is inside the value it names (&a, line 6), so that value would contain itself "
     "(a deploy.yml cannot be recursive: use the alias after the anchored value ends)", "merge-key-of-itself"),
    (BASE + _nested(MAX_YAML_DEPTH + 10), None, "config/deploy.yml:6: " + DEEP, "deep-nesting"),
    (BASE + _nested(20000), None, "config/deploy.yml:6: " + DEEP, "nesting-past-python-recursion"),
    (BASE + "x-a: &a " + "[" * 40 + "1" + "]" * 40 + "\nx-b: " + "[" * 40 + "*a" + "]" * 40 + "\n", None,
     "config/deploy.yml:7: YAML nests deeper than %d levels (alias *a); a deploy.yml needs a few: check the anchors" % MAX_YAML_DEPTH,
     "alias-nesting-too-deep"),
    (BASE + "x-a: &a 1\nx-b: &a 2\n", None,
     "config/deploy.yml:7: YAML anchor &a is defined twice (first on line 6) (give each anchor its own name)", "duplicate-anchor"),
    # Odd files.
    ("", None, EMPTY, "empty-file"),
    ("# service: app\n\n# servers: [1.1.1.1]\n", None, EMPTY, "only-comments"),
    ("hello\n", None, NOT_A_HASH + "a string 'hello'", "scalar-document"),
    ("- service: app\n- servers: [1.1.1.1]\n", None, NOT_A_HASH + "a list", "list-document"),
    ("42\n", None, NOT_A_HASH + "the value 42", "number-document"),
    (DIRECTORY, None, "config/deploy.yml: is a directory, not a deploy.yml (give the file itself)", "directory"),
    (BASE.encode() + b"x-logo: \x89PNG\r\n", None,
     "config/deploy.yml:6: is not UTF-8 text (byte 0x89) (is this a binary file? save the deploy.yml as UTF-8)", "not-utf8"),
    (BASE + "x-z: \x00\x01\n", None,
     "config/deploy.yml:6: the character '\\x00' cannot be in a YAML file (is this a binary file? a deploy.yml is UTF-8 text)",
     "control-characters"),
    (BASE + "---\nservers: [2.2.2.2]\n", None,
     "config/deploy.yml:6: a second YAML document starts here (---): a deploy.yml is one document (remove the ---, or move "
     "per-environment settings to config/deploy.<destination>.yml)", "multi-document"),
    (BASE, "# nothing yet\n",
     "config/deploy.staging.yml: is empty (or only comments): Kamal cannot load an empty destination file (put the "
     "destination's settings in it, or `{}` if it changes nothing)", "empty-destination-file"),
    # Names: roles and accessories become Ansible groups, hosts become Ansible hosts.
    (HEAD + "servers: {1: [h1]}\n", None, 'config/deploy.yml: servers/1: the role name is the number 1, not a string (quote it ("1": ...))',
     "integer-role-name"),
    (HEAD + "servers: {~: [h1]}\n", None, "config/deploy.yml: servers/null: the role name is null, not a string (name the role)",
     "null-role-name"),
    (HEAD + "servers: {web: [h1], true: [h2]}\n", None,
     'config/deploy.yml: servers/true: the role name is the boolean true, not a string (quote it ("true": ...))', "boolean-role-name"),
    (HEAD + "servers: {all: [h1]}\n", None,
     "config/deploy.yml: servers/all: the role name \"all\" is Ansible's group of every host; rename the role", "role-all"),
    (HEAD + "servers: {web: [h1], ungrouped: [h2]}\n", None,
     "config/deploy.yml: servers/ungrouped: the role name \"ungrouped\" is Ansible's group of hosts in no other group; rename the role",
     "role-ungrouped"),
    (HEAD + "servers: {web: [h1], kamal_proxy: [h2]}\n", None,
     "config/deploy.yml: servers/kamal_proxy: the role name \"kamal_proxy\" starts with kamal_, which names the inventory's own "
     "groups (kamal_proxy, kamal_primary, kamal_app_hosts, ...); rename the role", "role-kamal-prefix"),
    (HEAD + "servers: {web: [h1], accessory_db: [h2]}\n", None,
     "config/deploy.yml: servers/accessory_db: the role name \"accessory_db\" starts with accessory_, which names the inventory "
     "group of each accessory (accessory_<name>); rename the role", "role-accessory-prefix"),
    (HEAD + "servers: {web: [h1], '': [h2]}\n", None, "config/deploy.yml: servers/: the role name is empty (name the role)",
     "empty-role-name"),
    (BASE + "accessories: {1: {image: redis, host: h1}}\n", None,
     'config/deploy.yml: accessories/1: the accessory name is the number 1, not a string (quote it ("1": ...))',
     "integer-accessory-name"),
    (BASE + "accessories: {all: {image: redis, host: h1}}\n", None,
     'config/deploy.yml: accessories/all: the accessory name "all" means every accessory (kamal accessory boot all, and '
     "-e accessory=all in the accessory playbooks); rename the accessory", "accessory-all"),
    (HEAD + "servers: [h1, [h2]]\n", None, "config/deploy.yml: servers/1: should be a string or a hash", "list-as-host"),
    (HEAD + "servers: {web: {hosts: [h1, ~]}}\n", None, "config/deploy.yml: servers/web/hosts/1: should be a string or a hash",
     "null-host"),
    (HEAD + "servers: [{~: canary}]\n", None,
     "config/deploy.yml: servers/0: the host name is null (write the host's name or address)", "null-host-with-tag"),
    (HEAD + "servers: {web: ['', h2]}\n", None,
     "config/deploy.yml: servers/web/0: the host name is empty (write the host's name or address)", "empty-host"),
    # Kamal's own rejections, with Kamal's messages (and our hint for a misspelling).
    (BASE.replace("service: app\n", ""), None, "config/deploy.yml: Missing required configuration for service", "no-service"),
    (BASE.replace("service:", "sevrice:"), None, "config/deploy.yml: unknown key: sevrice (did you mean service?)", "misspelt-key"),
    (HEAD + "servers: {web: {hots: [h1]}}\n", None,
     "config/deploy.yml: servers/web: unknown key: hots (did you mean hosts?)", "unknown-role-key"),
    (HEAD, None, "config/deploy.yml: No servers or accessories specified", "no-servers"),
    (BASE + "env: {secret: DB_PASSWORD}\n", None, "config/deploy.yml: env/secret: should be an array", "env-secret-string"),
    (BASE + "accessories: {db: {image: mysql, role: db}}\n", None, "config/deploy.yml: accessories/db: unknown role db",
     "accessory-unknown-role"),
    # Found by test_fuzz.py: each passed validation and then crashed, or reached Ansible as nonsense.
    (BASE + "proxy: {host: a.com, ssl: {certificate_pem: [CERT_PEM], private_key_pem: KEY_PEM}}\n", None,
     "config/deploy.yml: proxy/ssl/certificate_pem: should be the name of a secret (in .kamal/secrets), got [CERT_PEM]",
     "fuzz-ssl-certificate-list"),
    (BASE + "proxy: {host: a.com, ssl: {certificate: CERT_PEM}}\n", None,
     "config/deploy.yml: proxy/ssl: unknown key: certificate (did you mean certificate_pem?)", "fuzz-ssl-unknown-key"),
    # x-kamal-deploy: kamal.deploy's own settings.
    (BASE + "image_delivery: ssh\n", None, "config/deploy.yml: image_delivery: " + MOVE % "image_delivery: ssh",
     "top-level-image_delivery"),
    (BASE + "min_uptime: 10\n", None, "config/deploy.yml: min_uptime: " + MOVE % "min_uptime: 10", "top-level-min_uptime"),
    (BASE + "x-kamal-deploy: {image_delivery: x}\n", None,
     "config/deploy.yml: x-kamal-deploy/image_delivery: should be one of registry, ssh, got 'x' (`registry` (Kamal's push and "
     "pull) or `ssh` (the image streamed to each server over SSH, no registry))", "image_delivery-value"),
    (BASE + "x-kamal-deploy: {image_delivery: [ssh]}\n", None,
     "config/deploy.yml: x-kamal-deploy/image_delivery: should be one of registry, ssh, got ['ssh'] (`registry` (Kamal's push "
     "and pull) or `ssh` (the image streamed to each server over SSH, no registry))", "image_delivery-list"),
    (BASE + "x-kamal-deploy: {foo: 1}\n", None, "config/deploy.yml: x-kamal-deploy: unknown key: foo", "own-unknown-key"),
    (BASE + "x-kamal-deploy: {image_delivry: ssh}\n", None,
     "config/deploy.yml: x-kamal-deploy: unknown key: image_delivry (did you mean image_delivery?)", "own-misspelt-key"),
    (BASE + "x-kamal-deploy: ssh\n", None, "config/deploy.yml: x-kamal-deploy: should be a hash", "own-not-a-hash"),
    (BASE + "x-kamal-deploy:\n", None, "config/deploy.yml: x-kamal-deploy: should be a hash", "own-null"),
    (BASE + "x-kamal-deploy: {min_uptime: -1}\n", None,
     "config/deploy.yml: x-kamal-deploy/min_uptime: should be a whole number of seconds, 0 or more, got -1 (seconds, e.g. "
     "min_uptime: 10; 0 checks once at the end of each host's deploy)", "min_uptime-negative"),
    (BASE + "x-kamal-deploy: {min_uptime: 10s}\n", None,
     "config/deploy.yml: x-kamal-deploy/min_uptime: should be a whole number of seconds, 0 or more, got 10s (seconds, e.g. "
     "min_uptime: 10; 0 checks once at the end of each host's deploy)", "min_uptime-string"),
    (BASE + "x-kamal-deploy: {min_uptime: true}\n", None,
     "config/deploy.yml: x-kamal-deploy/min_uptime: should be a whole number of seconds, 0 or more, got true (seconds, e.g. "
     "min_uptime: 10; 0 checks once at the end of each host's deploy)", "min_uptime-boolean"),
    (BASE, "x-kamal-deploy: {image_delivery: scp}\n",
     "config/deploy.staging.yml: x-kamal-deploy/image_delivery: should be one of registry, ssh, got 'scp' (`registry` (Kamal's "
     "push and pull) or `ssh` (the image streamed to each server over SSH, no registry))", "own-setting-in-destination-file"),
]


def _write(project, text, destination=None):
    path = os.path.join(project.root, "config", "deploy.%s.yml" % destination if destination else "deploy.yml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if text is DIRECTORY:
        os.mkdir(path)
    else:
        with open(path, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))


@pytest.mark.parametrize("deploy_yml, staging_yml, message", [case[:3] for case in CASES], ids=[case[3] for case in CASES])
def test_bad_input_gives_one_clear_error(project, deploy_yml, staging_yml, message):
    _write(project, deploy_yml)
    if staging_yml is not None:
        _write(project, staging_yml, "staging")
    started = time.monotonic()
    with pytest.raises(KamalConfigError) as error:
        project.load(destination="staging" if staging_yml is not None else None)
    assert str(error.value).replace(project.root + os.sep, "") == message
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("text", [BOMB, MERGE_BOMB], ids=["aliases", "merge-keys"])
def test_alias_bombs_fail_fast_in_bounded_memory(project, text):
    _write(project, text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.monotonic()
    with pytest.raises(KamalConfigError, match="YAML aliases expand to more than"):
        project.load()
    assert time.monotonic() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_aliases_within_the_bounds_still_work(project):
    # 7 levels of 4 aliases: about 36000 values expanded in all, under MAX_YAML_VALUES; merge keys too.
    names = "abcdefg"
    lines = ["x-a: &a [v, v, v, v]"] + ["x-%s: &%s [%s]" % (n, n, ", ".join(["*" + p] * 4)) for p, n in zip(names, names[1:])]
    config = project.load(BASE + "\n".join(lines) + "\nx-common: &common {cmd: bin/run}\n"
                          "accessories: {db: {<<: *common, image: mysql, host: h1}}\n")
    assert config.accessory("db").cmd == "bin/run"
    assert len(config.raw["x-g"]) == 4 and config.raw["x-g"][0][0][0][0][0][0] == ["v"] * 4


def test_quoted_keys_are_the_same_keys(project):
    config = project.load('"service": app\n\'image\': dhh/app\n"registry": {"username": u, "password": p}\n'
                          '"builder": {"arch": amd64}\n"servers": {"web": ["1.1.1.1"]}\n"x-kamal-deploy": {"min_uptime": 5}\n')
    assert (config.service, config.all_hosts, config.min_uptime) == ("app", ["1.1.1.1"], 5)


def test_the_error_carries_the_key_path_and_kamals_wording(project):
    with pytest.raises(KamalConfigError) as error:
        project.load(HEAD + "servers: {all: [h1]}\n")
    assert error.value.key_path == "servers/all"
    assert error.value.kamal_message.startswith("servers/all: ")


def test_a_loaded_config_is_independent_of_the_python_recursion_limit(project):
    """MAX_YAML_DEPTH keeps every later walk (validation, to_dict) far from Python's recursion limit."""
    config = project.load(BASE + _nested(MAX_YAML_DEPTH - 2))
    assert MAX_YAML_DEPTH * 4 < sys.getrecursionlimit()
    assert str(config.to_dict()["raw"]["x-deep"]) == "[" * (MAX_YAML_DEPTH - 2) + "]" * (MAX_YAML_DEPTH - 2)


def test_load_config_takes_the_config_path_even_when_it_is_a_directory(project):
    os.makedirs(os.path.join(project.root, "config"))
    _write(project, BASE)
    with pytest.raises(KamalConfigError) as error:
        load_config(os.path.join(project.root, "config"), version="v1", environ={}, project_dir=project.root)
    assert str(error.value) == "%s: is a directory, not a deploy.yml (give the file itself, e.g. %s)" % (
        os.path.join(project.root, "config"), os.path.join(project.root, "config", "deploy.yml"))


def test_a_huge_file_without_aliases_is_bounded_too(monkeypatch):
    # (100000 real values take PyYAML seconds to parse: the bound is lowered to keep the test fast.)
    monkeypatch.setattr(_loader, "MAX_YAML_VALUES", 1000)
    with pytest.raises(KamalConfigError) as error:
        _loader.load_yaml("hosts: [%s]\n" % ", ".join(["h"] * 1001), "config/deploy.yml")
    assert str(error.value) == "config/deploy.yml:1: YAML file holds more than 1000 values; a deploy.yml needs far fewer: check the file"


def test_pyyaml_running_out_of_stack_is_a_config_error():
    """Should PyYAML recurse past Python's limit before MAX_YAML_DEPTH (a caller already deep in its stack)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        with pytest.raises(KamalConfigError) as error:
            _loader.load_yaml("x: " + "[" * 40 + "]" * 40 + "\n", "config/deploy.yml")
    finally:
        sys.setrecursionlimit(limit)
    assert str(error.value) == ("config/deploy.yml: YAML nesting too deep to read; a deploy.yml needs a few levels: check the "
                                "brackets and indentation")
