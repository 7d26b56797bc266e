#!/usr/bin/env bash
# Makes `consul` and `redis-server` available for the tests and the local fleet.
# Consul: taken from PATH when there is one; otherwise Debian bullseye's package
# (Consul 1.8.7) is fetched with apt through a private sources list whose mirror is
# read from this machine's own apt config, and unpacked into .tools/ (git-ignored).
# Redis: Debian's redis-server, installed with apt when missing.
# Prints the two binaries' paths as KEY=VALUE lines on stdout (progress on stderr).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
log() { printf 'setup: %s\n' "$*" >&2; }

mirror_uri() {
  # deb822 sources first (bookworm and later), then one-line sources.
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/*.sources | head -n 1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list | head -n 1)
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt; install consul on PATH instead"; exit 1; }
  printf '%s\n' "$uri"
}

find_consul() {
  if command -v consul >/dev/null 2>&1; then command -v consul; return; fi
  local bin="$tools/consul/usr/bin/consul"
  if [ -x "$bin" ]; then printf '%s\n' "$bin"; return; fi
  log "consul not on PATH: fetching Debian bullseye's consul package into .tools/"
  local apt="$tools/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$tools/consul"
  printf 'deb %s bullseye main\n' "$(mirror_uri)" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1"
    -o "APT::Get::List-Cleanup=0")
  apt-get "${opts[@]}" -q update >&2
  (cd "$apt/cache/archives" && apt-get "${opts[@]}" -q download consul >&2)
  dpkg -x "$(ls "$apt"/cache/archives/consul_*.deb | head -n 1)" "$tools/consul"
  [ -x "$bin" ] || { log "consul package unpacked but $bin is missing"; exit 1; }
  printf '%s\n' "$bin"
}

find_redis() {
  if command -v redis-server >/dev/null 2>&1; then command -v redis-server; return; fi
  log "redis-server missing: installing Debian's redis-server"
  if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install redis-server"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends redis-server >&2
  # The package starts a system instance; the tests start their own on free ports.
  (service redis-server stop || true) >/dev/null 2>&1
  command -v redis-server
}

consul=$(find_consul)
redis=$(find_redis)
log "consul: $consul ($("$consul" version | head -n 1))"
log "redis-server: $redis ($("$redis" --version | awk '{print $3}'))"
printf 'CONSUL_BIN=%s\nREDIS_BIN=%s\n' "$consul" "$redis"
