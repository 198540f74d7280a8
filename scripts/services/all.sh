#!/usr/bin/env bash
# Bring up the whole test bed for scripts/test.sh: Docker engine, OCI registry on
# $MODELCI_REGISTRY_ADDR (127.0.0.1:5000), the python:3.11-slim base image, and the
# prometheus and wrk binaries. Idempotent and quiet; see each script for its options.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR
. "$here/lib.sh"
apt_install docker.io docker-registry debootstrap prometheus wrk curl  # one apt-get run
"$here/docker.sh"
"$here/oci-registry.sh"
"$here/base-image.sh"
"$here/prometheus.sh" >/dev/null
