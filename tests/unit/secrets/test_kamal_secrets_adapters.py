"""Each `kamal secrets fetch --adapter` against a stand-in vendor CLI that checks its argv and answers
with the vendor's JSON shape."""
import base64

import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import SecretsAdapterError, load_secrets
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.cli import fetch
from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets.runner import CommandRunner


def run_fetch(stand_ins, args, **env):
    return fetch(args, CommandRunner(environ=stand_ins.environ(**env), timeout=20))


def ok_version(cli, args=("--version",)):
    return {"argv": list(args), "stdout": "%s 1.0\n" % cli}


# 1Password


def test_one_password_fields_of_one_item_signed_in(stand_ins):
    stand_ins.add("op", [
        ok_version("op"),
        {"argv": ["account", "get", "--account", "my.1password.com"], "stdout": "{}"},
        {"argv": ["item", "get", "KamalItem", "--vault", "Dev Vault", "--format", "json", "--account", "my.1password.com",
                  "--fields", "label=password,label=section.token"],
         "stdout": [
             {"id": "password", "label": "password", "value": "pw 1", "reference": "op://Dev Vault/KamalItem/password"},
             {"id": "t", "label": "token", "value": "tok$en", "reference": "op://Dev Vault/KamalItem/section/token"}]},
    ])
    result = run_fetch(stand_ins, ["--adapter", "1password", "--account", "my.1password.com", "--from", "Dev Vault/KamalItem",
                                   "password", "section/token"])
    assert result == {"Dev Vault/KamalItem": "pw 1", "Dev Vault/KamalItem/section/token": "tok$en"}
    assert stand_ins.calls("op")[0] == ["--version"]


def test_one_password_signs_in_and_passes_the_session(stand_ins):
    stand_ins.add("op", [
        ok_version("op"),
        {"argv": ["account", "get", "--account", "acct"], "rc": 1},
        {"argv": ["signin", "--account", "acct", "--force", "--raw"], "stdout": "SESSION123\n"},
        {"argv": ["item", "get", "Item", "--vault", "V", "--format", "json", "--account", "acct", "--session", "SESSION123",
                  "--fields", "label=password"],
         "stdout": {"id": "password", "value": "pw", "reference": "op://V/Item/password"}},
    ])
    assert run_fetch(stand_ins, ["-a", "1password", "--account", "acct", "op://V/Item"]) == {"V/Item": "pw"}


def test_one_password_all_fields_of_the_from_item(stand_ins):
    stand_ins.add("op", [
        ok_version("op"),
        {"argv": ["account", "get", "--account", "acct"]},
        {"argv": ["item", "get", "Item", "--vault", "V", "--format", "json", "--account", "acct"],
         "stdout": {"id": "x", "title": "Item", "fields": [
             {"id": "username", "value": "u", "reference": "op://V/Item/username"},
             {"id": "password", "value": "p", "reference": "op://V/Item/password"},
         ]}},
    ])
    assert run_fetch(stand_ins, ["-a", "1password", "--account", "acct", "--from", "op://V/Item"]) == {"V/Item/username": "u", "V/Item": "p"}


def test_one_password_read_failure(stand_ins):
    stand_ins.add("op", [ok_version("op"), {"argv": ["account", "get", "--account", "acct"]}])
    with pytest.raises(SecretsAdapterError, match=r"Could not read password from Item in the V 1Password vault"):
        run_fetch(stand_ins, ["-a", "1password", "--account", "acct", "V/Item"])


def test_one_password_through_a_secrets_file(stand_ins, tmp_path):
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(
        "SECRETS=$(kamal secrets fetch --adapter 1password --account acct --from V/Item REGISTRY_PASSWORD DB/url)\n"
        "KAMAL_REGISTRY_PASSWORD=$(kamal secrets extract REGISTRY_PASSWORD $SECRETS)\n"
        "DATABASE_URL=$(kamal secrets extract DB/url ${SECRETS})\n"
    )
    stand_ins.add("op", [
        ok_version("op"),
        {"argv": ["account", "get", "--account", "acct"]},
        {"argv": ["item", "get", "Item", "--vault", "V", "--format", "json", "--account", "acct",
                  "--fields", "label=REGISTRY_PASSWORD,label=DB.url"],
         "stdout": [
             {"value": "reg 'pass' \"q\"", "reference": "op://V/Item/REGISTRY_PASSWORD"},
             {"value": "postgres://u:p@h/db?x=1&y=2\nsecond line", "reference": "op://V/Item/DB/url"}]},
    ])
    values = load_secrets(str(tmp_path), environ=stand_ins.environ())
    assert values["KAMAL_REGISTRY_PASSWORD"] == "reg 'pass' \"q\""
    assert values["DATABASE_URL"] == "postgres://u:p@h/db?x=1&y=2\nsecond line"


# Bitwarden


def test_bitwarden_unlocks_syncs_and_reads_password_and_fields(stand_ins):
    status = {"serverUrl": None, "lastSync": "2024-01-01T00:00:00.000Z", "userEmail": "me@example.com", "userId": "u"}
    item = {"object": "item", "name": "app", "type": 1, "login": {"username": "me", "password": "login-pw"},
            "fields": [{"name": "token", "value": "tok", "type": 1}, {"name": "other", "value": "o", "type": 0}]}
    stand_ins.add("bw", [
        ok_version("bw"),
        {"argv": ["status"], "env": {"BW_SESSION": None}, "stdout": dict(status, status="locked")},
        {"argv": ["unlock", "--raw"], "stdout": "SESSION\n"},
        {"argv": ["status"], "env": {"BW_SESSION": "SESSION"}, "stdout": dict(status, status="unlocked")},
        {"argv": ["sync"], "env": {"BW_SESSION": "SESSION"}, "stdout": "Syncing complete."},
        {"argv": ["get", "item", "app"], "env": {"BW_SESSION": "SESSION"}, "stdout": item},
        {"argv": ["get", "item", "other app"], "env": {"BW_SESSION": "SESSION"}, "stdout": item},
    ])
    result = run_fetch(stand_ins, ["--adapter", "bitwarden", "--account", "me@example.com", "app/token", "other app"])
    assert result == {"app/token": "tok", "other app": "login-pw"}


def test_bitwarden_logs_in_when_unauthenticated(stand_ins):
    stand_ins.add("bw", [
        ok_version("bw"),
        {"argv": ["status"], "stdout": {"status": "unauthenticated"}},
        {"argv": ["login", "me@example.com"], "stdout": "You are logged in!"},
    ])
    with pytest.raises(SecretsAdapterError, match="Failed to login to and unlock Bitwarden"):
        run_fetch(stand_ins, ["-a", "bitwarden", "--account", "me@example.com", "app"])
    assert stand_ins.calls("bw")[:3] == [["--version"], ["status"], ["login", "me@example.com"]]


def test_bitwarden_item_without_password_returns_its_fields(stand_ins):
    stand_ins.add("bw", [
        ok_version("bw"),
        {"argv": ["status"], "stdout": {"status": "unlocked"}},
        {"argv": ["sync"]},
        {"argv": ["get", "item", "note"], "stdout": {"name": "note", "fields": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}},
    ])
    assert run_fetch(stand_ins, ["-a", "bitwarden", "--account", "me", "note"]) == {"note/A": "1", "note/B": "2"}


# Bitwarden Secrets Manager


def test_bitwarden_sm_by_uuid(stand_ins):
    stand_ins.add("bws", [
        ok_version("bws"),
        {"argv": ["project", "list"], "stdout": []},
        {"argv": ["secret", "get", "uuid-1"], "stdout": {"object": "secret", "id": "uuid-1", "key": "DB_PASSWORD", "value": "pw"}},
        {"argv": ["secret", "get", "uuid-2"], "stdout": {"object": "secret", "id": "uuid-2", "key": "API_KEY", "value": "k"}},
    ])
    assert run_fetch(stand_ins, ["-a", "bitwarden-sm", "uuid-1", "uuid-2"]) == {"DB_PASSWORD": "pw", "API_KEY": "k"}


@pytest.mark.parametrize("name, argv", [("all", ["secret", "list"]), ("proj-1/all", ["secret", "list", "proj-1"])])
def test_bitwarden_sm_lists(stand_ins, name, argv):
    stand_ins.add("bws", [
        ok_version("bws"),
        {"argv": ["project", "list"], "stdout": []},
        {"argv": argv, "stdout": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]},
    ])
    assert run_fetch(stand_ins, ["-a", "bitwarden-sm", name]) == {"A": "1", "B": "2"}


def test_bitwarden_sm_bad_token(stand_ins):
    stand_ins.add("bws", [ok_version("bws"), {"argv": ["project", "list"], "rc": 1}])
    with pytest.raises(SecretsAdapterError, match="Could not authenticate to Bitwarden Secrets Manager"):
        run_fetch(stand_ins, ["-a", "bitwarden-sm", "all"])


# AWS Secrets Manager


def test_aws_secrets_manager_expands_json_secrets(stand_ins):
    stand_ins.add("aws", [
        ok_version("aws"),
        {"argv": ["secretsmanager", "batch-get-secret-value", "--secret-id-list", "app/db", "app/plain", "app/num",
                  "--profile", "prod", "--output", "json"],
         "stdout": {"SecretValues": [
             {"ARN": "arn:1", "Name": "app/db", "SecretString": '{"user":"u","port":5432,"opts":{"ssl":true}}', "VersionStages": ["AWSCURRENT"]},
             {"ARN": "arn:2", "Name": "app/plain", "SecretString": "not json {"},
             {"ARN": "arn:3", "Name": "app/num", "SecretString": "42"},
         ], "Errors": []}},
    ])
    result = run_fetch(stand_ins, ["-a", "aws_secrets_manager", "--account", "prod", "--from", "app", "db", "plain", "num"])
    assert result == {"app/db/user": "u", "app/db/port": "5432", "app/db/opts": '{"ssl":true}', "app/plain": "not json {", "app/num": "42"}


def test_aws_secrets_manager_errors(stand_ins):
    stand_ins.add("aws", [
        ok_version("aws"),
        {"argv": ["secretsmanager", "batch-get-secret-value", "--secret-id-list", "nope", "--output", "json"],
         "stdout": {"SecretValues": [], "Errors": [{"SecretId": "nope", "ErrorCode": "ResourceNotFoundException", "Message": "not found"}]}},
    ])
    with pytest.raises(SecretsAdapterError, match="nope: not found"):
        run_fetch(stand_ins, ["-a", "aws_secrets_manager", "nope"])


# LastPass


def test_lastpass(stand_ins):
    stand_ins.add("lpass", [
        ok_version("lpass"),
        {"argv": ["status", "--color", "never"], "stdout": "Not logged in.\n", "rc": 1},
        {"argv": ["login", "me@example.com"]},
        {"argv": ["show", "Shared-app/DB", "Shared-app/API", "--json"],
         "stdout": [{"id": "1", "name": "DB", "fullname": "Shared-app/DB", "username": "u", "password": "db-pw", "group": "Shared-app"},
                    {"id": "2", "name": "API", "fullname": "Shared-app/API", "username": "", "password": "api-pw", "group": "Shared-app"}]},
    ])
    result = run_fetch(stand_ins, ["-a", "lastpass", "--account", "me@example.com", "--from", "Shared-app", "DB", "API"])
    assert result == {"Shared-app/DB": "db-pw", "Shared-app/API": "api-pw"}


def test_lastpass_missing_item(stand_ins):
    stand_ins.add("lpass", [
        ok_version("lpass"),
        {"argv": ["status", "--color", "never"], "stdout": "Logged in as me@example.com.\n"},
        {"argv": ["show", "A", "B", "--json"], "stdout": [{"fullname": "A", "password": "a"}]},
    ])
    with pytest.raises(SecretsAdapterError, match="Could not find B in LastPass"):
        run_fetch(stand_ins, ["-a", "LastPass", "--account", "me@example.com", "A", "B"])


# Doppler


def test_doppler_with_project_and_config(stand_ins):
    stand_ins.add("doppler", [
        ok_version("doppler"),
        {"argv": ["me", "--json"], "stdout": {"name": "me"}},
        {"argv": ["secrets", "get", "DB_PASSWORD", "API_KEY", "--json", "-p", "app", "-c", "prd"],
         "stdout": {"DB_PASSWORD": {"computed": "pw", "note": "", "raw": "pw"}, "API_KEY": {"computed": "k", "note": "", "raw": "${X}"}}},
    ])
    assert run_fetch(stand_ins, ["-a", "doppler", "--from", "app/prd", "DB_PASSWORD", "API_KEY"]) == {"DB_PASSWORD": "pw", "API_KEY": "k"}


def test_doppler_service_token_needs_no_project(stand_ins):
    stand_ins.add("doppler", [
        ok_version("doppler"),
        {"argv": ["me", "--json"], "rc": 1},
        {"argv": ["login", "-y"]},
        {"argv": ["secrets", "get", "A", "--json"], "stdout": {"A": {"computed": "a"}}},
    ])
    assert run_fetch(stand_ins, ["-a", "doppler", "A"], DOPPLER_TOKEN="dp.st.prd.xyz") == {"A": "a"}


def test_doppler_without_project(stand_ins):
    stand_ins.add("doppler", [ok_version("doppler"), {"argv": ["me", "--json"]}])
    with pytest.raises(SecretsAdapterError, match=r"Missing project or config from '--from=project/config' option"):
        run_fetch(stand_ins, ["-a", "doppler", "A"])


# Google Secret Manager


def _gcp_payload(text):
    return {"name": "projects/1/secrets/x/versions/3", "payload": {"data": base64.b64encode(text.encode()).decode(), "dataCrc32c": "1"}}


def test_gcp_secret_manager(stand_ins):
    stand_ins.add("gcloud", [
        ok_version("gcloud"),
        {"argv": ["auth", "list", "--format=json"], "stdout": [{"account": "me@example.com", "status": "ACTIVE"}]},
        {"argv": ["secrets", "versions", "access", "latest", "--secret=db", "--format=json"], "stdout": _gcp_payload("db-pw")},
        {"argv": ["secrets", "versions", "access", "7", "--secret=api", "--project=other",
                  "--account=me@example.com", "--format=json"], "stdout": _gcp_payload("api\nkey")},
    ])
    assert run_fetch(stand_ins, ["-a", "gcp", "--account", "default", "db"]) == {"default/db": "db-pw"}
    assert run_fetch(stand_ins, ["-a", "gcp", "--account", "me@example.com", "--from", "other", "api/7"]) == {"other/api": "api\nkey"}


def test_gcp_impersonation(stand_ins):
    stand_ins.add("gcloud", [
        ok_version("gcloud"),
        {"argv": ["auth", "list", "--format=json"], "stdout": [{"account": "me"}]},
        {"argv": ["secrets", "versions", "access", "latest", "--secret=s", "--project=p",
                  "--impersonate-service-account=sa@p.iam.gserviceaccount.com,sb@p.iam.gserviceaccount.com", "--format=json"],
         "stdout": _gcp_payload("v")},
    ])
    result = run_fetch(stand_ins, ["-a", "gcp", "--account", "default|sa@p.iam.gserviceaccount.com,sb@p.iam.gserviceaccount.com", "p/s"])
    assert result == {"p/s": "v"}


def test_gcp_not_logged_in(stand_ins):
    stand_ins.add("gcloud", [ok_version("gcloud"), {"argv": ["auth", "list", "--format=json"], "stdout": []}, {"argv": ["auth", "login"], "rc": 1}])
    with pytest.raises(SecretsAdapterError, match="could not login to gcloud"):
        run_fetch(stand_ins, ["-a", "gcp", "--account", "default", "db"])


# Passbolt


def test_passbolt_root_and_nested_folders(stand_ins):
    stand_ins.add("passbolt", [
        ok_version("passbolt"),
        {"argv": ["verify"]},
        {"argv": ["list", "folders", "--filter", 'Name == "app" || Name == "ops"', "--json"],
         "stdout": [{"id": "f-app", "folder_parent_id": "", "name": "app"}, {"id": "f-ops", "folder_parent_id": "", "name": "ops"}]},
        {"argv": ["list", "folders", "--filter", 'Name == "prod" && FolderParentID == "f-app"', "--json"],
         "stdout": [{"id": "f-prod", "folder_parent_id": "f-app", "name": "prod"}]},
        {"argv": ["list", "resources", "--filter",
                  'Name == "ROOT_SECRET" || (Name == "DB" && FolderParentID == "f-prod") || (Name == "TOKEN" && FolderParentID == "f-ops")',
                  "--folder", "f-app", "--folder", "f-ops", "--folder", "f-prod",
                  "--column", "name", "--column", "password", "--json"],
         "stdout": [{"id": "r1", "name": "ROOT_SECRET", "password": "root"}, {"id": "r2", "name": "DB", "password": "db"},
                    {"id": "r3", "name": "TOKEN", "password": "tok"}]},
    ])
    result = run_fetch(stand_ins, ["-a", "passbolt", "ROOT_SECRET", "app/prod/DB", "ops/TOKEN"])
    assert result == {"ROOT_SECRET": "root", "DB": "db", "TOKEN": "tok"}


def test_passbolt_missing_folder(stand_ins):
    stand_ins.add("passbolt", [
        ok_version("passbolt"),
        {"argv": ["verify"]},
        {"argv": ["list", "folders", "--filter", 'Name == "nope"', "--json"], "stdout": []},
    ])
    with pytest.raises(SecretsAdapterError, match="Could not find the following folders in Passbolt: nope"):
        run_fetch(stand_ins, ["-a", "passbolt", "--from", "nope", "DB"])


# Enpass


def test_enpass(stand_ins):
    vault = "/home/me/Documents/Enpass/Vaults/primary"
    stand_ins.add("enpass-cli", [
        ok_version("enpass-cli", ("version",)),
        {"argv": ["-json", "-vault", vault, "show", "FooBar", "Other"],
         "stdout": [
             {"category": "login", "label": "DB_PASSWORD", "login": "", "password": "db", "title": "FooBar", "type": "password"},
             {"category": "login", "label": "API", "login": "", "password": "api", "title": "FooBar", "type": "password"},
             {"category": "login", "label": "", "login": "", "password": "other", "title": "Other", "type": "password"},
             {"category": "login", "label": "EMPTY", "login": "", "password": "", "title": "Other", "type": "password"}]},
    ])
    result = run_fetch(stand_ins, ["-a", "enpass", "--from", vault, "FooBar/DB_PASSWORD", "Other"])
    assert result == {"FooBar/DB_PASSWORD": "db", "Other": "other"}


# Kamal's test adapter and missing CLIs


def test_kamal_test_adapter_needs_no_cli(stand_ins):
    assert run_fetch(stand_ins, ["-a", "test", "--account", "x", "--from", "f", "ABC_LPAREN"]) == {"f/ABC_LPAREN": "(_CBA/f"}


@pytest.mark.parametrize("adapter, cli, label", [
    ("1password", "op", "1Password"),
    ("bitwarden", "bw", "Bitwarden"),
    ("bitwarden-sm", "bws", "Bitwarden Secrets Manager"),
    ("aws_secrets_manager", "aws", "AWS"),
    ("lastpass", "lpass", "LastPass"),
    ("doppler", "doppler", "Doppler"),
    ("gcp", "gcloud", "gcloud"),
    ("passbolt", "passbolt", "Passbolt"),
    ("enpass", "enpass-cli", "Enpass"),
])
def test_missing_cli_is_named(tmp_path, adapter, cli, label):
    runner = CommandRunner(environ={"PATH": str(tmp_path)}, timeout=5)
    with pytest.raises(SecretsAdapterError) as err:
        fetch(["-a", adapter, "--account", "acct", "--from", "f", "NAME"], runner)
    assert str(err.value).startswith("%s CLI is not installed: `%s` was not found on PATH" % (label, cli))


def test_missing_cli_through_a_secrets_file(tmp_path):
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("S=$(kamal secrets fetch --adapter 1password --account a --from V/I X)\n")
    with pytest.raises(SecretsAdapterError, match=r"^\.kamal/secrets \(S\): 1Password CLI is not installed: `op` was not found"):
        load_secrets(str(tmp_path), environ={"PATH": str(tmp_path / "nothing")})
