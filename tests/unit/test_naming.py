"""Every derived name comes from module_utils/_naming.py; these pin them to Kamal's."""
import re

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _naming as naming


@pytest.mark.parametrize("func, args, expected", [
    (naming.service_with_destination, ("app", None), "app"),
    (naming.service_with_destination, ("app", "staging"), "app-staging"),
    (naming.service_with_version, ("app", "abc"), "app-abc"),
    (naming.container_prefix, ("app", "web"), "app-web"),
    (naming.container_prefix, ("app", "web", "staging"), "app-web-staging"),
    (naming.container_name, ("app", "web", "abc123"), "app-web-abc123"),
    (naming.container_name, ("app", "workers", "abc123", "staging"), "app-workers-staging-abc123"),
    (naming.proxy_service_name, ("app", "web", None), "app-web"),
    (naming.proxy_service_name, ("app", "web", "eu"), "app-web-eu"),
    (naming.replaced_version, ("abc", "0011223344556677"), "abc_replaced_0011223344556677"),
    (naming.replaced_container_name, ("app", "web", "abc", None, "ff"), "app-web-abc_replaced_ff"),
    (naming.exec_container_name, ("app", "web", "abc", "eu", "a1b2c3"), "app-web-eu-exec-abc-a1b2c3"),
    (naming.accessory_service_name, ("app", "db"), "app-db"),
    (naming.accessory_service_name, ("app", "db", "custom-db"), "custom-db"),
    (naming.app_directory, ("app", None), ".kamal/apps/app"),
    (naming.role_env_file, ("app", "web"), ".kamal/apps/app/env/roles/web.env"),
    (naming.role_env_file, ("app", "web", "staging"), ".kamal/apps/app-staging/env/roles/web.env"),
    (naming.accessory_env_file, ("app", "db"), ".kamal/apps/app/env/accessories/db.env"),
    (naming.accessory_env_file, ("app", "db", "eu"), ".kamal/apps/app-eu/env/accessories/db.env"),
    (naming.asset_volume_directory, ("app", "web", "v1"), ".kamal/apps/app/assets/volumes/web-v1"),
    (naming.asset_extracted_directory, ("app", "web", "v1", "eu"), ".kamal/apps/app-eu/assets/extracted/web-v1"),
    (naming.lock_dir, ("app",), ".kamal/lock-app"),
    (naming.lock_dir, ("app", "staging"), ".kamal/lock-app-staging"),
    (naming.lock_details_path, ("app",), ".kamal/lock-app/details"),
    (naming.audit_log_path, ("app",), ".kamal/app-audit.log"),
    (naming.audit_log_path, ("app", "staging"), ".kamal/app-staging-audit.log"),
    (naming.proxy_app_directory, ("app", "eu"), ".kamal/proxy/apps-config/app-eu"),
    (naming.proxy_tls_directory, ("app", "web"), ".kamal/proxy/apps-config/app/tls/web"),
    (naming.proxy_tls_directory, ("app", "web", None, True), "/home/kamal-proxy/.apps-config/app/tls/web"),
    (naming.proxy_error_pages_directory, ("app", None, True), "/home/kamal-proxy/.apps-config/app/error_pages"),
    (naming.repository, ("dhh/app",), "dhh/app"),
    (naming.repository, ("dhh/app", "ghcr.io"), "ghcr.io/dhh/app"),
    (naming.repository, ("app", "localhost:5000"), "localhost:5000/app"),
    (naming.absolute_image, ("ghcr.io/dhh/app", "abc"), "ghcr.io/dhh/app:abc"),
    (naming.latest_tag, (None,), "latest"),
    (naming.latest_tag, ("staging",), "latest-staging"),
    (naming.latest_image, ("dhh/app",), "dhh/app:latest"),
    (naming.latest_image, ("dhh/app", "staging"), "dhh/app:latest-staging"),
    (naming.is_local_registry, ("localhost:5000",), True),
    (naming.is_local_registry, ("localhost",), False),
    (naming.is_local_registry, ("registry.example.com:5000",), False),
    (naming.is_local_registry, (None,), False),
    (naming.local_registry_port, ("localhost:5555",), 5555),
    (naming.local_registry_port, ("ghcr.io",), None),
])
def test_derived_names_match_kamal(func, args, expected):
    assert func(*args) == expected


@pytest.mark.parametrize("destination, expected", [
    (None, {"service": "app", "role": "web", "destination": ""}),
    ("staging", {"service": "app", "role": "web", "destination": "staging"}),
])
def test_app_labels_always_carry_destination(destination, expected):
    assert naming.app_labels("app", "web", destination) == expected


def test_label_filters_use_an_empty_destination_without_destination():
    assert naming.app_label_filters("app", "web") == ["service=app", "role=web", "destination="]
    assert naming.app_label_filters("app", None, "eu") == ["service=app", "destination=eu"]


def test_random_suffixes_have_kamal_lengths():
    assert re.fullmatch(r"v1_replaced_[0-9a-f]{16}", naming.replaced_version("v1"))
    assert re.fullmatch(r"app-web-exec-v1-[0-9a-f]{6}", naming.exec_container_name("app", "web", "v1"))
    assert naming.replaced_version("v1") != naming.replaced_version("v1")


def test_accessory_labels_name_the_service():
    assert naming.accessory_labels("app-db") == {"service": "app-db"}
