"""The app's own error pages (error_pages_path): Kamal's file names, the Go template subset they are rendered with,
the Caddy error routes, the proxy's files and maintenance page, and kamal_app's upload, clean-up and route."""
import json
import os

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy
from ansible_collections.kamal.deploy.plugins.module_utils import _error_pages as pages
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy as proxy
from test_app_fakes import World, fake_docker_errors  # noqa: F401  pylint: disable=unused-import
from test_proxy_contract import WEB, caddy, home, read  # noqa: F401  pylint: disable=unused-import

KAMAL_503 = "<html><body><p>Custom Maintenance Page: {{ .Message }}</p></body></html>\n"
KAMAL_PROXY_503 = ("<article>\n  {{ if .Message }}\n  <p>{{ .Message }}</p>\n  {{ else }}\n  <p>Unavailable.</p>\n"
                   "  {{ end }}\n</article>")


def test_only_kamals_names_are_error_pages():
    assert pages.page_names(["503.html", "404.html", "index.html", "5000.html", "50.html", "302.html", "500.htm"]) == [
        "404.html", "503.html"]


@pytest.mark.parametrize("template, message, expected", [
    (KAMAL_503, "Back at <five>", "<html><body><p>Custom Maintenance Page: Back at &lt;five&gt;</p></body></html>\n"),
    (KAMAL_503, None, "<html><body><p>Custom Maintenance Page: </p></body></html>\n"),
    ("{{if .Message}}[{{.Message}}]{{else}}none{{end}}", "m", "[m]"),
    ("{{if .Message}}[{{.Message}}]{{else}}none{{end}}", "", "none"),
    ("a {{- /* a comment */ -}} b", None, "ab"),
    ("{{ if .Message }}{{ if .Message }}x{{ end }}{{ end }}y", "1", "xy"),
    ("plain page, no template", "ignored", "plain page, no template"),
])
def test_pages_render_like_kamal_proxys_templates(template, message, expected):
    assert pages.render(template, message) == expected


def test_kamal_proxys_own_503_page_shows_the_message_or_its_text():
    assert "<p>Back soon</p>" in pages.render(KAMAL_PROXY_503, "Back soon")
    assert "Unavailable" not in pages.render(KAMAL_PROXY_503, "Back soon")
    assert "<p>Unavailable.</p>" in pages.render(KAMAL_PROXY_503, None)


@pytest.mark.parametrize("template, message", [
    ("{{ .Other }}", "is not something kamal.deploy renders"),
    ("{{ if .Message }}x", "an {{ if }} without its {{ end }}"),
    ("x {{ .Message", "an unclosed {{"),
])
def test_a_template_we_cannot_render_is_refused_naming_the_page(template, message):
    with pytest.raises(pages.ErrorPageError) as error:
        pages.check({"502.html": template})
    assert str(error.value).startswith("502.html: ") and message in str(error.value)


def test_caddy_answers_the_routes_errors_with_its_pages():
    route = _caddy.normalize_route(dict(WEB, tls=True))
    config = _caddy.build_config({}, [{"route": route, "maintenance_address": "127.64.0.2", "error_pages": [502, 503]}])
    for server, scheme in (("kamal_http", "http"), ("kamal_https", "https")):
        (entry,) = config["apps"]["http"]["servers"][server]["errors"]["routes"]
        assert entry["@id"] == "kamal:app-web:errors-" + scheme and entry["match"] == [{"host": ["app.test"]}]
        answers = entry["handle"][0]["routes"]
        assert [a["match"] for a in answers] == [[{"vars": {"{http.error.status_code}": ["502"]}}],
                                                 [{"vars": {"{http.error.status_code}": ["503"]}}]]
        assert answers[0]["handle"][0]["status_code"] == 502
        assert answers[0]["handle"][0]["body"] == "{file./kamal-proxy/error_pages/app-web/502.html}"
    plain = _caddy.build_config({}, [{"route": route, "maintenance_address": "127.64.0.2"}])
    assert "errors" not in plain["apps"]["http"]["servers"]["kamal_http"]


def test_the_proxy_keeps_a_routes_pages_rendered_and_maintenance_renders_the_message(home, caddy):  # noqa: F811
    given = {"503.html": KAMAL_503, "502.html": "<p>The app is down</p>"}
    first = proxy.ensure_route(home, WEB, error_pages=given)
    assert first["changed"] and caddy.loads == 1
    assert read(home, "error_pages", "app-web", "502.html") == "<p>The app is down</p>"
    assert read(home, "error_pages", "app-web", "503.html") == KAMAL_503.replace("{{ .Message }}", "")
    assert read(home, "error_pages", "app-web", "templates", "503.html") == KAMAL_503
    assert json.loads(read(home, "routes", "app-web.json"))["error_pages"] == [502, 503]
    assert len(caddy.config["apps"]["http"]["servers"]["kamal_http"]["errors"]["routes"]) == 1
    # the same pages again: nothing changes; a command that sets none (start, stop) leaves them
    assert proxy.ensure_route(home, WEB, error_pages=dict(given))["changed"] is False
    assert proxy.ensure_route(home, WEB)["changed"] is False and caddy.loads == 1
    proxy.switch_live_target(home, "app-web", "172.18.0.5")
    proxy.maintenance(home, "app-web", "Testing Maintenance Mode")
    assert read(home, "maintenance", "app-web.html") == KAMAL_503.replace("{{ .Message }}", "Testing Maintenance Mode")
    # a new version's page with the same status codes: files only, no Caddy reload
    changed = proxy.ensure_route(home, WEB, error_pages=dict(given, **{"502.html": "<p>Down, v2</p>"}))
    assert changed["changed"] and caddy.loads == 1 and read(home, "error_pages", "app-web", "502.html") == "<p>Down, v2</p>"
    # no pages any more: they go, and so do Caddy's error routes
    assert proxy.ensure_route(home, WEB, error_pages={})["changed"] is True
    assert not os.path.exists(os.path.join(home, ".kamal", "proxy", "error_pages", "app-web"))
    assert "errors" not in caddy.config["apps"]["http"]["servers"]["kamal_http"]
    proxy.maintenance(home, "app-web", "Plain")
    assert "Custom Maintenance Page" not in read(home, "maintenance", "app-web.html")


def test_removing_the_route_removes_its_pages(home, caddy):  # noqa: F811
    proxy.ensure_route(home, WEB, error_pages={"503.html": KAMAL_503})
    proxy.remove_route(home, "app-web")
    assert not os.path.exists(os.path.join(home, ".kamal", "proxy", "error_pages", "app-web"))


PROXY = {"hosts": ["app.example.com"], "app_port": 80}


def test_a_boot_writes_the_versions_pages_and_gives_them_to_the_route(tmp_path):
    world = World(tmp_path)
    given = {"503.html": KAMAL_503}
    world.run(version="v1", proxy=PROXY, error_pages=given)
    v1_dir = os.path.join(world.home, ".kamal/proxy/apps-config/app/error_pages/v1")
    assert os.listdir(v1_dir) == ["503.html"] and oct(os.stat(v1_dir).st_mode & 0o777) == "0o700"
    assert world.proxy.routes["app-web"]["name"] == "app-web" and world.proxy.pages["app-web"] == given
    again = world.run(version="v1", proxy=PROXY, error_pages=given)
    assert again["changed"] is False
    world.run(version="v2", proxy=PROXY, error_pages=given)
    # the old version's pages went with the old container
    assert os.listdir(os.path.join(world.home, ".kamal/proxy/apps-config/app/error_pages")) == ["v2"]
    # a role without the proxy uploads them too (Kamal uploads to every app host), and routes nothing
    world.run(version="v2", role="jobs", error_pages=given, readiness_delay=0)
    assert "app-jobs" not in world.proxy.pages


def test_a_boot_without_pages_removes_the_routes_and_other_commands_leave_them(tmp_path):
    world = World(tmp_path)
    world.run(version="v1", proxy=PROXY, error_pages={"503.html": KAMAL_503})
    world.run(command="start", version="v1", proxy=PROXY)
    assert world.proxy.pages["app-web"] == {"503.html": KAMAL_503}
    world.run(version="v1", proxy=PROXY)
    assert world.proxy.pages["app-web"] == {}
