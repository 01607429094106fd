"""Kamal's dotenv format (dotenv 3.2 with Kamal's command substitution), one behaviour per test."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import SecretsFormatError


def load_one(project, text, environ=None):
    project.write("secrets", text)
    return project.load(environ=environ)


@pytest.mark.parametrize("line, expected", [
    ("A=plain", "plain"),
    ("A = spaced ", "spaced"),
    ("export A=exported", "exported"),
    ("A: colon", "colon"),
    ("A=", ""),
    ("A", ""),
    ("A=abc # comment", "abc"),
    ("A=abc#not-a-comment-either", "abc"),
    ("A='abc # kept'", "abc # kept"),
    ('A="abc # kept"', "abc # kept"),
    ("A='quoted' # comment", "quoted"),
    ("A='single $HOME_X $(echo no) \\n'", "single $HOME_X $(echo no) \\n"),
    ('A="a\\nb"', "a\\nb"),
    ('A="a\\rb"', "a\\rb"),
    ("A=a\\nb", "anb"),
    ('A="say \\"hi\\""', 'say "hi"'),
    ("A='it''s'", "it''s"),
    ("A=  leading", "leading"),
    ("A.B_c=dotted", "dotted"),
    ("A=x=y=z", "x=y=z"),
    ("A=a\\\\b", "a\\b"),
])
def test_value_quoting_and_comments(project, line, expected):
    assert load_one(project, line + "\n") == {line.split("=")[0].split(":")[0].replace("export ", "").strip(): expected}


def test_comment_lines_and_garbage_lines_are_ignored(project):
    text = "# a comment\n\n   # indented comment\nnot a valid line at all\nA=1\n"
    assert load_one(project, text) == {"A": "1"}


def test_crlf_is_normalised(project):
    assert load_one(project, "A=one\r\nB=\"two\"\r\nC='x\r\ny'\r\n") == {"A": "one", "B": "two", "C": "x\ny"}


def test_byte_order_mark_is_ignored(project):
    project.write("secrets", "\ufeffA=1\n".encode("utf-8"))
    assert project.load() == {"A": "1"}


def test_multiline_quoted_values(project):
    text = 'CERT="-----BEGIN-----\nabc\n-----END-----"\nKEY=\'line1\nline2\'\nNEXT=1\n'
    assert load_one(project, text) == {"CERT": "-----BEGIN-----\nabc\n-----END-----", "KEY": "line1\nline2", "NEXT": "1"}


def test_legacy_linebreak_mode_expands_newlines(project):
    assert load_one(project, 'DOTENV_LINEBREAK_MODE=legacy\nA="a\\nb"\n')["A"] == "a\nb"
    assert load_one(project, 'A="a\\nb"\n', environ={"DOTENV_LINEBREAK_MODE": "legacy"})["A"] == "a\nb"


def test_later_line_overrides_earlier_in_the_same_file(project):
    assert load_one(project, "A=1\nA=2\n") == {"A": "2"}


def test_export_without_value_of_undefined_key_is_an_error(project):
    with pytest.raises(SecretsFormatError, match=r'Line "export MISSING\\n" has an unset variable'):
        load_one(project, "export MISSING\n")


def test_export_without_value_of_defined_key_keeps_it(project):
    assert load_one(project, "A=1\nexport A\n") == {"A": "1"}


# variables


def test_variables_from_earlier_keys_then_environment_else_empty(project):
    text = "BASE=base\nA=$BASE/x\nB=${BASE}y\nC=$FROM_ENV\nD=$NOWHERE-\nE=\"$BASE\"\nF=${BASE\n"
    values = load_one(project, text, environ={"FROM_ENV": "env", "BASE": "env-loses"})
    assert values == {"BASE": "base", "A": "base/x", "B": "basey", "C": "env", "D": "-", "E": "base", "F": "base"}


def test_variable_defined_later_is_not_seen(project):
    assert load_one(project, "A=$B\nB=1\n", environ={})["A"] == ""


def test_empty_earlier_value_wins_over_environment(project):
    assert load_one(project, "A=\nB=$A\n", environ={"A": "env"})["B"] == ""


def test_name_is_greedy_alphanumeric(project):
    assert load_one(project, "A=1\nB=$Ax\n", environ={})["B"] == ""


def test_escaped_dollar_stays_literal(project):
    values = load_one(project, "A=1\nB=\\$A\nC=\"\\$A\"\nD=cost$\nE=$-\n", environ={})
    assert values == {"A": "1", "B": "$A", "C": "$A", "D": "cost$", "E": "$-"}


def test_single_quotes_do_not_substitute(project):
    assert load_one(project, "A=1\nB='$A ${A}'\n")["B"] == "$A ${A}"


# command substitution


def test_command_substitution_runs_and_is_chomped(project):
    values = load_one(project, 'A=$(echo hi)\nB="x $(printf \'two\\n\\n\') y"\nC=$(printf "a\\nb")\n')
    # in the unquoted value the backslash of \n is removed before the command runs, as in Kamal
    assert values == {"A": "hi", "B": "x two\n y", "C": "anb"}


def test_command_sees_variables_substituted_first(project):
    assert load_one(project, "WHO=world\nA=$(echo hello $WHO)\n", environ={"PATH": "/usr/bin:/bin"})["A"] == "hello world"


def test_command_output_is_variable_expanded_afterwards(project):
    values = load_one(project, "A=abc\nB=$(printf '%s' '$A')\nC=$(printf '%s' '\\$A')\n")
    assert values["B"] == "abc"
    # `\$A` inside the command becomes `$A` before the shell sees it, so the output `$A` is expanded too
    assert values["C"] == "abc"


def test_escaped_command_substitution_stays_literal(project):
    values = load_one(project, 'A=\\$(echo escaped)\nB="\\$(echo escaped)"\n')
    assert values == {"A": "$(echo escaped)", "B": "$(echo escaped)"}


def test_nested_and_escaped_parentheses(project):
    values = load_one(project, 'A="x $(echo "(nested)") y"\nB=$(echo \'a)b\')\nC="$(echo \\\\(x\\\\))"\n')
    assert values["A"] == "x (nested) y"
    assert values["C"] == "(x)"


def test_unbalanced_command_is_left_as_text(project):
    assert load_one(project, "A='$(nope'\nB=\"$(nope\"\n") == {"A": "$(nope", "B": "$(nope"}


def test_command_runs_in_the_project_directory(project):
    (project.path / "marker.txt").write_text("here\n")
    assert load_one(project, "A=$(cat marker.txt)\n")["A"] == "here"


def test_command_gets_the_given_environment(project):
    assert load_one(project, "A=$(printf %s \"$ONLY_IN_ENV\")\n", environ={"PATH": "/usr/bin:/bin", "ONLY_IN_ENV": "yes"})["A"] == "yes"


def test_failing_command_keeps_its_output_like_kamal(project):
    from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import KamalSecrets

    project.write("secrets", "A=$(echo partial; exit 3)\n")
    secrets = KamalSecrets(project_dir=str(project.path), environ={"PATH": "/usr/bin:/bin"})
    assert secrets.to_dict() == {"A": "partial"}
    assert secrets.warnings == ["`$(echo partial; exit 3)` in .kamal/secrets (A) exited with status 3"]


def test_command_timeout_is_an_error(project):
    from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import SecretsCommandError

    project.write("secrets", "SLOW=$(sleep 5)\n")
    with pytest.raises(SecretsCommandError, match=r"`\$\(sleep 5\)` in \.kamal/secrets \(SLOW\) did not finish within 1 seconds"):
        project.load(timeout=1)


def test_secret_values_are_not_reparsed_as_shell(project):
    # a value with shell syntax, passed on through $VAR into a command, is the user's own shell code;
    # but a value produced by an earlier line is never run again
    values = load_one(project, "A='$(touch pwned)'\nB=$A\n")
    assert values["B"] == "$(touch pwned)"
    assert not (project.path / "pwned").exists()
