"""python -m kamal_ansible"""
import sys

from kamal_ansible.cli import main

sys.exit(main())
