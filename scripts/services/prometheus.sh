#!/usr/bin/env bash
# Install the Debian Prometheus server and, given a config, run one in the background.
#   prometheus.sh                      install if missing; print the binary's path
#   prometheus.sh --config FILE [--addr HOST:PORT]
#                                      serve FILE (default address $MODELCI_PROMETHEUS_ADDR or
#                                      127.0.0.1:9090); if already serving FILE there, reload it
#   prometheus.sh --stop [--addr HOST:PORT]
# State (data/, log, pid): $MODELCI_SERVICES_DIR/prometheus-PORT. The lifecycle API is on:
# POST /-/reload re-reads the config, POST /-/quit stops the server.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
addr=${MODELCI_PROMETHEUS_ADDR:-127.0.0.1:9090} config='' stop=''
while (($#)); do
  case $1 in
    --config) config=${2:?--config needs FILE}; shift 2 ;;
    --addr) addr=${2:?--addr needs HOST:PORT}; shift 2 ;;
    --stop) stop=1; shift ;;
    *) die "usage: ${0##*/} [--config FILE] [--addr HOST:PORT] [--stop]" ;;
  esac
done
dir=$MODELCI_SERVICES_DIR/prometheus-${addr##*:} pidfile=$MODELCI_SERVICES_DIR/prometheus-${addr##*:}/prometheus.pid
if [ -n "$stop" ]; then stop_pidfile "$pidfile" prometheus; exit 0; fi

command -v prometheus >/dev/null || apt_install prometheus
if [ -z "$config" ]; then command -v prometheus; exit 0; fi
[ -r "$config" ] || die "cannot read config $config"
config=$(realpath "$config")
command -v curl >/dev/null || apt_install curl
ready() { [ "$(http_code "http://$addr/-/ready")" = 200 ]; }

if our_pid "$pidfile" prometheus >/dev/null; then
  if [ "$(cat "$dir/config-path")" = "$config" ] && ready; then  # same file: pick up edits
    [ "$(http_code -X POST "http://$addr/-/reload")" = 200 ] && exit 0
    die "Prometheus on $addr rejected $config on reload; see $dir/prometheus.log"
  fi
  stop_pidfile "$pidfile" prometheus
fi
! port_taken "$addr" || die "$addr is taken by another server"
mkdir -p "$dir/data"
echo "$config" >"$dir/config-path"
start_bg "$pidfile" "$dir/prometheus.log" prometheus --config.file="$config" \
  --web.listen-address="$addr" --storage.tsdb.path="$dir/data" --web.enable-lifecycle
wait_for 60 "$(cat "$pidfile")" ready \
  || { tail -n 5 "$dir/prometheus.log" >&2; die "Prometheus on $addr did not become ready; log: $dir/prometheus.log"; }
