#!/usr/bin/env bash
# Build a local stand-in for the public python:3.11-slim image (Docker Hub is unreachable):
# Debian bookworm minbase + python3, python3-venv, python3-pip, ca-certificates, made with
# debootstrap, `python`/`pip` in /usr/local/bin, pip allowed to install system-wide.
# Skipped when the image exists. The rootfs tarball is cached, so a rebuild is an import.
#   base-image.sh [EXTRA_TAG...]   also tag the image as each EXTRA_TAG
# Env: MODELCI_BASE_IMAGE     image name (default python:3.11-slim)
#      MODELCI_DEBIAN_MIRROR  Debian mirror (default: the host's, else http://deb.debian.org/debian)
#      MODELCI_CACHE_DIR      tarball cache (default /var/cache/modelci)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
image=${MODELCI_BASE_IMAGE:-python:3.11-slim} cache=${MODELCI_CACHE_DIR:-/var/cache/modelci}
tarball=$cache/rootfs-bookworm-python3-slim-v1.tar

"$(dirname "$0")/docker.sh"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  if [ ! -s "$tarball" ]; then
    apt_install debootstrap
    mirror=${MODELCI_DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list \
      /etc/apt/sources.list.d/ 2>/dev/null | head -n1 || true)}
    mkdir -p "$cache"
    build=$(mktemp -d "$cache/build.XXXXXX") && rootfs=$build/rootfs
    cleanup() {  # debootstrap may leave /proc or /sys mounted in the rootfs when it fails
      { grep -o " $rootfs/[^ ]*" /proc/mounts | sort -r | xargs -r umount -l; } 2>/dev/null || true
      rm -rf "$build"
    }
    trap cleanup EXIT
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 5 "$cache/debootstrap.log" >&2; die "debootstrap failed; log: $cache/debootstrap.log"; }
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    # Slim it like Debian's docker images: no apt lists, caches, docs, man pages or locales,
    # and keep later `apt-get install`s in the image from adding them back.
    rm -rf "${rootfs:?}"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
      "$rootfs"/var/log/* "$rootfs"/usr/share/{doc,man,info}/* "${rootfs:?}"/dev/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    find "$rootfs" -name __pycache__ -prune -exec rm -rf {} +
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
      'path-include /usr/share/locale/locale.alias' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
    tar --numeric-owner -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  fi
  docker import -m "modelci test-bed stand-in for $image (debootstrap bookworm)" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' "$tarball" "$image" >/dev/null
fi
for tag; do docker tag "$image" "$tag"; done
