"""A proxied accessory with its own certificate (proxy.ssl certificate_pem/private_key_pem from secrets) is
served over HTTPS with that certificate, not one Caddy would try to get from ACME."""
import datetime
import os
import socket
import ssl
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
from project import App  # noqa: E402  pylint: disable=wrong-import-position
from test_tls import https_get  # noqa: E402  pylint: disable=wrong-import-position

ISSUER = "kamal.deploy accessory test"


def self_signed(host):
    """(certificate PEM, key PEM) for ``host``, issued by ISSUER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def dotenv_quoted(pem):
    """A PEM as a .kamal/secrets value: double quotes keep its lines."""
    return '"%s"' % pem.strip()


def test_a_proxied_accessory_is_served_with_its_own_certificate(lab, tmp_path):
    ip = lab.ips[0]
    app = App(lab, tmp_path, prefix="atls", servers={"web": [ip]})
    admin_host = "admin-" + app.host
    cert, key = self_signed(admin_host)
    app.config["accessories"] = {"admin": {
        "image": f"{lab.registry}/demo-app:v1", "host": ip,
        "proxy": {"host": admin_host, "app_port": 80, "ssl": {"certificate_pem": "ADMIN_CERT", "private_key_pem": "ADMIN_KEY"}}}}
    app.secrets += "ADMIN_CERT=%s\nADMIN_KEY=%s\n" % (dotenv_quoted(cert), dotenv_quoted(key))
    app.write_config()
    try:
        app.commit("v1")
        app.playbook("deploy")
        booted = app.playbook("accessory_boot", "-e", "accessory=admin")
        assert "BEGIN PRIVATE KEY" not in booted.stdout + booted.stderr
        started, answer = time.monotonic(), None
        while answer is None and time.monotonic() - started < 30:
            try:
                answer = https_get(ip, admin_host, cert)
            except (OSError, ssl.SSLError, socket.timeout):
                time.sleep(0.3)
        assert answer is not None, "no HTTPS answer with the accessory's certificate within 30 s"
        status, body, issuer = answer
        assert (status, body.strip(), issuer) == ("HTTP/1.1 200 OK", "app v1", ISSUER)
    finally:
        app.playbook("accessory_remove", "-e", "accessory=admin", "-e", "confirm=true", check=False)
        app.playbook("app_remove", "-e", "confirm=true", check=False)
