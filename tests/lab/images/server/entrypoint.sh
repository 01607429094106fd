#!/bin/sh
# PID 1 of a lab server: sshd plus its own dockerd (docker-in-docker).
set -e
# --privileged is refused on these machines (CAP_SYS_RESOURCE is outside the bounding set), so servers
# run with every capability but that one; make /sys and the cgroup mounts writable ourselves, as
# --privileged would have.
mount -o remount,rw /sys 2>/dev/null || true
for d in /sys/fs/cgroup/*; do mountpoint -q "$d" && mount -o remount,bind,rw "$d" 2>/dev/null || true; done
mountpoint -q /sys/kernel/security || mount -t securityfs none /sys/kernel/security 2>/dev/null || true

mkdir -p /root/.ssh /run/sshd /etc/docker
printf '%s\n' "${AUTHORIZED_KEY:?AUTHORIZED_KEY is required}" > /root/.ssh/authorized_keys
chmod 700 /root/.ssh && chmod 600 /root/.ssh/authorized_keys
# Stable host keys come from the controller (mounted), so known_hosts checking stays on.
cp /etc/ssh/lab-hostkeys/ssh_host_* /etc/ssh/ && chmod 600 /etc/ssh/ssh_host_*_key
# Per-server sshd policy for tests (e.g. "AllowTcpForwarding no").
[ -n "${SSHD_CONFIG_EXTRA:-}" ] && printf '%b\n' "$SSHD_CONFIG_EXTRA" >> /etc/ssh/sshd_config

if [ "${WITH_DOCKER:-1}" = 1 ]; then
  regs=$(printf '%s' "${INSECURE_REGISTRIES:-}" | awk -F, '{for(i=1;i<=NF;i++) printf "%s\"%s\"", (i>1?",":""), $i}')
  printf '{"storage-driver":"overlay2","insecure-registries":[%s]}\n' "$regs" > /etc/docker/daemon.json
  # After `docker restart` of the server, pid files of the previous dockerd/containerd would stop them.
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  dockerd >/var/log/dockerd.log 2>&1 &
fi
exec /usr/sbin/sshd -D -e
