#!/bin/sh
# Starts a one-node Slurm cluster on this machine (as root, without systemd): munged, then
# slurmctld and slurmd with ci/slurm/slurm.conf.in, and waits until the node is idle.
# Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge). Idempotent: daemons
# already running are left alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)

# munge: a key and a run directory made by hand (the package's systemd unit would do it).
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! pgrep -x munged >/dev/null; then
  su -s /bin/sh munge -c /usr/sbin/munged
fi

mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /var/log/slurm
sed -e "s/@HOST@/$host/g" -e "s/@CPUS@/$cpus/g" -e "s/@MEMORY@/$memory/g" \
  "$here/slurm.conf.in" > /etc/slurm/slurm.conf
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd

i=0
until sinfo -h -o '%T' 2>/dev/null | grep -qx idle; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "slurm: the node did not become idle in 20 s; sinfo says:" >&2
    sinfo >&2 || true
    tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "slurm: one-node cluster '$host' idle ($cpus CPUs)"
