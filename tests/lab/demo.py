"""`make demo`: deploy the demo (demo/) to the lab with this collection, as a user runs it, then show it answer.

The demo is the seed's shape (../shared/seed-deploy-example.yml): the web role behind the proxy with HTTPS (a
certificate Caddy gets from the lab's ACME server, Pebble) and a Postgres accessory with its data directory; its
page reads Postgres. The deploy is `kamal.deploy.setup` (the accessory's first boot, then the app), idempotent."""
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.environ.get("KAMAL_LAB_STATE", os.path.join(REPO, "build", "lab"))
DEMO = os.path.join(REPO, "demo")


def read_config():
    """(service host, server) from demo/config/deploy.yml."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(os.path.join(DEMO, "config", "deploy.yml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    return config["proxy"]["host"], config["servers"]["web"][0]


def pebble(lab, path, payload=None):
    """Pebble's management API (challtestsrv): what its validation resolves the demo's host to."""
    request = urllib.request.Request("http://%s:8055%s" % (lab["pebble"]["ip"], path), method="POST",
                                     data=json.dumps(payload).encode())
    urllib.request.urlopen(request, timeout=10).read()


def pebble_root(lab, path):
    """The root Pebble signs certificates with (a new one each time Pebble starts), for curl --cacert."""
    context = ssl.create_default_context(cafile=lab["pebble"]["listener_ca"])
    with urllib.request.urlopen("https://%s:15000/roots/0" % lab["pebble"]["ip"], timeout=10, context=context) as res:
        pem = res.read()
    with open(path, "wb") as f:
        f.write(pem)


def https_get(ip, host, cafile):
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((ip, 443), timeout=5) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
        data = b""
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _sep, body = data.decode().partition("\r\n\r\n")
    return head.splitlines()[0], body.strip()


def main():
    with open(os.path.join(STATE, "lab.json"), encoding="utf-8") as f:
        lab = json.load(f)
    host, server = read_config()
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_CONFIG=os.path.join(DEMO, "ansible.cfg"))
    pebble(lab, "/add-a", {"host": host, "addresses": [server]})
    root = os.path.join(STATE, "pebble-root.pem")
    pebble_root(lab, root)
    t0 = time.monotonic()
    cmd = ["ansible-playbook", "-i", "config/deploy.yml", "kamal.deploy.setup"]
    print(f"[demo] cd demo && {' '.join(cmd)}", flush=True)
    res = subprocess.run(cmd, cwd=DEMO, env=env, check=False)
    if res.returncode != 0:
        print("[demo] the deploy failed (see above)", file=sys.stderr)
        return res.returncode
    print(f"[demo] deployed in {time.monotonic() - t0:.1f} s\n")
    answer, deadline = None, time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = https_get(server, host, root)
            if answer[0].endswith(" 200 OK"):
                break
        except (OSError, ssl.SSLError) as e:
            answer = ("no answer yet", str(e))
        time.sleep(1)
    print(f"  https://{host}/  ->  {answer[0]}\n  {answer[1]}\n")
    root_shown = os.path.relpath(root, os.getcwd()) if root.startswith(os.getcwd()) else root
    print(f"The demo answers at https://{host}/ on {server} (Pebble's certificate; {host} resolves to {server} for it).")
    print("Each visit is written to its Postgres accessory and the count read back:")
    print(f"  curl --cacert {root_shown} --resolve {host}:443:{server} https://{host}/")
    return 0 if answer and answer[0].endswith(" 200 OK") else 1


if __name__ == "__main__":
    sys.exit(main())
