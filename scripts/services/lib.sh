# shellcheck shell=bash
# Helpers shared by the test-bed service scripts. Sourced, not run.
# Env: MODELCI_SERVICES_DIR  state dir for logs, pidfiles, configs (default /tmp/modelci-services)
MODELCI_SERVICES_DIR=${MODELCI_SERVICES_DIR:-/tmp/modelci-services}

die() { echo "${0##*/}: error: $*" >&2; exit 1; }
say() { echo "${0##*/}: $*" >&2; }

# apt_install PKG... : install the packages that are missing (apt-get update once per run).
# Services are kept from starting at install time (policy-rc.d): we start our own.
_apt_updated=
apt_install() {
  local p missing=() rc=0 log=$MODELCI_SERVICES_DIR/apt.log added=
  for p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [ "$(id -u)" = 0 ] || die "need root to install ${missing[*]}"
  mkdir -p "$MODELCI_SERVICES_DIR"
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=600)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added=1
  fi
  if [ -z "$_apt_updated" ]; then  # a broken extra source must not stop us: install decides
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$log" 2>&1 || true
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >>"$log" 2>&1 || rc=$?
  [ -z "$added" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc); see $log"
}

# http_code URL [CURL_ARGS...] : print the HTTP status (000 when nothing answers).
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }

# alive PID : true while PID runs (a zombie child does not count).
alive() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }

# port_taken HOST:PORT : true when something accepts TCP connections there.
port_taken() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# our_pid PIDFILE COMM : print the pid in PIDFILE if that process is alive and named COMM.
our_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}

# start_bg PIDFILE LOG CMD... : run CMD detached from this shell, logging to LOG (truncated).
start_bg() {
  local pidfile=$1 log=$2; shift 2
  setsid "$@" </dev/null >"$log" 2>&1 &
  echo $! >"$pidfile"
}

# wait_for SECONDS PID CMD... : poll CMD until it succeeds; fail at timeout or if PID exits.
wait_for() {
  local deadline=$((SECONDS + $1)) pid=$2; shift 2
  until "$@"; do
    alive "$pid" && ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

# stop_pidfile PIDFILE COMM : stop the daemon in PIDFILE (TERM, then KILL after 30 s).
stop_pidfile() {
  local pid i
  if pid=$(our_pid "$1" "$2"); then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}
