"""The lab is made of real parts: separate Docker engines reached over real SSH, and a real registry."""
import subprocess
import uuid


def test_each_server_has_its_own_docker_engine(lab):
    vm1, vm2 = lab.ips[0], lab.ips[1]
    name = f"isolation-{uuid.uuid4().hex[:8]}"
    image = lab.images["kamal-lab/demo-app:v1"]
    lab.ssh(vm1, f"docker run -d --name {name} {image}")
    try:
        assert name in lab.ssh(vm1, "docker ps -a --format '{{.Names}}'").stdout.split()
        assert name not in lab.ssh(vm2, "docker ps -a --format '{{.Names}}'").stdout.split()
        ids = {ip: lab.ssh(ip, "docker info --format '{{.ID}}'").stdout.strip() for ip in lab.ips}
        assert len(set(ids.values())) == len(lab.ips), f"servers share an engine: {ids}"
    finally:
        lab.ssh(vm1, f"docker rm -f {name}", check=False)


def test_an_image_pushed_to_the_lab_registry_runs_on_two_servers(lab):
    tag = f"{lab.registry_push}/lab-probe:{uuid.uuid4().hex[:8]}"
    pulled = tag.replace(lab.registry_push, lab.registry)
    subprocess.run(["docker", "tag", "kamal-lab/demo-app:v2", tag], check=True)
    subprocess.run(["docker", "push", "-q", tag], check=True, capture_output=True)
    subprocess.run(["docker", "rmi", tag], check=True, capture_output=True)
    for ip in lab.ips[:2]:
        out = lab.ssh(ip, f"docker run --rm {pulled} cat /www/index.html").stdout
        assert out.strip() == "app v2"
        lab.ssh(ip, f"docker rmi {pulled}")


def test_ansible_reaches_every_server_over_ssh_with_host_keys_checked(lab):
    res = subprocess.run(["ansible", "lab", "-i", lab.inventory, "-m", "ansible.builtin.command",
                          "-a", "docker ps --quiet"],
                         env=lab.ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    for server in lab.servers:
        assert f"{server['name']} | CHANGED" in res.stdout


def test_no_forwarding_server_refuses_remote_port_forwards(lab):
    ip = lab.extra("no-forwarding")["ip"]
    res = subprocess.run(["ssh", "-F", lab.ssh_config, "-o", "ExitOnForwardFailure=yes", "-R", "5555:127.0.0.1:5000", ip, "true"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode != 0
    assert "remote port forwarding failed" in res.stderr
