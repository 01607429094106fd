"""Which files are read, in which order, missing-secret errors, Ansible Vault, and `kamal secrets` inline."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.secrets import (
    KamalSecrets,
    SecretNotFoundError,
    SecretsAdapterError,
    SecretsFormatError,
    format_print,
    secrets_filenames,
)


def secrets_of(project, **kwargs):
    kwargs.setdefault("environ", {"PATH": "/usr/bin:/bin"})
    return KamalSecrets(project_dir=str(project.path), **kwargs)


def test_filenames_without_and_with_destination():
    assert secrets_filenames() == [".kamal/secrets-common", ".kamal/secrets"]
    assert secrets_filenames(".kamal/secrets", "staging") == [".kamal/secrets-common", ".kamal/secrets.staging"]
    assert secrets_filenames("config/creds", None) == ["config/creds-common", "config/creds"]


def test_common_then_plain_file_later_wins(project):
    project.write("secrets-common", "SHARED=common\nONLY_COMMON=c\n")
    project.write("secrets", "SHARED=plain\nONLY_PLAIN=p\n")
    assert project.load() == {"SHARED": "plain", "ONLY_COMMON": "c", "ONLY_PLAIN": "p"}


def test_destination_reads_its_file_and_not_the_plain_one(project):
    project.write("secrets-common", "SHARED=common\n")
    project.write("secrets", "SHARED=plain\nONLY_PLAIN=p\n")
    project.write("secrets.staging", "SHARED=staging\n")
    assert project.load(destination="staging") == {"SHARED": "staging"}


def test_missing_files_are_skipped(project):
    project.write("secrets.production", "A=1\n")
    secrets = secrets_of(project, destination="production")
    assert secrets.files == [".kamal/secrets.production"]
    assert secrets.to_dict() == {"A": "1"}


def test_each_file_is_parsed_on_its_own(project):
    project.write("secrets-common", "BASE=from-common\n")
    project.write("secrets", "USES_BASE=$BASE\n")
    assert project.load(environ={"BASE": "from-env"})["USES_BASE"] == "from-env"
    assert project.load(environ={})["USES_BASE"] == ""


def test_custom_secrets_path(project):
    (project.path / "config").mkdir()
    (project.path / "config" / "creds-common").write_text("A=1\n")
    (project.path / "config" / "creds").write_text("B=2\n")
    assert project.load(secrets_path="config/creds") == {"A": "1", "B": "2"}


def test_missing_secret_names_the_files_read(project):
    project.write("secrets-common", "A=1\n")
    project.write("secrets", "B=2\n")
    with pytest.raises(SecretNotFoundError) as err:
        secrets_of(project).require(["NOPE"])
    assert str(err.value) == "Secret 'NOPE' not found in .kamal/secrets-common, .kamal/secrets"
    assert err.value.names == ["NOPE"]
    assert err.value.files == [".kamal/secrets-common", ".kamal/secrets"]


def test_missing_secret_without_any_file(project):
    with pytest.raises(SecretNotFoundError) as err:
        secrets_of(project, destination="staging")["NOPE"]
    assert str(err.value) == "Secret 'NOPE' not found, no secret files (.kamal/secrets-common, .kamal/secrets.staging) provided"


def test_every_missing_secret_is_named_at_once(project):
    project.write("secrets", "A=1\n")
    with pytest.raises(SecretNotFoundError) as err:
        secrets_of(project).require(["X", "A", "Y", "X"])
    assert str(err.value) == "Secrets 'X', 'Y' not found in .kamal/secrets"
    assert err.value.names == ["X", "Y"]


def test_missing_secret_defined_in_dotenv_says_how_to_load_it(project):
    project.write("secrets", "A=1\n")
    (project.path / ".env").write_text("# local\nexport DB_PASSWORD=hunter2\nAPI_KEY: x\n")
    with pytest.raises(SecretNotFoundError) as err:
        secrets_of(project).require(["DB_PASSWORD", "API_KEY", "OTHER"])
    message = str(err.value)
    assert message.startswith("Secrets 'DB_PASSWORD', 'API_KEY', 'OTHER' not found in .kamal/secrets\n")
    assert "'DB_PASSWORD' is set in .env, which Kamal does not read" in message
    assert "add `DB_PASSWORD=$DB_PASSWORD` to .kamal/secrets" in message
    assert "set -a; . ./.env; set +a" in message
    assert "'API_KEY' is set in .env" in message
    assert "'OTHER'" not in message.split("\n", 1)[1]
    assert "hunter2" not in message


def test_dotenv_is_never_read_for_values(project):
    (project.path / ".env").write_text("A=from-dotenv\nB=$(touch ran)\n")
    project.write("secrets", "C=$A\n")
    assert project.load(environ={}) == {"C": ""}
    assert not (project.path / "ran").exists()


def test_missing_secret_set_in_the_environment_gets_a_hint(project):
    project.write("secrets", "A=1\n")
    with pytest.raises(SecretNotFoundError, match=r"'TOKEN' is set in the environment.*add `TOKEN=\$TOKEN` to \.kamal/secrets"):
        secrets_of(project, environ={"TOKEN": "t"}).require(["TOKEN"])


def test_secret_values_never_appear_in_errors(project):
    project.write("secrets", "PASSWORD=s3cr3t-value\n")
    with pytest.raises(SecretNotFoundError) as err:
        secrets_of(project).require(["PASSWORD", "MISSING"])
    assert "s3cr3t-value" not in str(err.value)


def test_invalid_utf8_is_a_clear_error(project):
    project.write("secrets", b"A=\xff\n")
    with pytest.raises(SecretsFormatError, match=r"\.kamal/secrets is not valid UTF-8"):
        project.load()


# Ansible Vault


def _vault(password):
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(password)
    return [("default", secret)], VaultLib([("default", secret)])


def test_vault_encrypted_file_is_read_transparently(project):
    vault_secrets, vault = _vault(b"pw")
    project.write("secrets-common", "PLAIN=1\n")
    project.write("secrets", vault.encrypt("A='vaulted $x'\nB=$PLAIN-$(echo cmd)\n"))
    assert project.load(vault_secrets=vault_secrets) == {"PLAIN": "1", "A": "vaulted $x", "B": "-cmd"}


def test_vault_with_custom_decrypt_callable(project):
    _secrets, vault = _vault(b"pw")
    path = project.write("secrets", vault.encrypt("A=1\n"))
    seen = []

    def decrypt(data, filename):
        seen.append(filename)
        return vault.decrypt(data)

    assert project.load(decrypt=decrypt) == {"A": "1"}
    assert seen == [str(path)]


def test_vault_with_wrong_password_is_a_clear_error(project):
    _secrets, vault = _vault(b"right")
    wrong, _vault_lib = _vault(b"wrong")
    project.write("secrets", vault.encrypt("A=1\n"))
    with pytest.raises(SecretsFormatError, match=r"\.kamal/secrets is encrypted with Ansible Vault and could not be decrypted"):
        project.load(vault_secrets=wrong)


def test_vault_without_password_says_how_to_give_one(project, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    _secrets, vault = _vault(b"pw")
    project.write("secrets", vault.encrypt("A=1\n"))
    with pytest.raises(SecretsFormatError, match=r"no vault password is available: run with --ask-vault-pass"):
        project.load()


# kamal secrets fetch / extract / print, in-process


def test_fetch_then_extract_round_trips_through_shell_escaping(project):
    project.write("secrets", (
        "SECRETS=$(kamal secrets fetch --adapter test --account acct --from app FOO BAR_LPAREN_RPAREN)\n"
        "FOO=$(kamal secrets extract FOO $SECRETS)\n"
        "BAR=$(kamal secrets extract BAR_LPAREN_RPAREN ${SECRETS})\n"
        "FULL=$(kamal secrets extract app/FOO $SECRETS)\n"
    ))
    values = project.load()
    assert values["SECRETS"] == '\\{\\"app/FOO\\":\\"OOF/ppa\\",\\"app/BAR_LPAREN_RPAREN\\":\\"\\)_\\(_RAB/ppa\\"\\}'
    assert values["FOO"] == "OOF/ppa"
    assert values["BAR"] == ")_(_RAB/ppa"
    assert values["FULL"] == "OOF/ppa"


def test_fetch_options_in_any_form(project):
    project.write("secrets", "A=$(kamal secrets fetch -a test --account=x --from=f ONE)\nB=$(kamal secrets fetch ONE --adapter=test --account x)\n")
    values = project.load()
    assert values["A"] == '\\{\\"f/ONE\\":\\"ENO/f\\"\\}'
    assert values["B"] == '\\{\\"ONE\\":\\"ENO\\"\\}'


def test_fetch_without_account_is_an_error(project):
    project.write("secrets", "A=$(kamal secrets fetch --adapter test ONE)\n")
    with pytest.raises(SecretsAdapterError, match=r"\.kamal/secrets \(A\): No value provided for required options '--account'"):
        project.load()


def test_unknown_adapter(project):
    project.write("secrets", "A=$(kamal secrets fetch --adapter nope --account x ONE)\n")
    with pytest.raises(SecretsAdapterError, match=r"Unknown secrets adapter: nope"):
        project.load()


def test_extract_of_an_unknown_name(project):
    project.write("secrets", "S=$(kamal secrets fetch --adapter test --account x ONE)\nA=$(kamal secrets extract TWO $S)\n")
    with pytest.raises(SecretsAdapterError, match=r"\(A\): Could not find secret TWO"):
        project.load()


def test_extract_without_the_fetch_output(project):
    project.write("secrets", "A=$(kamal secrets extract TWO $UNDEFINED)\n")
    with pytest.raises(SecretsAdapterError, match=r"takes NAME and the JSON"):
        project.load(environ={})


def test_print_inside_a_file_is_refused(project):
    project.write("secrets", "A=$(kamal secrets print)\n")
    with pytest.raises(SecretsAdapterError, match=r"`kamal secrets print` cannot be used inside a secrets file"):
        project.load()


def test_format_print_is_kamal_secrets_print():
    assert format_print({"A": "1", "B": "two words", "C": ""}) == "A=1\nB=two words\nC=\n"
