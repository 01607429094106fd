"""kamal-ansible: Kamal 2's command line mapped onto the kamal.deploy collection's playbooks."""
