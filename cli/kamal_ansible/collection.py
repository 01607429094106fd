"""The installed kamal.deploy collection, imported in this process for the commands that run on the controller
alone (config, secrets, init, build create|remove|details): its config model, secrets reader and builder are
the one definition of each, so kamal-ansible never re-implements them.

Ansible's own collection loader finds it where ansible-playbook would (ANSIBLE_COLLECTIONS_PATH, the
ansible.cfg in use, ~/.ansible/collections), with the paths kamal-ansible version reports first."""
import importlib

from kamal_ansible.errors import CliError
from kamal_ansible.tools import collection_search_paths

PACKAGE = "ansible_collections.kamal.deploy.plugins.plugin_utils"
_LOADED = []


def _install_loader(env):
    try:
        from ansible.plugins.loader import init_plugin_loader  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise CliError("ansible-core is not installed in this Python (%s): pip install -r requirements.txt" % e) from None
    init_plugin_loader(collection_search_paths(env))


def module(name, env=None):
    """``plugin_utils.<name>`` of the installed collection (``config``, ``secrets``, ``build``)."""
    if not _LOADED:
        try:
            importlib.import_module(PACKAGE)
        except ImportError:
            _install_loader(env)
        _LOADED.append(True)
    try:
        return importlib.import_module("%s.%s" % (PACKAGE, name))
    except ImportError as e:
        raise CliError("the kamal.deploy collection is not installed where Ansible looks for collections "
                       "(ANSIBLE_COLLECTIONS_PATH, collections_path in ansible.cfg, ~/.ansible/collections): %s" % e) from None
