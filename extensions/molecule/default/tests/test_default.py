"""Verifier: each lab server runs the probe container, answering over HTTP."""


def test_probe_container_runs(host):
    out = host.check_output("docker inspect --format '{{.State.Running}} {{.Config.Image}}' molecule-probe")
    assert out == "true 172.29.0.1:5000/demo-app:v1"


def test_probe_answers_with_its_version(host):
    assert host.check_output("curl -fsS http://127.0.0.1:18080/") == "app v1"
    assert host.check_output("curl -fsS http://127.0.0.1:18080/up") == "ok"
