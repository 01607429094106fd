"""The ERB subset of accessory templates (plugin_utils/erb.py)."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils import erb


@pytest.mark.parametrize("template, expected", [
    ('port = <%= ENV["PORT"] %>\n', "port = 3306\n"),
    ("port = <%= ENV['PORT'] %>", "port = 3306"),
    ('user=<%= ENV.fetch("USER") %>;', "user=root;"),
    ('x=<%= ENV.fetch("MISSING", "fallback") %>', "x=fallback"),
    ('x=<%= ENV["MISSING"] %>.', "x=."),  # Ruby's nil prints as nothing
    ("a<%# a comment %>b\n", "ab\n"),
    ("no tags at all\n", "no tags at all\n"),
    ('<%= ENV["PORT"] %><%= ENV["USER"] %>', "3306root"),
])
def test_renders_env_lookups(template, expected):
    assert erb.render(template, {"PORT": "3306", "USER": "root"}) == expected


def test_fetch_of_a_missing_name_fails_naming_it_and_the_file():
    with pytest.raises(erb.ErbError, match=r"my\.cnf\.erb: ENV\.fetch\('DB_PORT'\): DB_PORT is not set"):
        erb.render('<%= ENV.fetch("DB_PORT") %>', {}, "my.cnf.erb")


@pytest.mark.parametrize("template", ['<%= 1 + 1 %>', "<% if true %>x<% end %>", '<%= ENV["A"].upcase %>'])
def test_other_ruby_fails_with_the_tag(template):
    with pytest.raises(erb.ErbError, match="my.cnf.erb"):
        erb.render(template, {"A": "a"}, "my.cnf.erb")
