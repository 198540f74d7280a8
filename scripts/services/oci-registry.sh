#!/usr/bin/env bash
# Start a local OCI registry (Debian docker-registry = CNCF distribution) in the background.
# Returns at once when one already answers on the address the way it should.
#   --addr HOST:PORT      listen address (default $MODELCI_REGISTRY_ADDR or 127.0.0.1:5000)
#   --htpasswd USER:PASS  require basic auth with these credentials
#   --no-delete           disable manifest/blob deletion (--delete-enabled, the default, enables it)
#   --stop                stop the instance on --addr that this script started
# State (config.yml, data/, htpasswd, log, pid): $MODELCI_SERVICES_DIR/registry-PORT
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
addr=${MODELCI_REGISTRY_ADDR:-127.0.0.1:5000} creds='' delete=true stop=''
while (($#)); do
  case $1 in
    --addr) addr=${2:?--addr needs HOST:PORT}; shift 2 ;;
    --htpasswd) creds=${2:?--htpasswd needs USER:PASS}; shift 2 ;;
    --delete-enabled) delete=true; shift ;;
    --no-delete) delete=false; shift ;;
    --stop) stop=1; shift ;;
    *) die "usage: ${0##*/} [--addr HOST:PORT] [--htpasswd USER:PASS] [--no-delete] [--stop]" ;;
  esac
done
[ -z "$creds" ] || [[ $creds == ?*:?* ]] || die "--htpasswd wants USER:PASS"
dir=$MODELCI_SERVICES_DIR/registry-${addr##*:}
pidfile=$dir/registry.pid url=http://$addr/v2/
if [ -n "$stop" ]; then stop_pidfile "$pidfile" docker-registry; exit 0; fi

# Up and behaving as asked: open, or closed to strangers and open to USER:PASS.
answers_right() {
  if [ -z "$creds" ]; then [ "$(http_code "$url")" = 200 ]
  else [ "$(http_code "$url")" = 401 ] && [ "$(http_code "$url" -u "$creds")" = 200 ]
  fi
}

command -v curl >/dev/null || apt_install curl
config="version: 0.1
log:
  level: warn
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: $delete}
  cache: {blobdescriptor: inmemory}
http:
  addr: $addr"
[ -z "$creds" ] || config+="
auth:
  htpasswd: {realm: modelci-registry, path: $dir/htpasswd}"
if our_pid "$pidfile" docker-registry >/dev/null; then
  [ "$config" = "$(cat "$dir/config.yml")" ] && answers_right && exit 0
  stop_pidfile "$pidfile" docker-registry
elif answers_right; then
  exit 0  # someone else's registry, but it does what we need
fi
! port_taken "$addr" || die "$addr is taken by another server"

command -v docker-registry >/dev/null || apt_install docker-registry
mkdir -p "$dir/data"
if [ -n "$creds" ]; then
  command -v htpasswd >/dev/null || apt_install apache2-utils
  htpasswd -Bbn "${creds%%:*}" "${creds#*:}" >"$dir/htpasswd"
fi
printf '%s\n' "$config" >"$dir/config.yml"
start_bg "$pidfile" "$dir/registry.log" docker-registry serve "$dir/config.yml"
wait_for 30 "$(cat "$pidfile")" answers_right \
  || { tail -n 5 "$dir/registry.log" >&2; die "registry on $addr did not come up; log: $dir/registry.log"; }
