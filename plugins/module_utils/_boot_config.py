# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamal's ``proxy boot_config``: the proxy's boot settings kept on each proxy host in ``.kamal/proxy/`` as four
files, ``options`` (docker run options), ``image``, ``image_version`` and ``run_command``, each written only when
it differs from Kamal's default and removed when it does not. Kamal (2.10+) prefers ``proxy.run`` in deploy.yml
and calls this deprecated; the files stay readable by Kamal's own ``proxy boot``.

:func:`run_settings` reads them back as kamal.deploy's proxy ``run`` settings (ports, bind IPs, publish, log size,
metrics port, debug, docker options): a proxy boot without ``run`` uses them (``_proxy_boot.boot_args``), as Kamal's
boot does without proxy.run. The image files name Kamal's kamal-proxy image, which our proxy (Caddy) does not run,
so they are kept for Kamal only.

Stdlib only: kamal_server runs it on the servers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

DIRECTORY = os.path.join(".kamal", "proxy")
FILES = ("options", "image", "image_version", "run_command")
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"
IMAGE_DEFAULT = "basecamp/kamal-proxy"
MINIMUM_VERSION = "v0.9.2"


class BootConfigError(Exception):
    pass


def _bind_ip(ip):
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise BootConfigError("Invalid publish IP address: %s" % ip)
    return "[%s]" % address if address.version == 6 else ip


def publish_args(http_port, https_port, bind_ips=None):
    """``--publish [ip:]<http>:80 --publish [ip:]<https>:443``, one pair per bind IP, as one string."""
    pairs = []
    for ip in bind_ips or [None]:
        prefix = _bind_ip(ip) + ":" if ip else ""
        pairs.append("--publish %s%s:%d --publish %s%s:%d" % (prefix, http_port, DEFAULT_HTTP_PORT, prefix, https_port,
                                                              DEFAULT_HTTPS_PORT))
    return " ".join(pairs)


def boot_options(settings):
    """The ``options`` words for ``kamal proxy boot_config set`` settings."""
    words = []
    if settings.get("publish", True):
        words.append(publish_args(settings.get("http_port") or DEFAULT_HTTP_PORT, settings.get("https_port") or DEFAULT_HTTPS_PORT,
                                  settings.get("publish_host_ip")))
    log_max_size = settings.get("log_max_size") or DEFAULT_LOG_MAX_SIZE
    words += ["--log-opt", "max-size=%s" % log_max_size]
    if settings.get("metrics_port"):
        words.append("--expose=%s" % settings["metrics_port"])
    words += ["--%s" % option for option in settings.get("docker_options") or []]
    return words


def default_boot_options():
    return boot_options({})


def _dump(value):
    """Ruby's ``String#dump`` of a plain value: double quotes, backslash and quote escaped."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def desired_files(settings):
    """File name -> content for ``set`` (None: the file is removed, as it holds Kamal's default)."""
    options = boot_options(settings)
    image = "/".join(part for part in (settings.get("registry") or None, settings.get("repository") or "basecamp",
                                       "kamal-proxy") if part)
    run_options = []
    if settings.get("debug"):
        run_options.append("--debug")
    if settings.get("metrics_port"):
        run_options.append("--metrics-port %s" % _dump(settings["metrics_port"]))
    return {
        "options": " ".join(options) if options != default_boot_options() else None,
        "image": image if image != IMAGE_DEFAULT else None,
        "image_version": settings.get("image_version") or None,
        "run_command": "kamal-proxy run %s" % " ".join(run_options) if run_options else None,
    }


def read_files(home):
    """File name -> content of the files present."""
    found = {}
    for name in FILES:
        try:
            with open(os.path.join(home, DIRECTORY, name), "r", encoding="utf-8") as handle:
                found[name] = handle.read()
        except (IOError, OSError):
            continue
    return found


def describe(files):
    """What ``kamal proxy boot_config get`` prints after ``Host <host>: ``: the options, image:version and run
    command, each from its file or Kamal's default, as the shell's ``echo $(...)`` joins them."""
    options = files.get("options", " ".join(default_boot_options()))
    image = (files.get("image") or IMAGE_DEFAULT).strip()
    version = (files.get("image_version") or MINIMUM_VERSION).strip()
    return " ".join(options.split() + ["%s:%s" % (image, version)] + files.get("run_command", "").split())


def run_settings(files):
    """kamal.deploy's proxy ``run`` settings from the files (None without an options or run_command file)."""
    if "options" not in files and "run_command" not in files:
        return None
    words = files.get("options", " ".join(default_boot_options())).split()
    run = {"publish": False, "log_max_size": DEFAULT_LOG_MAX_SIZE, "debug": False, "options": {}}
    bind_ips = []
    index = 0
    while index < len(words):
        word = words[index]
        value = words[index + 1] if index + 1 < len(words) else ""
        if word == "--publish":
            run["publish"] = True
            host_part, _sep, container_port = value.rpartition(":")
            ip, _sep, host_port = host_part.rpartition(":")
            key = "http_port" if container_port == str(DEFAULT_HTTP_PORT) else "https_port"
            run[key] = int(host_port)
            if ip and ip not in bind_ips:
                bind_ips.append(ip.strip("[]"))
            index += 2
        elif word == "--log-opt" and value.startswith("max-size="):
            run["log_max_size"] = value.split("=", 1)[1]
            index += 2
        elif word.startswith("--expose="):
            index += 1
        elif word.startswith("--"):
            name, sep, option = word[2:].partition("=")
            run["options"][name] = option if sep else True
            index += 1
        else:
            index += 1
    if bind_ips:
        run["bind_ips"] = bind_ips
    command = files.get("run_command", "").split()
    run["debug"] = "--debug" in command
    if "--metrics-port" in command[:-1]:
        run["metrics_port"] = int(command[command.index("--metrics-port") + 1].strip('"'))
    return run
