"""Registry settings and our own settings (`x-kamal-deploy:` image_delivery, min_uptime) in the config model."""
import pytest

from ansible_collections.kamal.deploy.plugins.plugin_utils.config import KamalConfigError

NO_REGISTRY = """\
service: app
servers: [1.1.1.1]
builder: {arch: amd64}
"""


def test_image_delivery_defaults_to_the_registry(project, base):
    assert project.load(base).image_delivery == "registry"


def test_ssh_delivery_needs_no_registry_and_names_the_image_after_the_service(project):
    config = project.load(NO_REGISTRY + "x-kamal-deploy: {image_delivery: ssh}\n")
    assert config.image_delivery == "ssh"
    assert config.repository == "app"
    assert config.absolute_image == "app:v1"
    assert config.secret_names() == []


def test_ssh_delivery_keeps_a_given_registry_prefix(project):
    config = project.load(NO_REGISTRY + "image: acme/app\nregistry: {server: r.example.com}\nx-kamal-deploy: {image_delivery: ssh}\n")
    assert config.repository == "r.example.com/acme/app"


def test_registry_delivery_still_requires_the_registry(project):
    with pytest.raises(KamalConfigError) as error:
        project.load(NO_REGISTRY + "image: app\n")
    assert error.value.kamal_message == "registry/username: is required"


@pytest.mark.parametrize("value, shown", [("scp", "'scp'"), ("''", "''"), ("true", "True"), ("[ssh]", "['ssh']")])
def test_unknown_image_delivery_names_the_key_and_the_valid_values(project, base, value, shown):
    with pytest.raises(KamalConfigError) as error:
        project.load(base + "x-kamal-deploy: {image_delivery: %s}\n" % value)
    assert error.value.kamal_message == "x-kamal-deploy/image_delivery: should be one of registry, ssh, got %s" % shown


def test_own_settings_default_and_reach_to_dict(project, base):
    config = project.load(base)
    assert (config.image_delivery, config.min_uptime) == ("registry", 0)
    data = project.load(base + "x-kamal-deploy: {image_delivery: ssh, min_uptime: 30}\n").to_dict()
    assert (data["image_delivery"], data["min_uptime"]) == ("ssh", 30)


def test_a_destination_file_sets_own_settings_by_deep_merge(project, base):
    project.write(base + "x-kamal-deploy: {min_uptime: 5}\n")
    project.write("x-kamal-deploy: {image_delivery: ssh}\n", destination="staging")
    config = project.load(destination="staging")
    assert (config.image_delivery, config.min_uptime) == ("ssh", 5)
    assert project.load().image_delivery == "registry"


def test_other_extension_keys_stay_free(project, base):
    assert project.load(base + "x-kamal-deploy: {}\nx-kamal-deployer: {anything: [1]}\n").min_uptime == 0


def test_local_registry_defaults_the_image_and_needs_no_credentials(project):
    config = project.load(NO_REGISTRY + "registry: {server: 'localhost:5555'}\n")
    assert (config.registry.local, config.registry.local_port) == (True, 5555)
    assert config.repository == "localhost:5555/app"
    assert config.registry.username is None


def test_registry_credentials_as_values_or_secret_names(project):
    config = project.load(NO_REGISTRY + "image: app\nregistry: {server: r.example.com, username: bot, password: [REG_PW]}\n")
    registry = config.registry
    assert (registry.server, registry.username, registry.password, registry.password_secret) == ("r.example.com", "bot", None, "REG_PW")
    assert config.secret_names() == ["REG_PW"]
