"""Loading deploy.yml: ERB subset, YAML, destinations."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError, load_raw_config, source_config
from ansible_collections.kamal.deploy.plugins.plugin_utils.config._loader import deep_merge, destination_file, render_erb

ENV = {"HOST": "9.9.9.9", "EMPTY": ""}


@pytest.mark.parametrize("template, expected", [
    ('a: <%= ENV["HOST"] %>', "a: 9.9.9.9"),
    ("a: <%= ENV['HOST'] %>", "a: 9.9.9.9"),
    ('a: <%= ENV[ "HOST" ] %>', "a: 9.9.9.9"),
    ('a: <%= ENV["MISSING"] %>', "a: "),
    ('a: <%= ENV.fetch("HOST") %>', "a: 9.9.9.9"),
    ("a: <%= ENV.fetch('HOST') %>", "a: 9.9.9.9"),
    ('a: <%= ENV.fetch("MISSING", "dflt") %>', "a: dflt"),
    ("a: <%= ENV.fetch('MISSING', 'dflt') %>", "a: dflt"),
    ('a: <%= ENV.fetch("HOST", "dflt") %>', "a: 9.9.9.9"),
    ('a: <%= ENV["MISSING"] || "dflt" %>', "a: dflt"),
    ('a: <%= ENV["EMPTY"] || "dflt" %>', "a: "),  # an empty string is truthy in Ruby
    ('a: <%= ENV["HOST"] -%>\nb: 1', "a: 9.9.9.9b: 1"),
    ('a: <%= ENV["HOST"] %>\nb: 1', "a: 9.9.9.9\nb: 1"),
    ("<%# a comment -%>\nb: 1", "b: 1"),
    ("<% # a ruby comment -%>\nb: 1", "b: 1"),
    ("  <%- # indented -%>\nb: 1", "b: 1"),
    ("a: '<%%= literal %>'", "a: '<%= literal %>'"),
    ("a: 100%", "a: 100%"),
])
def test_erb_forms_render_like_kamal(template, expected):
    assert render_erb(template, ENV, "deploy.yml") == expected


@pytest.mark.parametrize("template, line", [
    ('a: 1\nb: <%= `hostname` %>', 2),
    ("a: <% if true %>1<% end %>", 1),
    ('a: 1\n\nc: <%= ENV["A"].upcase %>', 3),
    ('a: <%= ENV.fetch("A") { "x" } %>', 1),
    ("a: <%= 1 + 1 %>", 1),
    ("a: 1\nb: <%= ENV['X']", 2),
])
def test_other_erb_is_an_error_naming_file_and_line(template, line):
    with pytest.raises(KamalConfigError) as error:
        render_erb(template, ENV, "config/deploy.yml")
    assert error.value.file == "config/deploy.yml"
    assert error.value.line == line
    assert "config/deploy.yml:%d:" % line in str(error.value)


def test_env_fetch_without_default_fails_when_unset():
    with pytest.raises(KamalConfigError, match="MISSING is not set"):
        render_erb('a: <%= ENV.fetch("MISSING") %>', ENV, "deploy.yml")


def test_kamal_destination_is_visible_to_erb(project):
    project.write("a: <%= ENV['KAMAL_DESTINATION'] %>\n")
    project.write("b: 1\n", destination="staging")
    assert load_raw_config(project.config_file, "staging", environ={}) == {"a": "staging", "b": 1}
    assert load_raw_config(project.config_file, None, environ={"KAMAL_DESTINATION": "stale"}) == {"a": None}


def test_destination_merge_hashes_merge_arrays_and_scalars_replace(project):
    project.write("""\
        builder: {arch: [amd64, arm64], args: {A: 1, B: 2}}
        volumes: [/a:/a]
        env: {clear: {X: "1"}, secret: [S1]}
        """)
    project.write("""\
        builder: {arch: amd64, args: {B: 3}}
        volumes: [/b:/b]
        env: {secret: [S2]}
        """, destination="staging")
    raw = load_raw_config(project.config_file, "staging", environ={})
    assert raw["builder"] == {"arch": "amd64", "args": {"A": 1, "B": 3}}
    assert raw["volumes"] == ["/b:/b"]
    assert raw["env"] == {"clear": {"X": "1"}, "secret": ["S2"]}


def test_deep_merge_replaces_a_hash_with_a_scalar():
    assert deep_merge({"a": {"b": 1}, "c": 1}, {"a": None, "d": 2}) == {"a": None, "c": 1, "d": 2}


def test_destination_file_is_next_to_the_base_file():
    assert destination_file("config/deploy.yml", "eu") == "config/deploy.eu.yml"
    assert destination_file("/x/other.yml", "eu") == "/x/other.eu.yml"


def test_missing_destination_file_is_an_error(project, base):
    project.write(base)
    with pytest.raises(KamalConfigError, match=r"Configuration file not found in .*deploy\.nowhere\.yml"):
        project.load(destination="nowhere")


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(KamalConfigError, match="Configuration file not found in"):
        load_raw_config(str(tmp_path / "deploy.yml"), environ={})


@pytest.mark.parametrize("text, message", [
    ("service: [unclosed\n", "invalid YAML"),
    ("a: 1\n  b: 2\n", "invalid YAML"),
    ("a: *undefined\n", "invalid YAML"),
])
def test_bad_yaml_is_a_clear_error(project, text, message):
    project.write(text)
    with pytest.raises(KamalConfigError, match=message) as error:
        load_raw_config(project.config_file, environ={})
    assert project.config_file in str(error.value)


def test_yaml_error_names_the_line(project):
    project.write("service: app\nimage: [x\nservers: 1\n")
    with pytest.raises(KamalConfigError) as error:
        load_raw_config(project.config_file, environ={})
    assert error.value.line is not None and error.value.line >= 2


def test_anchors_and_aliases_in_extension_keys(project):
    project.write("""\
        x-common: &common {cmd: bin/run}
        servers:
          web: {<<: *common, hosts: [1.1.1.1]}
        """)
    assert load_raw_config(project.config_file, environ={})["servers"]["web"] == {"cmd": "bin/run", "hosts": ["1.1.1.1"]}


def test_dates_stay_strings(project):
    project.write("minimum_version: 2024-01-01\n")
    assert load_raw_config(project.config_file, environ={})["minimum_version"] == "2024-01-01"


def test_the_config_an_inventory_source_stands_for():
    assert source_config("config/deploy.yml") == ("config/deploy.yml", None)
    assert source_config("config/deploy.yml", "staging") == ("config/deploy.yml", "staging")
    # deploy.<destination>.yml is that destination over the deploy.yml next to it, whatever -d says
    assert source_config("/app/config/deploy.staging.yaml", "production") == ("/app/config/deploy.yml", "staging")
    assert source_config("config/inventory.kamal.yml") is None
