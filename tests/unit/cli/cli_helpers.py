"""Running kamal-ansible in-process and reading back the command it would run."""
import io
import os
import re
import shlex

from kamal_ansible import cli


class Terminal(io.StringIO):
    """A stdin that is a terminal (what the user typed is its content)."""

    def isatty(self):
        return True


def kamal(*args, stdin=None):
    """(exit status, stdout) of kamal-ansible ARGS; errors raise CliError."""
    out = io.StringIO()
    code = cli.run(list(args), env=dict(os.environ), stdin=stdin if stdin is not None else io.StringIO(), stdout=out)
    return code, out.getvalue()


def dry(*args, stdin=None):
    """(environment changes, argv) that `kamal-ansible --dry-run ARGS` prints."""
    code, out = kamal("--dry-run", *args, stdin=stdin)
    assert code == 0, out
    lines = out.strip().splitlines()
    words = shlex.split(lines[-1])
    env = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    # Every playbook run enables the inventory plugin itself (no ansible.cfg needed); the rest is the command's own.
    if words[0] == "ansible-playbook" and "ANSIBLE_INVENTORY_ENABLED" not in os.environ:
        assert env.pop("ANSIBLE_INVENTORY_ENABLED") == cli.INVENTORY_PLUGINS
    # ... and shows output a person reads (the collection's callback), unless -v asks for Ansible's own.
    if (words[0] == "ansible-playbook" and "-v" not in words and "ANSIBLE_STDOUT_CALLBACK" not in os.environ
            and os.environ.get("KAMAL_ANSIBLE_OUTPUT") != "ansible"):
        assert env.pop("ANSIBLE_STDOUT_CALLBACK") == cli.OUTPUT_CALLBACK
    return env, words


PLAYBOOK = ["ansible-playbook", "-i", "config/deploy.yml"]
