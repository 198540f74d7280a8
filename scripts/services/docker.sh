#!/usr/bin/env bash
# Start a Docker engine (dockerd) in the background, without systemd; install docker.io if needed.
# Returns at once when `docker info` already answers.
#   --stop                          stop the dockerd this script started
# Env: MODELCI_DOCKER_STORAGE_DRIVER  force a storage driver (default: overlay2 if it works, else vfs)
#      MODELCI_DOCKERD_ARGS           extra dockerd arguments (space separated)
#      MODELCI_DOCKER_TIMEOUT         seconds to wait for the engine (default 60)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
dir=$MODELCI_SERVICES_DIR/docker pidfile=$MODELCI_SERVICES_DIR/docker/dockerd.pid

if [ "${1:-}" = --stop ]; then stop_pidfile "$pidfile" dockerd; exit 0; fi
[ $# = 0 ] || die "usage: ${0##*/} [--stop]"
docker info >/dev/null 2>&1 && exit 0

command -v dockerd >/dev/null || apt_install docker.io
command -v docker >/dev/null || die "no docker CLI found after installing docker.io"
if ! mountpoint -q /sys/fs/cgroup; then  # no init system mounted cgroups for us
  mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || cgroupfs-mount \
    || die "cannot mount cgroups on /sys/fs/cgroup"
fi
mkdir -p "$dir" /var/lib/docker
our_pid "$pidfile" dockerd >/dev/null && stop_pidfile "$pidfile" dockerd  # alive but deaf

# Can the kernel mount overlayfs on top of /var/lib/docker's filesystem?
overlay_works() {
  local t ok=1
  t=$(mktemp -d /var/lib/docker/overlay-check.XXXXXX)
  mkdir "$t/l" "$t/u" "$t/w" "$t/m"
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m"; ok=0
  fi
  rm -rf "$t"; return "$ok"
}
if [ -n "${MODELCI_DOCKER_STORAGE_DRIVER:-}" ]; then drivers=("$MODELCI_DOCKER_STORAGE_DRIVER")
elif overlay_works; then drivers=(overlay2 vfs)
else say "overlayfs does not mount here"; drivers=(vfs)
fi

read -ra extra <<<"${MODELCI_DOCKERD_ARGS:-}"
for driver in "${drivers[@]}"; do
  log=$dir/dockerd-$driver.log
  start_bg "$pidfile" "$log" dockerd --storage-driver "$driver" "${extra[@]}"
  if wait_for "${MODELCI_DOCKER_TIMEOUT:-60}" "$(cat "$pidfile")" docker info >/dev/null 2>&1; then
    say "dockerd started (storage driver: $driver; log: $log)"
    [ "$driver" = overlay2 ] || say "warning: $driver storage is slow and uses a full copy per layer"
    exit 0
  fi
  stop_pidfile "$pidfile" dockerd
  say "dockerd failed with storage driver $driver; last log lines:"; tail -n 5 "$log" >&2
done
die "could not start dockerd (logs in $dir)"
