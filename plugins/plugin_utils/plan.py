# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolved plan: for one host and one role (or accessory), the exact arguments of its kamal_app (or
kamal_accessory) call, computed on the controller from the ``kamal`` variable the inventory sets
(``KamalConfig.to_dict()``) and the secret values the command resolved (kamal_plan_run).

Pure functions: no Ansible, no I/O except reading accessory files (through ``read_file``, injected)."""

from __future__ import annotations

import base64
import os

from ansible_collections.kamal.deploy.plugins.module_utils import _error_pages
from ansible_collections.kamal.deploy.plugins.module_utils import _proxy_boot
from ansible_collections.kamal.deploy.plugins.module_utils import _route
from ansible_collections.kamal.deploy.plugins.plugin_utils import erb

# Each command's own options (the command table's, resolved into kamal_plan_run), passed on when given.
APP_COMMAND_OPTIONS = ("exec_command", "exec_env", "reuse", "detach", "lines", "since", "grep", "container_id", "stop",
                       "maintenance_message", "remove_images", "remove_app_directory", "prune_only", "rollout_percent",
                       "rollout_list")
ACCESSORY_COMMAND_OPTIONS = ("force", "confirm", "lines", "since", "grep", "exec_command", "reuse")
# Kamal's own labels on an accessory are the module's to set (from accessory_service), not the caller's.
ACCESSORY_OWN_LABELS = ("service", "role", "destination")


class PlanError(Exception):
    """A plan that cannot be made: the message names the role or accessory, the setting and the fix."""


def secret_value(secrets, key, where):
    """The value of the secret ``key``, or a PlanError naming ``where`` it is used and the fix."""
    try:
        return secrets[key]
    except KeyError:
        raise PlanError("%s: the secret %s has no value (add it to .kamal/secrets)" % (where, key)) from None


def secret_env(env, secrets, where):
    """Container variable -> secret value, for an env's ``secret`` entries (``NAME`` or ``NAME:KEY``)."""
    return {var: secret_value(secrets, key, where) for var, key in (env.get("secrets") or {}).items()}


def registry_login(kamal, secrets, needs_secrets=True):
    """``docker login`` on the servers before a pull, or None: none for a local registry, for ssh delivery,
    without a username (a public image needs no login), or when the command reads no secret."""
    registry = kamal["registry"]
    if (registry.get("local") or kamal.get("image_delivery") == "ssh" or not needs_secrets
            or not (registry.get("username") or registry.get("username_secret"))):
        return None
    return {"server": registry.get("server"),
            "username": registry.get("username") or secret_value(secrets, registry.get("username_secret"), "registry/username"),
            "password": registry.get("password") or secrets.get(registry.get("password_secret"))}


def registry_credentials(registry, secrets):
    """The registry's server and the credentials given (values from the config, or of the secrets they name)."""
    credentials = {"server": registry.get("server")}
    for key in ("username", "password"):
        value = registry.get(key) or secrets.get(registry.get(key + "_secret"))
        if value:
            credentials[key] = value
    return credentials


def route(proxy, secrets, where, unresolved_ok=False, salt=None, own_unresolved_ok=False):
    """A role's or accessory's proxy settings (the config model's Proxy) as the modules' ``proxy`` option: its
    route, with the certificate secrets' values in the route's certificate keys and x-kamal-deploy's secrets
    resolved (the basic auth password hashed here, salted with ``salt``: it never reaches a server); unset
    settings are left out so the module's defaults apply. ``unresolved_ok``: a command that read no secret routes
    without the certificate rather than failing; ``own_unresolved_ok`` (or ``unresolved_ok``): the basic auth keeps
    its user without a hash, and the proxy keeps the hash it has."""
    settings = dict(proxy["route"])
    for setting, name in proxy["ssl_secrets"].items():
        if not (unresolved_ok and name not in secrets):
            settings[_route.KAMAL_SSL_KEYS[setting]] = secret_value(secrets, name, "%s/proxy/ssl/%s" % (where, setting))
    own = {tuple(key.split("/")): name for key, name in (proxy.get("own_secrets") or {}).items()
           if not ((unresolved_ok or own_unresolved_ok) and name not in secrets)}
    if own:
        try:
            settings = _route.resolve_own_secrets(settings, own, lambda name, at: secret_value(secrets, name, at),
                                                  salt or where)
        except ValueError as e:
            raise PlanError("%s: %s" % (where, e)) from None
    return {key: value for key, value in settings.items() if value is not None}


def _named(items, name, kind):
    found = next((item for item in items if item["name"] == name), None)
    if found is None:
        raise PlanError("No %s by the name of '%s' in the config (%s: %s)"
                        % (kind, name, kind + "s", ", ".join(item["name"] for item in items) or "none"))
    return found


def _command_options(options, names):
    return {name: options[name] for name in names if name in options}


def error_pages(kamal, listdir=os.listdir, read_file=None):
    """The app's error pages (``error_pages_path``: its ``4??.html`` and ``5??.html``, as Kamal uploads them): name ->
    text, read on the controller and checked (a page the proxy could not render fails here, naming it). {} when the
    key is unset or the directory has none."""
    path = kamal.get("error_pages_path")
    if not path:
        return {}
    directory = path if os.path.isabs(path) else os.path.join(kamal["project_dir"], path)
    read_file = read_file or _read_bytes
    try:
        names = _error_pages.page_names(listdir(directory))
    except OSError:
        return {}
    pages = {}
    for name in names:
        where = "error_pages_path: %s" % os.path.join(path, name)
        try:
            pages[name] = read_file(os.path.join(directory, name)).decode("utf-8")
        except OSError as e:
            raise PlanError("%s: cannot read it: %s" % (where, e.strerror or e)) from None
        except UnicodeDecodeError:
            raise PlanError("%s: not UTF-8 text" % where) from None
    try:
        _error_pages.check(pages)
    except _error_pages.ErrorPageError as e:
        raise PlanError("error_pages_path: %s" % e) from None
    return pages


def app_args(kamal, role_name, host, command="boot", version=None, secrets=None, needs_secrets=True, performer=None,
             skip_prune=False, options=None, pages=None):
    """The kamal_app arguments for ``role_name`` on ``host``: the role's full spec for every command (start
    re-routes, exec runs a container like the role's, remove and stop need the route)."""
    secrets, options = secrets or {}, options or {}
    role = _named(kamal["roles"], role_name, "role")
    where = "servers/%s" % role_name
    env = role["env"][host]
    args = {
        "command": command,
        "service": kamal["service"],
        "role": role_name,
        "image": kamal["repository"],
        "host": host,
        "env": env["clear"],
        "logging": {"driver": role["logging"]["driver"], "options": role["logging"]["options"]},
        "volumes": kamal["volumes"],
        "labels": role["labels"],
        "options": role["options"],
        "readiness_delay": kamal["readiness_delay"],
        "deploy_timeout": kamal["deploy_timeout"],
        "min_uptime": kamal.get("min_uptime") or 0,
        "drain_timeout": kamal["drain_timeout"],
        "retain_containers": options["retain"] if "retain" in options else kamal["retain_containers"],
        "stop_stale": command == "boot",
        "prune": command == "boot" and not skip_prune,
        "performer": performer,
    }
    if kamal.get("destination"):
        args["destination"] = kamal["destination"]
    if version:
        args["version"] = version
    login = registry_login(kamal, secrets, needs_secrets)
    if login:
        args["registry"] = login
    # Without secrets (commands that boot nothing) the env file on the server is left as it is.
    if needs_secrets:
        args["secret_env"] = secret_env(env, secrets, where + "/env")
    if role.get("cmd"):
        args["cmd"] = role["cmd"]
    if role.get("running_proxy"):
        args["proxy"] = route(role["proxy"], secrets, where, salt="%s/%s" % (kamal["service"], role_name),
                              own_unresolved_ok=not needs_secrets)
        if role.get("asset_path"):  # Kamal bridges assets for roles behind the proxy only
            args["asset_path"] = role["asset_path"]
            if role.get("asset_path_options"):
                args["asset_path_options"] = role["asset_path_options"]
    if role.get("effective_stop_timeout"):
        args["stop_timeout"] = role["effective_stop_timeout"]
    if command == "boot":
        # The pages go up with every boot call (Kamal uploads them to every app host before it boots).
        pages = error_pages(kamal) if pages is None else pages
        if pages:
            args["error_pages"] = pages
    args.update(_command_options(options, APP_COMMAND_OPTIONS))
    if options.get("raw_output"):
        args["raw"] = True  # the action writes the output's bytes to that file on the controller
    return args


# What each parallel_roles entry leaves out: the secrets (they go in parallel_secrets, which kamal_app masks), the
# registry login (the call's own) and what only the call's first role does (the proxy's boot, the prune).
PARALLEL_LEFT_OUT = ("secret_env", "registry", "proxy_boot", "prune", "performer")


def parallel_boot(args_list, barrier):
    """One kamal_app call booting several roles of a host at once (boot.parallel_roles): the first role's arguments,
    the others' in ``parallel_roles`` and their secret values in ``parallel_secrets``; ``barrier``: the first role
    is the primary one, the others wait for its healthy container."""
    main = dict(args_list[0])
    entries, secrets = [], {}
    for args in args_list[1:]:
        entry = {k: v for k, v in args.items() if k not in PARALLEL_LEFT_OUT}
        hidden = {"secret_env": args.get("secret_env") or {}}
        proxy = dict(entry.get("proxy") or {})
        # The route's values the module does not log (certificates, the basic auth hash) go with the secrets.
        hidden_route = {key: proxy.pop(key) for key in _route.SECRET_KEYS if key in proxy}
        for key, sub in _route.SECRET_SUBKEYS:
            if sub in (proxy.get(key) or {}):
                proxy[key] = dict(proxy[key])
                hidden_route.setdefault(key, {})[sub] = proxy[key].pop(sub)
        if hidden_route:
            entry["proxy"], hidden["proxy"] = proxy, hidden_route
        entries.append(entry)
        secrets[args["role"]] = hidden
    main.update(parallel_roles=entries, parallel_secrets=secrets, barrier=bool(barrier))
    return main


def accessory_registry(kamal, accessory, secrets, needs_secrets=True):
    """Kamal: the image is prefixed by the accessory's own registry only; the root registry logs in (and is
    used) when the image names it. Only commands that pull log in; the others need the server for the name."""
    root = kamal["registry"]
    config = accessory.get("registry")
    image = accessory.get("image") or ""
    if not config and root.get("server") and image.startswith(root["server"] + "/"):
        config = root
    if not config or not config.get("server"):
        return None
    username = password = None
    if needs_secrets:
        username = config.get("username") or secrets.get(config.get("username_secret"))
        password = config.get("password") or secrets.get(config.get("password_secret"))
    return {"server": config["server"], "username": username, "password": password}


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def accessory_files(accessory, secrets, read_file=_read_bytes, environ=None):
    """The accessory's files, read on the controller; ``.erb`` ones rendered with the accessory's env
    (``ENV["NAME"]``; the accessory's env wins over the controller's environment, as in Kamal)."""
    where = "accessories/%s" % accessory["name"]
    files = []
    for entry in accessory.get("files") or []:
        try:
            content = read_file(entry["local"])
        except OSError as e:
            raise PlanError("%s/files: cannot read %s: %s" % (where, entry["local"], e.strerror or e)) from None
        if entry.get("template"):
            env = dict(os.environ if environ is None else environ)
            env.update({str(k): str(v) for k, v in accessory["env"]["clear"].items()})
            # A command that reads no secret renders without them: ENV.fetch of one fails, naming it.
            env.update({var: str(secrets[key]) for var, key in accessory["env"]["secrets"].items() if key in secrets})
            try:
                content = erb.render(content.decode("utf-8"), env, entry["local"]).encode("utf-8")
            except (erb.ErbError, UnicodeDecodeError) as e:
                raise PlanError(str(e)) from None
        files.append({"content_b64": base64.b64encode(content).decode("ascii"), "remote": entry["remote"],
                      "mode": entry.get("mode"), "owner": entry.get("owner"), "options": entry.get("options")})
    return files


def accessory_args(kamal, name, host, command="boot", secrets=None, needs_secrets=True, options=None,
                   read_file=_read_bytes, environ=None, performer=None):
    """The kamal_accessory arguments for accessory ``name`` on ``host``; ``performer`` signs its audit lines."""
    secrets, options = secrets or {}, options or {}
    accessory = _named(kamal["accessories"], name, "accessory")
    where = "accessories/%s" % name
    args = {
        "command": command,
        "service": kamal["service"],
        "name": name,
        "accessory_service": accessory["service_name"],
        "image": accessory["image"],
        "host": host,
        "network": accessory["network"],
        "env": accessory["env"]["clear"],
        "labels": {k: v for k, v in accessory["labels"].items() if k not in ACCESSORY_OWN_LABELS},
        "options": accessory["options"],
        "files": accessory_files(accessory, secrets, read_file, environ),
        # local, remote, mode, owner and options of each entry are what the module reads.
        "directories": accessory["directories"],
        "volumes": accessory["volumes"],
    }
    if performer:
        args["performer"] = performer
    if kamal.get("destination"):
        args["destination"] = kamal["destination"]
    registry = accessory_registry(kamal, accessory, secrets, needs_secrets)
    if registry:
        args["registry"] = registry
    if accessory.get("port"):
        args["port"] = accessory["port"]
    if needs_secrets:
        args["secret_env"] = secret_env(accessory["env"], secrets, where + "/env")
    if accessory.get("cmd"):
        args["cmd"] = accessory["cmd"]
    logging = kamal["logging"]
    if logging.get("driver") or logging.get("options"):
        args["logging"] = {"driver": logging.get("driver"), "options": logging.get("options")}
    if accessory.get("proxy"):
        # As for a role: with proxy.ssl certificate_pem/private_key_pem the route carries the certificate, not
        # just tls (Caddy would otherwise fall back to ACME). Commands that read no secret (stop, details...)
        # route without it, as they always did.
        args["proxy"] = route(accessory["proxy"], secrets, where, unresolved_ok=not needs_secrets)
    args.update(_command_options(options, ACCESSORY_COMMAND_OPTIONS))
    return args


# The proxy image's Dockerfile, shipped in the proxy role (built on each server when no prebuilt image is given).
PROXY_DOCKERFILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "roles", "proxy", "files", "Dockerfile")
# Kamal's proxy.run keys, as kamal_proxy's ``run`` option takes them.
PROXY_RUN_KEYS = ("http_port", "https_port", "bind_ips", "publish", "log_max_size", "metrics_port", "debug", "options")


def proxy_boot(kamal, run, host, role_name):
    """kamal_app's ``proxy_boot`` for ``role_name`` on ``host``, or None: the proxy is ensured inside the app boot
    call (no remote call of its own) for a command that boots it (``run["proxy"]``: deploy, setup), on a proxy
    host, by the first role of the host that runs the proxy (primary first), so once per host and run. ``run``:
    the resolved command (commands.resolve); its ``proxy_args`` minus what only kamal_proxy takes."""
    if not run.get("proxy") or host not in (run.get("proxy_hosts") or ()):
        return None
    proxied = {role["name"] for role in kamal["roles"] if role.get("running_proxy")}
    placed = (run.get("hosts") or {}).get(host) or {}
    first = next((name for name in list(placed.get("primary") or ()) + list(placed.get("others") or ())
                  if name in proxied), None)
    if first != role_name:
        return None
    boot_options = _proxy_boot.option_spec()
    return {key: value for key, value in run["proxy_args"].items() if key in boot_options}


def proxy_args(kamal, settings, read_file=_read_bytes):
    """kamal_proxy's arguments but its ``command``: the image (a prebuilt one, else the role's Dockerfile built on
    the server with its build args), the run settings (the proxy role's ``run``, else the config's proxy.run),
    ACME, takeover, force and keep_in_use. ``settings``: the proxy role's variables by their
    short names (commands.PROXY_SETTINGS). The same dict is what the app boot passes to ensure the proxy."""
    args = {"takeover": bool(settings.get("takeover")), "force": bool(settings.get("force")),
            "keep_in_use": bool(settings.get("keep_in_use"))}
    if settings.get("image"):
        args["image"] = settings["image"]
    else:
        try:
            dockerfile = read_file(PROXY_DOCKERFILE).decode("utf-8")
        except OSError as e:
            raise PlanError("cannot read the proxy's Dockerfile %s: %s" % (PROXY_DOCKERFILE, e.strerror or e)) from None
        args.update(image=settings["build_image"], dockerfile=dockerfile, build_args=settings.get("build_args") or {})
    run = settings.get("run") or {}
    config_run = (kamal.get("proxy") or {}).get("run")
    if not run and config_run:
        run = {key: config_run.get(key) for key in PROXY_RUN_KEYS}
        run["debug"] = bool(run["debug"])
    if kamal.get("proxy_http3"):
        run = dict(run, http3=True)
    if run:
        args["run"] = run
    if settings.get("acme"):
        args["acme"] = settings["acme"]
    return args


# kamal_server's own options, passed on from the resolved command when given.
SERVER_COMMAND_OPTIONS = ("exec_command", "boot_config", "boot_settings")


def server_args(kamal, host, command, secrets=None, performer=None, options=None):
    """The kamal_server arguments on ``host``: the service, the audit's performer and, for a registry login or
    logout, the registry (its credentials from the config or their secrets)."""
    secrets, options = secrets or {}, options or {}
    args = {"command": command, "service": kamal["service"], "host": host}
    if kamal.get("destination"):
        args["destination"] = kamal["destination"]
    if performer:
        args["performer"] = performer
    if command in ("login", "logout"):
        args["registry"] = registry_credentials(kamal["registry"], secrets)
    args.update(_command_options(options, SERVER_COMMAND_OPTIONS))
    return args
