"""HTTPS through kamal.deploy.deploy: proxy.ssl with a host, the lab's Pebble as the ACME server (real
http-01 validation), then maintenance and live through the playbooks, on HTTPS."""
import json
import os
import socket
import ssl
import sys
import time
import urllib.request

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position


def https_get(ip, host, cadata, timeout=2):
    """(status line, body, issuer CN) of GET / over TLS to ``ip`` for ``host``, verified against ``cadata``."""
    ctx = ssl.create_default_context(cadata=cadata)
    with socket.create_connection((ip, 443), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            issuer = dict(x[0] for x in tls.getpeercert()["issuer"]).get("commonName", "")
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
    head, _sep, body = data.decode().partition("\r\n\r\n")
    return head.splitlines()[0], body, issuer


@pytest.fixture
def challenge_dns(lab):
    """Pebble resolves the app's host to the server through its challenge DNS (challtestsrv)."""
    mgmt = "http://%s:8055" % lab.state["pebble"]["ip"]
    added = []

    def add(host, ip):
        urllib.request.urlopen(urllib.request.Request(mgmt + "/add-a", method="POST", data=json.dumps(
            {"host": host, "addresses": [ip]}).encode()), timeout=10)
        added.append(host)
    yield add
    for host in added:
        urllib.request.urlopen(urllib.request.Request(mgmt + "/clear-a", method="POST", data=json.dumps(
            {"host": host}).encode()), timeout=10)


def test_deploy_serves_https_with_a_certificate_from_pebble(lab, tmp_path, challenge_dns):
    ip = lab.ips[0]
    app = App(lab, tmp_path, prefix="tls", servers={"web": [ip]})
    app.config["proxy"] = {"host": app.host, "app_port": 80, "ssl": True}
    app.write_config()
    pebble = lab.state["pebble"]
    with open(pebble["listener_ca"], encoding="utf-8") as handle:
        listener_ca = handle.read()
    group_vars = app.root / "config" / "group_vars" / "all.yml"
    settings = yaml.safe_load(group_vars.read_text())
    settings["kamal_proxy_acme"] = {"ca": pebble["directory"], "email": "lab@example.test", "ca_root_pem": listener_ca}
    group_vars.write_text(yaml.safe_dump(settings))
    challenge_dns(app.host, ip)
    root = urllib.request.urlopen("https://%s:15000/roots/0" % pebble["ip"], timeout=10,
                                  context=ssl.create_default_context(cafile=pebble["listener_ca"])).read().decode()
    try:
        app.commit("v1")
        app.playbook("deploy")
        started, answer = time.monotonic(), None
        while answer is None and time.monotonic() - started < 30:
            try:
                answer = https_get(ip, app.host, root)
            except (OSError, ssl.SSLError):
                time.sleep(0.2)
        assert answer is not None, "no HTTPS answer within 30 s"
        status, body, issuer = answer
        assert status == "HTTP/1.1 200 OK" and body.strip() == "app v1" and "Pebble" in issuer
        http = urllib.request.Request(f"http://{ip}/", headers={"Host": app.host})
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(http, timeout=3)
        assert redirect.value.code == 301 and redirect.value.headers["Location"] == f"https://{app.host}/"

        app.playbook("app_maintenance", "-e", "message='Upgrading the database'")
        status, body, _issuer = https_get(ip, app.host, root)
        assert status.startswith("HTTP/1.1 503") and "Upgrading the database" in body
        app.playbook("app_live")
        assert https_get(ip, app.host, root)[:2] == ("HTTP/1.1 200 OK", "app v1\n")
    finally:
        app.playbook("app_remove", "-e", "confirm=true", check=False)
