"""Interactive commands, as Kamal runs them: `ssh -t` to one host with a docker command, no ansible-playbook
in between (a terminal cannot go through a playbook).

Kamal's run_over_ssh: `ssh <proxy> <keys> -t user@host -p port '<command>'`. The user, port, key and
proxy come from the inventory's host variables, so Ansible and this ssh reach the server the same way.
Words of the user's command are joined with spaces and left to the remote shell, as Kamal does."""
import shlex

from kamal_ansible.errors import CliError


# An unreachable host fails in seconds (ssh's own default is the system's TCP timeout, minutes), and a
# connection that dies during `logs -f` is noticed; options the user's ssh args set are left to them.
CONNECT_OPTIONS = (("ConnectTimeout", "5"), ("ServerAliveInterval", "15"), ("ServerAliveCountMax", "3"))


def ssh_argv(inventory, host, command):
    hostvars = inventory.hostvars.get(host, {})
    argv = ["ssh"]
    common = hostvars.get("ansible_ssh_common_args")
    if common:
        argv += shlex.split(common)
    given = " ".join(argv).lower()
    for option, value in CONNECT_OPTIONS:
        if option.lower() not in given:
            argv += ["-o", "%s=%s" % (option, value)]
    if hostvars.get("ansible_ssh_private_key_file"):
        argv += ["-i", str(hostvars["ansible_ssh_private_key_file"])]
    argv.append("-t")
    if hostvars.get("ansible_port") not in (None, ""):
        argv += ["-p", str(hostvars["ansible_port"])]
    address = str(hostvars.get("ansible_host") or host)
    user = hostvars.get("ansible_user")
    argv.append("%s@%s" % (user, address) if user else address)
    argv.append(command)
    return argv


# Which host ------------------------------------------------------------------------------------------------

def app_target(inventory, hosts=None, roles=None):
    """(host, role) for `app exec -i` and `app logs -f`: Kamal's primary host after the filters (the first -h
    host, else the primary host of the first -r role, else the config's primary host) and its first role."""
    selected = inventory.match_roles(roles) if roles else inventory.roles
    if hosts:
        candidates = inventory.match_hosts(hosts)
    elif roles:
        candidates = list(selected[0]["hosts"])
    else:
        candidates = [inventory.kamal.get("primary_host")] + inventory.all_hosts
    for host in candidates:
        for role in selected:
            if host in role["hosts"]:
                return host, role
    raise CliError("No app host matches the given --hosts/--roles")


def primary_host(inventory, hosts=None, roles=None):
    """Kamal's primary host after the filters (`server exec -i`): the first -h host, else the first host of the
    first -r role, else the config's primary host."""
    if hosts:
        return inventory.match_hosts(hosts)[0]
    if roles:
        return inventory.match_roles(roles)[0]["hosts"][0]
    return inventory.kamal.get("primary_host") or inventory.all_hosts[0]


def accessory_host(inventory, accessory, hosts=None, roles=None):
    """The accessory's first host among the filtered hosts (Kamal: accessory hosts & KAMAL.accessory_hosts)."""
    allowed = inventory.filtered_hosts(hosts, roles)
    for host in accessory["hosts"]:
        if host in allowed:
            return host
    raise CliError("No host of accessory %s matches the given --hosts/--roles" % accessory["name"])


def proxy_host(inventory, hosts=None, roles=None):
    allowed = inventory.filtered_hosts(hosts, roles)
    proxies = [h for h in inventory.group("kamal_proxy") if h in allowed]
    if not proxies:
        raise CliError("No proxy host matches the given --hosts/--roles")
    primary = inventory.kamal.get("primary_host")
    if not hosts and primary in proxies:
        return primary
    return proxies[0]


# What to run there ------------------------------------------------------------------------------------------

def _env_args(clear, extra=None):
    args = []
    for key, value in list((clear or {}).items()) + list((extra or {}).items()):
        args += ["--env", shlex.quote("%s=%s" % (key, value))]
    return args


def current_container(inventory, role, host):
    """A shell snippet that sets $c to the newest running container of the role (C.4.3), or fails saying so."""
    kamal = inventory.kamal
    filters = ["--filter", "label=service=%s" % kamal["service"], "--filter", "label=destination=%s" % (kamal.get("destination") or ""),
               "--filter", "label=role=%s" % role["name"], "--filter", "status=running", "--filter", "status=restarting"]
    query = " ".join(["docker", "ps", "--latest", "--quiet"] + [shlex.quote(f) for f in filters])
    message = "No running %s container on %s" % (role["container_prefix"], host)
    return 'c=$(%s); [ -n "$c" ] || { echo %s >&2; exit 1; }' % (query, shlex.quote(message))


def app_exec(inventory, role, host, cmd, reuse, env, version, tty, suffix):
    it = "-it" if tty else "-i"
    if reuse:
        if version:
            return "docker exec %s %s %s" % (it, shlex.quote("%s-%s" % (role["container_prefix"], version)), cmd)
        return '%s; exec docker exec %s "$c" %s' % (current_container(inventory, role, host), it, cmd)
    kamal = inventory.kamal
    version = version or kamal.get("latest_tag") or "latest"
    clear = ((role.get("env") or {}).get(host) or {}).get("clear") or {}
    words = ["docker", "run", it, "--rm", "--name", shlex.quote("%s-exec-%s-%s" % (role["container_prefix"], version, suffix)),
             "--network", "kamal"]
    words += _env_args(clear)
    words += ["--env-file", shlex.quote(role["env_file"])]
    words += _env_args({}, env)
    words += list((role.get("logging") or {}).get("args") or [])
    words += list(kamal.get("volume_args") or [])
    words += list(role.get("option_args") or [])
    words += [shlex.quote("%s:%s" % (kamal["repository"], version)), cmd]
    return " ".join(words)


def _logs_tail(lines, since, grep, grep_options, timestamps):
    words = ["docker", "logs"]
    if timestamps:
        words.append("--timestamps")
    if since:
        words += ["--since", shlex.quote(since)]
    words += ["--tail", shlex.quote(str(lines if lines is not None else 10)), "--follow"]
    return words


def _grep(grep, grep_options):
    if not grep:
        return ""
    return " | grep %s%s" % (shlex.quote(grep), " " + grep_options if grep_options else "")


def app_follow_logs(inventory, role, host, lines=None, since=None, grep=None, grep_options=None, timestamps=True, container_id=None):
    tail = " ".join(_logs_tail(lines, since, grep, grep_options, timestamps))
    if container_id:
        return "%s %s 2>&1%s" % (tail, shlex.quote(container_id), _grep(grep, grep_options))
    return '%s; %s "$c" 2>&1%s' % (current_container(inventory, role, host), tail, _grep(grep, grep_options))


def container_follow_logs(container, lines=None, since=None, grep=None, grep_options=None, timestamps=True):
    tail = " ".join(_logs_tail(lines, since, grep, grep_options, timestamps))
    return "%s %s 2>&1%s" % (tail, shlex.quote(container), _grep(grep, grep_options))


def accessory_exec(inventory, accessory, cmd, reuse, tty):
    it = "-it" if tty else "-i"
    if reuse:
        return "docker exec %s %s %s" % (it, shlex.quote(accessory["service_name"]), cmd)
    clear = (accessory.get("env") or {}).get("clear") or {}
    words = ["docker", "run", it, "--rm", "--network", shlex.quote(accessory.get("network") or "kamal")]
    words += _env_args(clear)
    words += ["--env-file", shlex.quote(accessory["env_file"])]
    words += list(accessory.get("volume_args") or [])
    words += list(accessory.get("option_args") or [])
    words += [shlex.quote(accessory["image"]), cmd]
    return " ".join(words)
