"""The proxy options Kamal users ask for (issue 16), each through the lab's proxy with a real deploy. Kamal has no
key for any of them, so they live under deploy.yml's ``x-kamal-deploy: proxy:`` and the file stays valid for Kamal:

- a health check on another port than the app's (kamal#1750, #1842);
- basic auth in front of the service, the password from .kamal/secrets, never logged (kamal#1604);
- the client's address from a header set by a trusted proxy (kamal-proxy#224), with the trusted ranges;
- HTTP/3 on the proxy, UDP 443 published (kamal#1842, #1894).
"""
import base64
import http.client
import os
import socket
import ssl
import struct
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from project import App  # noqa: E402  pylint: disable=wrong-import-position
from test_accessory_tls import dotenv_quoted, self_signed  # noqa: E402  pylint: disable=wrong-import-position,import-error

PASSWORD = "pw-8c1f2e-never-logged"
# The app answers its pages on 80 and its health path only on 9000 (its /www has no `up`).
TWO_PORTS = "sh -c 'mkdir -p /health && echo ok > /health/up && httpd -p 9000 -h /health && exec httpd -f -p 80 -h /www'"
XFF_CGI = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$HTTP_X_FORWARDED_FOR\"\n"


@pytest.fixture(scope="module")
def app(lab, tmp_path_factory):
    project = App(lab, tmp_path_factory.mktemp("options"), prefix="po")
    project.ip = lab.ips[1]
    project.config["servers"] = {"web": {"hosts": [project.ip], "cmd": TWO_PORTS}}
    project.secrets += "ADMIN_PASSWORD=%s\n" % PASSWORD
    cgi = project.root / "app" / "cgi-bin"
    cgi.mkdir()
    (cgi / "xff").write_text(XFF_CGI)
    (cgi / "xff").chmod(0o755)
    project.write_config()
    project.v1 = project.commit("v1", healthy=False)
    yield project
    lab.ssh(project.ip, f"docker ps -aq --filter label=service={project.service} | xargs -r docker rm -f; "
                        f"rm -rf .kamal/apps/{project.service}", check=False)


def get(app, path="/", headers=None, auth=None):
    conn = http.client.HTTPConnection(app.ip, 80, timeout=5)
    try:
        headers = dict(headers or {}, Host=app.host)
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode().strip()
    finally:
        conn.close()


def test_the_health_check_probes_its_own_port(app):
    failed = app.playbook("deploy", check=False)
    assert failed.returncode != 0 and ":80/up" in failed.stdout, failed.stdout[-3000:]
    app.config["x-kamal-deploy"] = {"proxy": {
        "healthcheck": {"port": 9000},
        "basic_auth": {"username": "admin", "password": "ADMIN_PASSWORD"},
        "client_ip": {"header": "CF-Connecting-IP", "trusted_proxies": [app.lab.state["gateway"] + "/32"]}}}
    app.write_config()
    app.deployed = app.playbook("deploy", "-vv")
    assert get(app, auth="admin:" + PASSWORD) == (200, "app v1")


def test_basic_auth_asks_for_the_password_which_is_never_logged(app):
    assert get(app)[0] == 401
    assert get(app, auth="admin:wrong")[0] == 401
    assert get(app, auth="admin:" + PASSWORD)[0] == 200
    assert PASSWORD not in app.deployed.stdout + app.deployed.stderr
    found = app.lab.ssh(app.ip, "grep -rl -- %s ~/.kamal /tmp 2>/dev/null; docker logs kamal-proxy 2>&1 | grep -c -- %s"
                        % (PASSWORD, PASSWORD), check=False).stdout.split()
    assert found == ["0"], found
    # The hash is in a 0600 file the config names, not in the config.
    mode = app.lab.ssh(app.ip, "stat -c %a ~/.kamal/proxy/auth/" + app.service + "-web.*").stdout.strip()
    assert mode == "600" and "$argon2id$" not in app.lab.ssh(app.ip, "cat ~/.kamal/proxy/caddy.json").stdout


def test_the_client_address_comes_from_the_header_only_through_a_trusted_proxy(app):
    auth = "admin:" + PASSWORD
    assert get(app, "/cgi-bin/xff", {"CF-Connecting-IP": "203.0.113.7"}, auth) == (200, "203.0.113.7")
    assert get(app, "/cgi-bin/xff", {}, auth) == (200, app.lab.state["gateway"])
    # From another lab server (not in trusted_proxies) the header is ignored: the app sees that server.
    other = app.lab.ips[0]
    script = ("import base64,http.client as h;c=h.HTTPConnection('%s',80,timeout=5);c.request('GET','/cgi-bin/xff',"
              "headers={'Host':'%s','CF-Connecting-IP':'203.0.113.7','Authorization':'Basic %s'});"
              "print(c.getresponse().read().decode().strip())" % (app.ip, app.host, base64.b64encode(auth.encode()).decode()))
    seen = app.lab.ssh(other, "python3 -c \"%s\"" % script).stdout.strip()
    assert seen == other, seen


def quic_versions(ip, port=443):
    """The QUIC versions a server offers: a packet of an unknown version gets a Version Negotiation answer."""
    dcid, scid = os.urandom(8), os.urandom(8)
    packet = bytes([0xC0]) + struct.pack(">I", 0x1A2A3A4A) + bytes([8]) + dcid + bytes([8]) + scid
    packet += b"\0" * (1200 - len(packet))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    try:
        sock.sendto(packet, (ip, port))
        data = sock.recv(2048)
    finally:
        sock.close()
    assert data[0] & 0x80 and data[1:5] == b"\0\0\0\0", data[:8]
    offset = 5
    offset += 1 + data[offset]
    offset += 1 + data[offset]
    return [struct.unpack(">I", data[i:i + 4])[0] for i in range(offset, len(data) - 3, 4)]


def test_http3_answers_on_udp_443_once_the_proxy_publishes_it(app):
    cert, key = self_signed(app.host)
    app.secrets += "APP_CERT=%s\nAPP_KEY=%s\n" % (dotenv_quoted(cert), dotenv_quoted(key))
    app.config["proxy"] = {"host": app.host, "app_port": 80, "ssl": {"certificate_pem": "APP_CERT", "private_key_pem": "APP_KEY"}}
    app.config["x-kamal-deploy"]["proxy"]["run"] = {"http3": True}
    app.write_config()
    app.playbook("deploy")
    app.playbook("proxy_reboot", "-e", "confirm=true")
    ports = app.lab.ssh(app.ip, "docker port kamal-proxy").stdout
    assert "443/udp" in ports, ports
    context = ssl.create_default_context(cadata=cert)
    conn = http.client.HTTPSConnection(app.ip, 443, timeout=5, context=context)
    conn._tunnel_host = None  # pylint: disable=protected-access
    sock = socket.create_connection((app.ip, 443), timeout=5)
    conn.sock = context.wrap_socket(sock, server_hostname=app.host)
    auth = base64.b64encode(("admin:" + PASSWORD).encode()).decode()
    conn.request("GET", "/", headers={"Host": app.host, "Authorization": "Basic " + auth})
    response = conn.getresponse()
    assert response.status == 200 and response.read().decode().strip() == "app v1"
    assert 'h3=":443"' in (response.getheader("Alt-Svc") or ""), response.getheaders()
    conn.close()
    assert 1 in quic_versions(app.ip)  # QUIC v1 answers on the published UDP port
