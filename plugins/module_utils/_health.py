# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health probes of a freshly booted app container, and the diagnostics a failed deploy prints.

Two waits, both Kamal's:

* proxied roles: the container answers 2xx on the health path (``/up``) at ``<ip>:<app_port>`` within
  ``deploy_timeout``, probed like kamal-proxy does (``User-Agent: kamal-proxy``, redirects not followed,
  one probe per ``healthcheck.interval``, each limited to ``healthcheck.timeout``);
* other roles: Docker's HEALTHCHECK says ``healthy``, or the container is ``running``, still ``running``
  ``readiness_delay`` seconds later (Kamal's ``Healthcheck::Poller``).

Clocks, sleeps and the HTTP probe are parameters so the unit tests run without time passing or a network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import time

from urllib import error as urllib_error
from urllib import request as urllib_request

from ansible_collections.kamal.deploy.plugins.module_utils import _caddy

USER_AGENT = "kamal-proxy"
# The route's health check defaults are the proxy backend's (the one home of route defaults).
DEFAULT_PATH = _caddy.DEFAULT_HEALTHCHECK["path"]
DEFAULT_INTERVAL = _caddy.DEFAULT_HEALTHCHECK["interval"]
DEFAULT_TIMEOUT = _caddy.DEFAULT_HEALTHCHECK["timeout"]


class ProbeResult:
    """One HTTP probe: ``status`` (int or None), ``error`` (text or None), ``location`` of a redirect."""

    def __init__(self, url, status=None, error=None, location=None, elapsed=0.0):
        self.url = url
        self.status = status
        self.error = error
        self.location = location
        self.elapsed = elapsed

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def describe(self):
        """What a human wants to read about this probe: ``HTTP 404``, ``connection refused``, ..."""
        if self.error:
            return self.error
        if self.status is None:
            return "no answer"
        if 300 <= self.status < 400:
            where = self.location or "?"
            text = "HTTP %d redirect to %s" % (self.status, where)
            if where.startswith("https:"):
                text += (" (the app forces SSL: health checks are plain HTTP and do not follow redirects;"
                         " exclude the health path from the redirect, e.g. Rails' config.ssl_options"
                         " = { redirect: { exclude: ->(r) { r.path == \"/up\" } } })")
            else:
                text += " (health checks do not follow redirects)"
            return text
        return "HTTP %d" % self.status

    def to_dict(self):
        return {"url": self.url, "status": self.status, "error": self.error, "location": self.location,
                "elapsed": round(self.elapsed, 3), "ok": self.ok}


class _NoRedirect(urllib_request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # pylint: disable=too-many-arguments
        return None


_OPENER = urllib_request.build_opener(_NoRedirect, urllib_request.ProxyHandler({}))


def _reason_text(reason, timeout):
    if isinstance(reason, socket.timeout) or "timed out" in str(reason):
        return "timed out after %s s (healthcheck timeout)" % _num(timeout)
    err = getattr(reason, "errno", None)
    if err == errno.ECONNREFUSED or "refused" in str(reason).lower():
        return "connection refused"
    if err in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host unreachable"
    if err == errno.ECONNRESET:
        return "connection reset"
    return str(reason)


def http_probe(url, timeout=DEFAULT_TIMEOUT, clock=time.monotonic):
    """GET ``url`` once, without following redirects; never raises."""
    started = clock()
    req = urllib_request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        resp = _OPENER.open(req, timeout=timeout)
        try:
            resp.read(65536)
        finally:
            resp.close()
        return ProbeResult(url, status=resp.getcode(), elapsed=clock() - started)
    except urllib_error.HTTPError as exc:
        location = exc.headers.get("Location") if exc.headers is not None else None
        return ProbeResult(url, status=exc.code, location=location, elapsed=clock() - started)
    except urllib_error.URLError as exc:
        return ProbeResult(url, error=_reason_text(exc.reason, timeout), elapsed=clock() - started)
    except (socket.timeout, OSError) as exc:
        return ProbeResult(url, error=_reason_text(exc, timeout), elapsed=clock() - started)
    except Exception as exc:  # pylint: disable=broad-except
        # http.client raises a zoo of exceptions (BadStatusLine, RemoteDisconnected, ...): all mean "not healthy".
        return ProbeResult(url, error="%s: %s" % (type(exc).__name__, exc), elapsed=clock() - started)


class WaitResult:
    def __init__(self, ok, waited, attempts, last=None, status=None, aborted=None):
        self.ok = ok
        self.waited = waited
        self.attempts = attempts
        self.last = last          # last ProbeResult (HTTP wait)
        self.status = status      # last container status (container wait)
        self.aborted = aborted    # why the wait stopped early (the container exited, ...)

    def to_dict(self):
        data = {"ok": self.ok, "waited": round(self.waited, 3), "attempts": self.attempts}
        if self.last is not None:
            data["last"] = self.last.to_dict()
        if self.status is not None:
            data["status"] = self.status
        if self.aborted:
            data["aborted"] = self.aborted
        return data


def wait_http(url, deploy_timeout, interval=DEFAULT_INTERVAL, timeout=DEFAULT_TIMEOUT, abort=None,
              probe=http_probe, clock=time.monotonic, sleep=time.sleep):
    """Probe ``url`` until it answers 2xx or ``deploy_timeout`` seconds passed.

    ``abort()`` is called between probes; a non-empty answer (e.g. ``container exited (code 1)``) ends
    the wait at once: a dead container will not become healthy.
    """
    started = clock()
    deadline = started + deploy_timeout
    attempts = 0
    last = None
    while True:
        attempts += 1
        remaining = deadline - clock()
        last = probe(url, timeout=max(0.2, min(timeout, remaining)) if remaining > 0 else 0.2)
        if last.ok:
            return WaitResult(True, clock() - started, attempts, last)
        if abort is not None:
            why = abort()
            if why:
                return WaitResult(False, clock() - started, attempts, last, aborted=why)
        now = clock()
        if now >= deadline:
            return WaitResult(False, now - started, attempts, last)
        sleep(max(0.0, min(interval, deadline - now)))


def wait_container(get_status, deploy_timeout, readiness_delay, abort=None, clock=time.monotonic, sleep=time.sleep):
    """Kamal's poller for roles without the proxy.

    ``get_status()`` returns the health status if the container has a HEALTHCHECK, else its state
    (``running``, ``exited``...). ``healthy`` passes at once; ``running`` passes if it is still ``running``
    ``readiness_delay`` seconds later; anything else is retried after 1, 2, 3... seconds until
    ``deploy_timeout``. ``abort()``, asked after each status, ends the wait with its answer: a container
    the restart policy brought back is ``running`` again by the recheck, which Kamal takes for ready.
    """
    started = clock()
    deadline = started + deploy_timeout
    attempt = 1
    status = None
    while True:
        status = get_status()
        if status == "running" and readiness_delay > 0:
            sleep(readiness_delay)
            status = get_status()
        why = abort() if abort is not None else None
        if why:
            return WaitResult(False, clock() - started, attempt, status=status, aborted=why)
        if status in ("running", "healthy"):
            return WaitResult(True, clock() - started, attempt, status=status)
        left = deadline - clock()
        if left <= 0:
            return WaitResult(False, clock() - started, attempt, status=status)
        sleep(min(attempt, left))
        attempt += 1


def _num(value):
    return ("%g" % value) if isinstance(value, float) else str(value)


def http_failure_message(container, host, result, deploy_timeout, logs=None, left=None):
    """The error of a proxied boot whose health check never passed; ``left``: the host's state after it."""
    last = result.last.describe() if result.last is not None else "no probe ran"
    lines = [
        "%s on %s did not become healthy: GET %s: %s" % (container, host, result.last.url if result.last else "?", last),
        "waited %.1f s over %d probe(s); deploy_timeout is %s s" % (result.waited, result.attempts, _num(deploy_timeout)),
    ]
    if result.aborted:
        lines.append("stopped waiting: %s" % result.aborted)
    lines.append("the new container was stopped; %s" % (left or "the previous version keeps serving on %s" % host))
    lines.extend(_log_lines(logs))
    return "\n".join(lines)


def container_failure_message(container, host, result, deploy_timeout, readiness_delay, logs=None, health_log=None,
                              left=None):
    """The error of a non-proxied boot: Kamal's ``container not ready after N seconds (status)`` and more."""
    if result.aborted:
        first = "%s on %s: container not ready: %s (%.1f s into the wait)" % (container, host, result.aborted, result.waited)
    else:
        first = "%s on %s: container not ready after %s seconds (%s)" % (
            container, host, _num(deploy_timeout), result.status)
    lines = [
        first,
        "a container passes when its Docker HEALTHCHECK is healthy, or (without one) when it still runs"
        " readiness_delay=%s s after starting" % _num(readiness_delay),
    ]
    if health_log:
        lines.append("last health check output: %s" % health_log)
    lines.append("the new container was stopped; %s" % (left or "the previous version keeps serving on %s" % host))
    lines.extend(_log_lines(logs))
    return "\n".join(lines)


def restarts_text(count):
    return "restarted %d time%s" % (count, "" if count == 1 else "s")


def crash_text(crash):
    """What happened to a container that was not up: ``exited with code 3 after 12.1 s (restarted 1 time)``.

    ``crash``: ``status``, ``exit_code`` and ``uptime`` of its first exit (None when unknown), ``restarts``,
    ``restarted_by_hand`` (started again without the restart policy: StartedAt moved, RestartCount did not).
    """
    restarts = crash.get("restarts") or 0
    if crash.get("exit_code") is not None or crash.get("status") in ("exited", "dead", "restarting") or restarts:
        text = "exited"
        if crash.get("exit_code") is not None:
            text += " with code %s" % crash["exit_code"]
        if crash.get("uptime") is not None:
            text += " after %.1f s" % crash["uptime"]
        if restarts:
            text += " (%s)" % restarts_text(restarts)
        elif crash.get("status") == "restarting":
            text += " (its restart policy is restarting it)"
        elif crash.get("status") == "dead":
            text += " (dead)"
        return text
    if crash.get("restarted_by_hand"):
        return "was started again by something else than this deploy (its StartedAt changed)"
    return "is %s" % crash.get("status")


def not_up_message(container, host, crash, min_uptime, left, logs=None):
    """The error of a boot whose container was not well at its end (after the switch and the old one's stop)."""
    if min_uptime:
        rule = "a booted container must run, never restarted, for min_uptime=%s s after it started" % _num(min_uptime)
    else:
        rule = ("a booted container must still run, never restarted, at the end of its boot (x-kamal-deploy:"
                " min_uptime keeps watching it longer)")
    lines = ["on %s: %s %s; %s" % (host, container, crash_text(crash), left), rule]
    lines.extend(_log_lines(logs))
    return "\n".join(lines)


def _log_lines(logs):
    if logs is None:
        return []
    logs = logs.rstrip("\n")
    if not logs:
        return ["(the container logged nothing)"]
    return ["last log lines of the new container:"] + logs.split("\n")
