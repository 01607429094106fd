"""`kamal config`'s text: Kamal's keys and Ruby's YAML (the oracle in tests/integration/test_kamal_config_oracle.py
compares it with the real binary's, line by line, for every fixture)."""
from ansible_collections.kamal.deploy.plugins.plugin_utils.config import load_config, show_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._show import Symbol, to_ruby_yaml


def test_ruby_yaml_quotes_strings_as_psych_does():
    text = to_ruby_yaml({Symbol("k"): ["--log-opt", "max-size=\"10m\"", "%", "2200", "3.3.0", "yes", "y", "a b", ":sym",
                                       Symbol("fatal"), "/data:/data", "6379:6379", True, 3]})
    assert text == ("---\n:k:\n- \"--log-opt\"\n- max-size=\"10m\"\n- \"%\"\n- '2200'\n- 3.3.0\n- 'yes'\n- \"y\"\n- a b\n"
                    "- \":sym\"\n- :fatal\n- \"/data:/data\"\n- 6379:6379\n- true\n- 3\n")


def test_ssh_key_data_is_never_printed(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: a\nimage: a\nservers: [1.1.1.1]\nregistry: {username: u, password: p}\nbuilder: {arch: amd64}\n"
        "ssh: {key_data: [SSH_KEY, '-----BEGIN OPENSSH PRIVATE KEY-----']}\n")
    text = show_config(load_config(str(tmp_path / "config" / "deploy.yml"), version="v1", environ={}))
    assert "  :key_data:\n  - \"[REDACTED]\"\n  - \"[REDACTED]\"\n" in text
    assert "SSH_KEY" not in text and "PRIVATE" not in text
