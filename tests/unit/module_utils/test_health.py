"""Health probes and their diagnostics (module_utils/_health.py), with a fake clock and a real local HTTP server."""
import http.server
import socket
import threading

import pytest

from ansible_collections.kamal.deploy.plugins.module_utils import _health as health


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def scripted_probe(clock, answers):
    answers = list(answers)

    def probe(url, timeout=5):
        clock.now += 0.01
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, int):
            return health.ProbeResult(url, status=answer)
        if isinstance(answer, tuple):
            return health.ProbeResult(url, status=answer[0], location=answer[1])
        return health.ProbeResult(url, error=answer)

    return probe


def test_wait_http_passes_on_the_first_2xx():
    clock = Clock()
    result = health.wait_http("http://x/up", 30, probe=scripted_probe(clock, ["connection refused", 503, 200]),
                              clock=clock, sleep=clock.sleep)
    assert result.ok and result.attempts == 3
    assert clock.sleeps == [1, 1]


def test_wait_http_gives_up_at_deploy_timeout_with_the_last_answer():
    clock = Clock()
    result = health.wait_http("http://x/up", 5, interval=1, probe=scripted_probe(clock, [404]), clock=clock,
                              sleep=clock.sleep)
    assert not result.ok
    assert 5 <= result.waited < 6.5
    assert result.last.describe() == "HTTP 404"
    message = health.http_failure_message("app-web-v2", "vm1", result, 5, logs="line 1\nline 2\n")
    assert message.splitlines()[0] == "app-web-v2 on vm1 did not become healthy: GET http://x/up: HTTP 404"
    assert "deploy_timeout is 5 s" in message
    assert message.splitlines()[-2:] == ["line 1", "line 2"]


def test_a_dead_container_stops_the_wait_at_once():
    clock = Clock()
    result = health.wait_http("http://x/up", 30, probe=scripted_probe(clock, ["connection refused"]),
                              abort=lambda: "the container exited (exit code 1)", clock=clock, sleep=clock.sleep)
    assert not result.ok and result.attempts == 1
    assert "stopped waiting: the container exited (exit code 1)" in health.http_failure_message(
        "c", "h", result, 30, logs="")


def test_redirects_to_https_say_why():
    text = health.ProbeResult("u", status=301, location="https://app.example.com/up").describe()
    assert text.startswith("HTTP 301 redirect to https://app.example.com/up (the app forces SSL")
    assert health.ProbeResult("u", status=302, location="/login").describe() == (
        "HTTP 302 redirect to /login (health checks do not follow redirects)")


def test_wait_container_is_kamals_poller():
    clock = Clock()
    states = iter(["created", "created", "running", "running"])
    result = health.wait_container(lambda: next(states), 30, 7, clock=clock, sleep=clock.sleep)
    assert result.ok and result.status == "running"
    assert clock.sleeps == [1, 2, 7]


def test_wait_container_healthy_passes_without_readiness_delay():
    clock = Clock()
    result = health.wait_container(lambda: "healthy", 30, 7, clock=clock, sleep=clock.sleep)
    assert result.ok and clock.sleeps == []


def test_wait_container_fails_with_kamals_message():
    clock = Clock()
    result = health.wait_container(lambda: "exited", 10, 7, clock=clock, sleep=clock.sleep)
    assert not result.ok and result.status == "exited"
    message = health.container_failure_message("app-workers-v2", "vm1", result, 10, 7, logs="", health_log=None)
    assert message.startswith("app-workers-v2 on vm1: container not ready after 10 seconds (exited)")
    assert "(the container logged nothing)" in message


def test_running_then_gone_after_readiness_delay_fails():
    clock = Clock()
    states = iter(["running", "exited"] * 20)
    result = health.wait_container(lambda: next(states), 10, 2, clock=clock, sleep=clock.sleep)
    assert not result.ok and result.status == "exited"


def test_wait_container_stops_when_abort_answers():
    clock = Clock()
    result = health.wait_container(lambda: "running", 30, 7, abort=lambda: "it restarted 1 time", clock=clock,
                                   sleep=clock.sleep)
    assert not result.ok and result.aborted == "it restarted 1 time" and clock.sleeps == [7]
    message = health.container_failure_message("app-workers-v2", "vm1", result, 30, 7, logs="", left="app-workers-v1"
                                               " keeps serving on vm1")
    assert message.startswith("app-workers-v2 on vm1: container not ready: it restarted 1 time (7.0 s into the wait)")
    assert "the new container was stopped; app-workers-v1 keeps serving on vm1" in message


@pytest.mark.parametrize("crash, text", [
    ({"status": "exited", "exit_code": 3, "uptime": 1.04, "restarts": 0}, "exited with code 3 after 1.0 s"),
    ({"status": "running", "exit_code": 3, "uptime": 12.1, "restarts": 1}, "exited with code 3 after 12.1 s (restarted 1 time)"),
    ({"status": "restarting", "exit_code": None, "uptime": None, "restarts": 2}, "exited (restarted 2 times)"),
    ({"status": "running", "restarts": 0, "restarted_by_hand": True},
     "was started again by something else than this deploy (its StartedAt changed)"),
])
def test_crash_text(crash, text):
    assert health.crash_text(crash) == text


def test_not_up_message_names_host_container_and_what_is_left():
    crash = {"status": "running", "exit_code": 3, "uptime": 12.1, "restarts": 1}
    message = health.not_up_message("demo-workers-v2", "vm2", crash, 15, "demo-workers-v1 was started again and runs on vm2",
                                    logs="a\nb\n")
    assert message.splitlines() == [
        "on vm2: demo-workers-v2 exited with code 3 after 12.1 s (restarted 1 time); demo-workers-v1 was started again"
        " and runs on vm2",
        "a booted container must run, never restarted, for min_uptime=15 s after it started",
        "last log lines of the new container:", "a", "b"]


# the real probe ----------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/up":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.headers.get("User-Agent", "").encode())
        elif self.path == "/redirect":
            self.send_response(301)
            self.send_header("Location", "https://example.test/up")
            self.end_headers()
        elif self.path == "/slow":
            threading.Event().wait(2)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def test_http_probe_answers(server):
    assert health.http_probe(server + "/up").ok
    assert health.http_probe(server + "/nope").describe() == "HTTP 404"
    redirect = health.http_probe(server + "/redirect")
    assert redirect.status == 301 and redirect.location == "https://example.test/up"
    assert health.http_probe(server + "/slow", timeout=0.3).describe() == "timed out after 0.3 s (healthcheck timeout)"


def test_http_probe_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    assert health.http_probe("http://127.0.0.1:%d/up" % port, timeout=1).describe() == "connection refused"
