"""What `kamal-ansible init` writes: a config/deploy.yml that both Kamal and kamal.deploy accept, a
.kamal/secrets stub and a sample of every hook (written as <hook>.sample: rename one to use it)."""

DEPLOY_YML = """\
# The app's deploy config: read by kamal.deploy (kamal-ansible, or ansible-playbook -i config/deploy.yml)
# and by Kamal 2 alike. Every key: https://kamal-deploy.org/docs/configuration/overview/

# The name of the app: it prefixes container names and labels them.
service: my-app

# The image to build and deploy (the registry's server is put in front of it).
image: my-user/my-app

# The servers, per role. The first role is the one behind the proxy.
servers:
  web:
    - 192.168.0.1
  # job:
  #   hosts:
  #     - 192.168.0.1
  #   cmd: bin/jobs

# The proxy sends the host's traffic to the app's port (80 by default) once /up answers 2xx.
# proxy:
#   ssl: true
#   host: app.example.com
#   app_port: 3000

# Where the image goes between the build and the servers. The password is a secret's name, read from
# .kamal/secrets.
registry:
  # server: registry.example.com
  username: my-user
  password:
    - KAMAL_REGISTRY_PASSWORD

# The environment of the app's containers: clear values as they are, secret ones by name (.kamal/secrets).
env:
  secret:
    - RAILS_MASTER_KEY
  # clear:
  #   DB_HOST: 192.168.0.2

# Commands to run with `kamal-ansible <alias>`.
# aliases:
#   shell: app exec --interactive --reuse "bash"

# The architectures to build for.
builder:
  arch: amd64

# Containers that live beside the app and keep their data (databases, caches).
# accessories:
#   db:
#     image: postgres:16
#     host: 192.168.0.2
#     port: "127.0.0.1:5432:5432"
#     env:
#       secret:
#         - POSTGRES_PASSWORD
#     directories:
#       - data:/var/lib/postgresql/data
"""

SECRETS = """\
# Secrets for config/deploy.yml, one NAME=value per line, read on the machine you deploy from.
# Keep values out of git: take them from the environment, a command, or a password manager.
#
#   KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD
#   RAILS_MASTER_KEY=$(cat config/master.key)
#   SECRETS=$(kamal secrets fetch --adapter 1password --account my-account --from Vault/Item KAMAL_REGISTRY_PASSWORD)
#   KAMAL_REGISTRY_PASSWORD=$(kamal secrets extract KAMAL_REGISTRY_PASSWORD $SECRETS)

KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD
RAILS_MASTER_KEY=$(cat config/master.key)
"""

_HOOK = """\
#!/usr/bin/env sh
# {what}
# Rename this file to {name} (no .sample) and make it executable to use it. It runs on the machine you
# deploy from, in the project directory; a non-zero exit stops the command.
#
# It sees KAMAL_RECORDED_AT, KAMAL_PERFORMER, KAMAL_SERVICE, KAMAL_VERSION, KAMAL_SERVICE_VERSION, KAMAL_HOSTS,
# KAMAL_COMMAND, KAMAL_SUBCOMMAND, KAMAL_DESTINATION, KAMAL_ROLES and KAMAL_LOCK{extra}.

echo "{name}: $KAMAL_COMMAND of $KAMAL_SERVICE_VERSION on $KAMAL_HOSTS"
"""

HOOKS = {
    "pre-connect": ("Runs once, before the first connection to a server (warm up a DNS cache, open a VPN).",
                    ", and every secret"),
    "pre-build": ("Runs before the image is built (refuse a build from a dirty tree, run the tests).", ""),
    "pre-deploy": ("Runs under the deploy lock, before the first container boots (check CI, migrate).",
                   ", and every secret"),
    "post-deploy": ("Runs after a deploy, redeploy or rollback (tell your team, record the release).",
                    ", KAMAL_RUNTIME (seconds) and every secret"),
    "pre-app-boot": ("Runs before each group of servers boots the new version.", ""),
    "post-app-boot": ("Runs after each group of servers booted the new version.", ""),
    "pre-proxy-reboot": ("Runs before the proxy restarts on a group of servers.", ""),
    "post-proxy-reboot": ("Runs after the proxy restarted on a group of servers.", ""),
    "docker-setup": ("Runs after server bootstrap made sure Docker is on every server.", ""),
}


def hook_sample(name):
    what, extra = HOOKS[name]
    return _HOOK.format(name=name, what=what, extra=extra)
