"""Help in Thor's shape, aliases from deploy.yml, errors and exit statuses like Kamal's."""
import json
import os
import re
import subprocess
import sys

import pytest

from cli_helpers import PLAYBOOK, Terminal, dry, kamal
from kamal_ansible import cli
from kamal_ansible.commands import COMMANDS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
KAMAL = os.path.join(os.path.dirname(sys.executable), "kamal")


# aliases -----------------------------------------------------------------------------------------------------

def test_alias_expands_to_its_command_line(project):
    env, argv = dry("shell", stdin=Terminal())
    assert env == {} and argv[-2] == "deploy@10.0.0.1"
    assert argv[-1].endswith('exec docker exec -it "$c" bash')


def test_alias_keeps_the_words_typed_after_it(project):
    _env, argv = dry("worker-logs", "-g", "ERROR")
    assert argv == PLAYBOOK + ["kamal.deploy.app_logs", "-l", "workers", "-e", "lines=5", "-e", "grep=ERROR"]


def test_alias_is_read_with_the_destination_given(project):
    _env, argv = dry("-d", "staging", "console", stdin=Terminal())
    assert "cliapp:latest-staging bin/rails console" in argv[-1]
    assert {c["destination"] for c in project.calls("ansible-inventory")} == {"staging"}


REQUIRES_DESTINATION = """\
service: cliapp
require_destination: true
aliases:
  staging_deploy: deploy -d staging
  worker-logs: app logs -r workers -n 5
"""


def test_an_alias_of_a_config_that_requires_a_destination_is_read_without_one(project, tmp_path):
    # Kamal reads aliases from deploy.yml before validating it (require_destination is a validation)
    (tmp_path / "config" / "deploy.yml").write_text(REQUIRES_DESTINATION)
    env, argv = dry("staging_deploy")
    assert env == {"KAMAL_DESTINATION": "staging"} and argv == PLAYBOOK + ["kamal.deploy.deploy"]
    assert dry("staging_deploy", "-P")[1] == PLAYBOOK + ["kamal.deploy.deploy", "-e", "skip_push=true"]
    assert project.calls() == []


def test_an_alias_of_the_destination_file_needs_the_destination(project, tmp_path):
    (tmp_path / "config" / "deploy.staging.yml").write_text("aliases:\n  staging_logs: app logs -n 9\n")
    assert dry("-d", "staging", "staging_logs")[1] == PLAYBOOK + ["kamal.deploy.app_logs", "-e", "lines=9"]
    with pytest.raises(cli.CliError, match='Could not find command "staging_logs"'):
        kamal("staging_logs")


@pytest.mark.parametrize("args", [["-q", "worker-logs"], ["worker-logs", "-q"], ["worker-logs", "--quiet"]], ids=" ".join)
def test_quiet_before_or_after_an_alias(project, args):
    """Kamal takes `<alias> -q` (the words after the alias follow its command line); kamal-ansible also takes options
    before the alias, as it does before any command."""
    env, argv = dry(*args)
    assert env == {"ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false", "KAMAL_ANSIBLE_QUIET": "1"}
    assert argv == PLAYBOOK + ["kamal.deploy.app_logs", "-l", "workers", "-e", "lines=5", "-e", "kamal_progress=false"]


def test_an_alias_is_read_through_a_kamal_yml_source_too(project, tmp_path):
    (tmp_path / "staging.kamal.yml").write_text("plugin: kamal.deploy.kamal\nconfig_file: config/deploy.yml\ndestination: staging\n")
    (tmp_path / "config" / "deploy.staging.yml").write_text("aliases:\n  staging_logs: app logs -n 9\n")
    env, argv = dry("-c", "staging.kamal.yml", "staging_logs")
    assert env == {} and argv == ["ansible-playbook", "-i", "staging.kamal.yml", "kamal.deploy.app_logs", "-e", "lines=9"]


def test_an_alias_in_a_config_with_a_yaml_mistake_fails_naming_the_file(project, tmp_path, capsys):
    (tmp_path / "config" / "deploy.yml").write_text("service: [cliapp\n")
    assert cli.main(["shell"]) == 1
    assert "deploy.yml" in capsys.readouterr().err


def test_unknown_command_that_is_no_alias_fails_like_kamal(project, capsys):
    assert cli.main(["deploi"]) == 1
    assert capsys.readouterr().err == 'ERROR: Could not find command "deploi".\n'
    assert project.calls() == [], "aliases are read from deploy.yml in-process, as Kamal reads them: no ansible-inventory"


# help --------------------------------------------------------------------------------------------------------

def test_top_level_help_lists_every_command_with_a_description(project):
    code, out = kamal()
    assert code == 0 and out.startswith("Commands:\n")
    for name in ("accessory", "app", "audit", "deploy", "help [COMMAND]", "lock", "plan", "proxy", "prune", "redeploy",
                 "remove", "rollback [VERSION]", "setup", "version", "config", "details", "init", "build", "registry",
                 "secrets", "server", "docs [SECTION]", "tree", "upgrade"):
        assert re.search(r"^  kamal-ansible %s +# \S" % re.escape(name), out, re.M), name
    assert "  -h, [--hosts=HOSTS]" in out and "  -d, [--destination=DESTINATION]" in out
    assert kamal("--help") == kamal("help") == (0, out)
    assert project.calls() == []


def test_group_help_lists_its_subcommands(project):
    code, out = kamal("app")
    assert code == 0 and out.startswith("Commands:\n")
    for command in [c for c in COMMANDS if c.path[0] == "app"]:
        assert "  kamal-ansible %s" % command.name in out
    assert kamal("app", "--help")[1] == kamal("help", "app")[1] == kamal("app", "help")[1] == out


def test_command_help_has_usage_options_description_and_what_it_runs(project):
    code, out = kamal("help", "app", "exec")
    assert code == 0
    assert out.startswith("Usage:\n  kamal-ansible app exec [CMD...]\n\nOptions:\n")
    assert "  -i, [--interactive]" in out and "      [--reuse]" in out and "  -e, [--env=key:value]" in out
    assert "Execute a custom command on servers within the app container" in out
    assert "Runs: ansible-playbook -i config/deploy.yml kamal.deploy.app_exec" in out
    assert kamal("app", "exec", "--help")[1] == out
    assert kamal("app", "exec", "-i", "bash", "--help")[1] == out
    assert "  -m, --message=MESSAGE" in kamal("lock", "acquire", "--help")[1]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_command_has_help(project, command):
    code, out = kamal(*command.path, "--help")
    assert code == 0 and command.summary in out and "Runs: " in out


def kamal_help(*words):
    res = subprocess.run([KAMAL] + list(words), capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    return res.stdout


def kamal_commands(text, prog):
    """The command words a Thor help lists (`kamal accessory boot [NAME]  # ...` -> "accessory boot")."""
    found = set()
    for usage in re.findall(r"^  %s (.+?)\s+#" % prog, text, re.M):
        words = []
        for word in usage.split():
            if not re.match(r"^[a-z_]+$", word):
                break
            words.append(word)
        found.add(" ".join(words))
    return found


@pytest.mark.skipif(not os.path.exists(KAMAL), reason="the kamal binary (requirements.txt) is not installed")
def test_every_kamal_command_is_a_kamal_ansible_command():
    """Kamal 2.11's `kamal help` and `kamal <family> help` as the oracle: every command it lists, we take."""
    ours_top = kamal_commands(cli.top_help(), "kamal-ansible")
    theirs_top = kamal_commands(kamal_help("help"), "kamal")
    assert len(theirs_top) > 20 and theirs_top <= ours_top, theirs_top - ours_top
    for group in sorted(cli.GROUPS):
        if group not in theirs_top:
            continue  # ours alone (rollout)
        theirs = kamal_commands(kamal_help(group, "help"), "kamal")
        ours = kamal_commands(cli.group_help(group), "kamal-ansible")
        assert theirs <= ours, (group, theirs - ours)


@pytest.mark.skipif(not os.path.exists(KAMAL), reason="the kamal binary (requirements.txt) is not installed")
@pytest.mark.parametrize("path", [c.path for c in COMMANDS if c.path[0] not in ("plan", "rollout")] + [("version",), ("tree",)],
                         ids=" ".join)
def test_option_names_are_kamals(path):
    """Kamal 2.11's `kamal help` as the oracle: every option of every command it has, we take."""
    theirs = set(re.findall(r"^\s+(?:(-\w), )?\[?(--[\w-]+)", kamal_help(*(list(path[:-1]) + ["help", path[-1]])), re.M))
    _code, out = kamal(*path, "--help")
    ours = set(re.findall(r"^\s+(?:(-\w), )?\[?(--[\w-]+)", out, re.M))
    assert theirs <= ours, theirs - ours


def test_tree_prints_every_command_under_its_family(project):
    code, out = kamal("tree")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "kamal-ansible" and lines[1] == "  ├─ accessory (Manage accessories (db/redis/search))"
    assert "  └─ version (Show the kamal.deploy collection version)" in lines
    assert "  kamal-ansible proxy" in lines and "    ├─ start (Start existing proxy container on servers)" in lines
    for command in COMMANDS:
        assert re.search(r"^ +[├└]─ %s \(" % re.escape(command.path[-1]), out, re.M), command.name
    assert not re.search(r"─ (help|tree) \(", out), "Thor's tree leaves out help and tree"
    code, out = kamal("build", "tree")
    assert code == 0 and out.splitlines()[0] == "kamal-ansible build"
    assert out.splitlines()[-1] == "  └─ remove (Remove build setup)"
    assert "  kamal-ansible build tree" in kamal("build")[1]
    assert project.calls() == []


def test_help_for_an_unknown_command_is_an_error(project):
    with pytest.raises(cli.CliError, match='Could not find command "nope"'):
        kamal("help", "nope")
    with pytest.raises(cli.CliError, match='Could not find command "nope"'):
        kamal("help", "app", "nope")


# errors and exit statuses ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["app", "restart"], 'Could not find command "restart".'),
    (["deploy", "--bogus"], '"kamal-ansible deploy" was called with arguments ["--bogus"]'),
    (["proxy", "boot_config"], '"kamal-ansible proxy boot_config" was called with no arguments'),
    (["proxy", "boot_config", "show"], "Unknown boot_config subcommand show"),
    (["server", "exec"], "No command provided. You must specify a command to execute."),
    (["secrets", "fetch", "x"], "the following arguments are required: -a/--adapter"),
    (["accessory", "boot"], '"kamal-ansible accessory boot" was called with no arguments'),
    (["app", "exec"], "No command provided. You must specify a command to execute."),
    (["app", "exec", "-i", "--detach", "bash"], "Detach is not compatible with interactive"),
    (["app", "exec", "-i", "--reuse", "--detach", "bash"], "Detach is not compatible with interactive or reuse"),
    (["app", "exec", "--raw", "-i", "bash"], "Raw is not compatible with interactive"),
    (["app", "exec", "--raw", "-p", "--detach", "bin/jobs"], "Raw is not compatible with detach"),
    (["app", "exec", "-e", "FOO=bar", "env"], "--env takes KEY:VALUE"),
    (["lock", "acquire"], "the following arguments are required: -m/--message"),
    (["app", "logs", "-T"], "--skip-timestamps only works with --follow"),
    (["proxy", "logs", "-g", "x"], "--grep only works with --follow"),
    (["-c", "config/nope.yml", "deploy"], "nope.yml: the kamal.deploy.kamal inventory reads a config named deploy.yml"),
    (["-c", "elsewhere/deploy.yml", "deploy"], "Configuration file not found in "),
])
def test_errors_exit_1_with_a_message(project, capsys, args, message):
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and message in err
    assert project.calls("ansible-playbook") == []


@pytest.mark.parametrize("args", [["remove"], ["app", "remove"], ["accessory", "remove", "db"], ["proxy", "reboot"]], ids=" ".join)
def test_destructive_commands_refuse_without_a_terminal_or_y(project, capsys, args):
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "Are you sure?" in err and "pass -y to confirm" in err
    assert project.calls() == []


def test_destructive_command_answered_no_is_aborted(project):
    code, out = kamal("remove", stdin=Terminal("n\n"))
    assert code == 0
    assert out == "This will remove all containers and images. Are you sure? [y, N] (N) Aborted\n"
    assert project.calls() == []


def test_the_exit_status_is_ansible_playbooks_and_the_destination_reaches_it(project, monkeypatch):
    monkeypatch.setenv("FAKE_EXIT", "3")
    code, _out = kamal("-d", "staging", "app", "maintenance", "--message", "Back at 10:00")
    assert code == 3
    assert project.calls() == [{"argv": ["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.app_maintenance",
                                         "-e", json.dumps({"message": "Back at 10:00"})], "destination": "staging"}]
    monkeypatch.setenv("FAKE_EXIT", "0")
    assert kamal("lock", "status")[0] == 0


def test_interactive_commands_run_ssh(project):
    code, _out = kamal("app", "logs", "-f")
    assert code == 0
    ssh = project.calls("ssh")
    assert len(ssh) == 1 and ssh[0]["argv"][-2] == "deploy@10.0.0.1" and "--follow" in ssh[0]["argv"][-1]


def test_console_script_is_installed_and_answers(project):
    script = os.path.join(os.path.dirname(sys.executable), "kamal-ansible")
    if not os.path.exists(script):
        if os.environ.get("CI") == "true":
            pytest.fail("kamal-ansible is not installed: pip install -r requirements.txt")
        pytest.skip("kamal-ansible is not installed in this virtualenv")
    res = subprocess.run([script, "app", "nope"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert (res.returncode, res.stderr) == (1, 'ERROR: Could not find command "nope".\n')
    res = subprocess.run([script, "--dry-run", "-r", "web", "app", "boot"], capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL)
    expected = ("ANSIBLE_INVENTORY_ENABLED=kamal.deploy.kamal,host_list,script,auto,yaml,ini,toml "
                "ANSIBLE_STDOUT_CALLBACK=kamal.deploy.kamal ansible-playbook -i config/deploy.yml kamal.deploy.app_boot -l web\n")
    assert (res.returncode, res.stdout) == (0, expected)


# version -----------------------------------------------------------------------------------------------------

def test_version_is_the_installed_collections(project, tmp_path, monkeypatch):
    root = tmp_path / "collections" / "ansible_collections" / "kamal" / "deploy"
    root.mkdir(parents=True)
    (root / "MANIFEST.json").write_text(json.dumps({"collection_info": {"namespace": "kamal", "name": "deploy", "version": "9.8.7"}}))
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(tmp_path / "collections"))
    assert kamal("version") == (0, "9.8.7\n")


def test_version_of_a_source_checkout_is_its_galaxy_yml(project, tmp_path, monkeypatch):
    root = tmp_path / "dev" / "ansible_collections" / "kamal" / "deploy"
    root.mkdir(parents=True)
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as f:
        galaxy = f.read()
    (root / "galaxy.yml").write_text(galaxy)
    expected = re.search(r"^version: (\S+)", galaxy, re.M).group(1)
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(tmp_path / "dev"))
    assert kamal("version") == (0, expected + "\n")


def test_docs_cli_md_lists_every_command_as_the_help_does():
    with open(os.path.join(REPO, "docs", "cli.md"), encoding="utf-8") as f:
        doc = f.read()
    assert cli.commands_markdown() in doc, "docs/cli.md's table is out of date; it is:\n" + cli.commands_markdown()
    for command in COMMANDS:
        assert cli.help_for(list(command.path)).rstrip().endswith(
            "Runs: " + command.runs.replace("CONFIG", cli.DEFAULT_CONFIG)), command.name
