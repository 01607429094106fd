"""A host's plan as the kamal.deploy.kamal callback prints it (plugin_utils/output.plan_lines)."""
from ansible_collections.kamal.deploy.plugins.plugin_utils import output


def test_a_boot_plan_names_image_containers_route_files_and_prune():
    result = {"changed": True, "image_plan": [{"image": "r/app:v2", "on_host": False, "pull": True, "registry": "has it"}],
              "actions": ["docker login r -u u -p [redacted]", "docker pull r/app:v2",
                          "write .kamal/apps/app/env/roles/web.env (mode 0600, 1 key(s): SECRET=[masked])",
                          "docker run --detach --restart unless-stopped --name app-web-v2 --network kamal r/app:v2",
                          "proxy switch app-web to <ip of app-web-v2> (was 172.18.0.5)", "docker stop app-web-v1",
                          "docker tag r/app:v2 r/app:latest", "docker rm app-web-v0", "docker rmi r/app:v0"]}
    assert output.plan_lines(result) == [
        "image   r/app:v2: pull (the registry has it)",
        "upload  write .kamal/apps/app/env/roles/web.env (mode 0600, 1 key(s): SECRET=[masked])",
        "create  app-web-v2",
        "route   proxy switch app-web to <ip of app-web-v2> (was 172.18.0.5)",
        "stop    docker stop app-web-v1",
        "tag     docker tag r/app:v2 r/app:latest",
        "remove  docker rm app-web-v0",
        "remove  docker rmi r/app:v0"]


def test_an_up_to_date_host_and_a_build():
    assert output.plan_lines({"changed": False, "actions": [], "image_plan": [{"image": "r/app:v2", "on_host": True, "pull": False}]}) == [
        "image   r/app:v2: on the host", "nothing to change"]
    assert output.plan_lines({"changed": True, "built": True, "pushed": True, "image": "r/app:v3", "actions": []}) == [
        "build   r/app:v3, then push it"]
    assert output.plan_lines({"changed": True, "actions": [], "image_plan": [
        {"image": "r/app:v3", "on_host": False, "pull": True, "registry": "not asked (this run pushes it first)"}]}) == [
        "image   r/app:v3: pull (this run builds and pushes it first)"]
