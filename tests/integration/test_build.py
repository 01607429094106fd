"""kamal_build on the controller: a real build from a git clone, pushed to the lab registry."""
import json
import subprocess
import textwrap
import uuid


def run_playbook(lab, tmp_path, args, check=False):
    playbook = tmp_path / "build.yml"
    playbook.write_text(textwrap.dedent(f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - kamal.deploy.kamal_build: {json.dumps(args)}
              register: out
            - ansible.builtin.copy:
                content: "{{{{ out | to_json }}}}"
                dest: {tmp_path}/out.json
              check_mode: false
    """))
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)] + (["--check"] if check else [])
    res = subprocess.run(cmd, env=lab.ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads((tmp_path / "out.json").read_text())


def make_app(tmp_path, marker):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(f"FROM kamal-lab/busybox:1\nRUN echo {marker} > /marker\n")
    (app / "config").mkdir()
    git = ["git", "-C", str(app), "-c", "user.email=t@example.test", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "app"], check=True)
    sha = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    # An uncommitted change must not reach the image: Kamal builds from a clean clone of HEAD.
    (app / "Dockerfile").write_text("FROM kamal-lab/busybox:1\nRUN echo dirty > /marker\n")
    return app, sha


def test_builds_from_a_clean_clone_pushes_and_is_idempotent(lab, tmp_path):
    marker = uuid.uuid4().hex[:8]
    app, sha = make_app(tmp_path, marker)
    service = f"build{marker}"
    args = {"service": service, "repository": f"{lab.registry_push}/{service}", "version": sha,
            "project_dir": str(app), "builder": {"arch": ["amd64"], "dockerfile": "Dockerfile"}}
    planned = run_playbook(lab, tmp_path, args, check=True)
    assert planned["changed"] and planned["built"] and planned["pushed"]

    out = run_playbook(lab, tmp_path, args)
    assert out["changed"] and out["built"] and out["pushed"]
    image = f"{lab.registry}/{service}:{sha}"
    # The server pulls it and sees our label and the committed content.
    vm = lab.ips[0]
    lab.ssh(vm, f"docker pull -q {image}")
    assert lab.ssh(vm, f"docker inspect -f '{{{{.Config.Labels.service}}}}' {image}").stdout.strip() == service
    assert lab.ssh(vm, f"docker run --rm {image} cat /marker").stdout.strip() == marker
    lab.ssh(vm, f"docker rmi {image}")

    again = run_playbook(lab, tmp_path, args)
    assert not again["changed"] and again["actions"] == []
