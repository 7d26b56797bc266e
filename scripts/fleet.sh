#!/usr/bin/env bash
# The fleet of docker-compose.multi.yml as local processes, without Docker: a Consul dev agent,
# Redis, two gateway replicas (one Consul, one Redis) and the ops/hr/finance demo backends,
# which register themselves in Consul. Pids and logs live in a state dir (.fleet/).
#
#   bash scripts/fleet.sh start    start everything, wait until Consul reports all of it
#                                  healthy, print the catalog
#   bash scripts/fleet.sh status   the processes and Consul's health view of every service
#   bash scripts/fleet.sh stop     backends and gateways first (they deregister), then Redis
#                                  and Consul
#
# Ports (env, defaults): FLEET_CONSUL_PORT 8500, FLEET_REDIS_PORT 6379, FLEET_GATEWAY1_PORT
# 8000, FLEET_GATEWAY2_PORT 8010, FLEET_OPS_PORT 8001, FLEET_HR_PORT 8002, FLEET_FINANCE_PORT
# 8003; Consul's internal ports are picked free. FLEET_DIR (default .fleet) holds the state;
# FLEET_TIMEOUT (60) is how long start waits for health, in seconds.
set -Eeuo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

state=${FLEET_DIR:-$root/.fleet}
case $state in /*) ;; *) state="$root/$state" ;; esac
run="$state/run"
logs="$state/logs"
host=127.0.0.1
backends=(ops hr finance)
gateways=(gateway-1 gateway-2)

say() { printf '%s\n' "$*"; }
warn() { printf 'fleet: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

# The comment block at the top of this file.
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit "$1"
}

# --- processes ---------------------------------------------------------------------------

# "STATE STARTTIME" of a pid, from /proc/PID/stat (fields 3 and 22; the command name before
# them may hold spaces, so it is cut off first).
proc_stat() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $1, $20}'; }

# A process counts as ours only while its pid has the start time recorded at launch, so a
# recycled pid is never signalled; a zombie counts as gone.
alive() {
  local name=$1 pid stat
  [ -f "$run/$name.pid" ] || return 1
  pid=$(cat "$run/$name.pid")
  stat=$(proc_stat "$pid") || return 1
  [ -n "$stat" ] && [ "${stat%% *}" != Z ] && [ "${stat#* }" = "$(cat "$run/$name.start" 2>/dev/null)" ]
}

# launch NAME ENV... -- CMD...: in its own session (a Ctrl-C in this terminal does not reach
# it), with a clean environment (a stray OPS_SERVER_URL or CONSUL_HTTP_TOKEN must not leak
# in), stdout and stderr to logs/NAME.log.
launch() {
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${envs[@]}" setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$run/$name.pid"
  # The start time survives exec (env, then setsid, then the service, all in this pid:
  # setsid does not fork, the child not being a group leader).
  local stat
  stat=$(proc_stat "$pid")
  echo "${stat#* }" >"$run/$name.start"
}

# stop_procs GRACE NAME...: SIGTERM to each, SIGKILL to what is left after GRACE seconds.
stop_procs() {
  local grace=$1; shift
  local name sent=()
  for name in "$@"; do
    if alive "$name"; then kill -TERM "$(cat "$run/$name.pid")" 2>/dev/null || true; sent+=("$name"); fi
  done
  [ "${#sent[@]}" -gt 0 ] || return 0
  local deadline=$((SECONDS + grace)) left
  while :; do
    left=()
    for name in "${sent[@]}"; do alive "$name" && left+=("$name"); done
    [ "${#left[@]}" -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for name in "${left[@]}"; do
        warn "$name did not stop within ${grace}s: SIGKILL"
        kill -KILL "$(cat "$run/$name.pid")" 2>/dev/null || true
      done
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  for name in "${sent[@]}"; do rm -f "$run/$name.pid" "$run/$name.start"; done
}

tail_log() { [ -f "$logs/$1.log" ] && { warn "--- $1 (logs/$1.log, last lines) ---"; tail -n 20 "$logs/$1.log" >&2; }; return 0; }

# --- HTTP and Consul ---------------------------------------------------------------------

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

# Consul's health view, from /v1/health/service/<name>: one line per instance, its status the
# worst of its checks (service and node). Args: consul URL, then service names (none: every
# service in the catalog but consul itself). Exit status 1 when an instance is not passing.
catalog_report() {
  node --input-type=module - "$@" <<'EOF'
const [consul, ...asked] = process.argv.slice(2);
const get = async (path) => {
  const response = await fetch(`${consul}${path}`, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
};
const names = asked.length ? asked : Object.keys(await get('/v1/catalog/services')).filter((n) => n !== 'consul').sort();
const rank = { passing: 0, warning: 1, critical: 2 };
const rows = [];
let healthy = true;
for (const name of names) {
  const entries = await get(`/v1/health/service/${encodeURIComponent(name)}`);
  if (entries.length === 0) { rows.push([name, '-', '-', '-', 'absent']); healthy = false; continue; }
  for (const { Service: s, Checks: checks } of entries) {
    const status = checks.reduce((worst, c) => (rank[c.Status] ?? 3) > (rank[worst] ?? 3) ? c.Status : worst, 'passing');
    if (status !== 'passing') healthy = false;
    rows.push([name, s.ID, `${s.Address}:${s.Port}`, s.Tags.join(','), `${status} (${checks.length} checks)`]);
  }
}
const head = ['SERVICE', 'ID', 'ADDRESS', 'TAGS', 'HEALTH'];
const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const row of [head, ...rows]) console.log('  ' + row.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd());
process.exit(healthy ? 0 : 1);
EOF
}

# How many passing instances Consul reports for a service (0 on any error).
passing_count() {
  curl -fsS --max-time 2 "$1/v1/health/service/$2?passing" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{try{console.log(JSON.parse(s).length)}catch{console.log(0)}})'
}

# The tools one gateway routes, from /admin/tools (the anonymous admin on loopback).
gateway_routes_all() {
  curl -fsS --max-time 2 "$1/admin/tools" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{try{const n=JSON.parse(s).map((t)=>t.name);process.exit(["ops__","hr__","fin__"].every((p)=>n.some((x)=>x.startsWith(p)))?0:1)}catch{process.exit(1)}})'
}

# --- commands ----------------------------------------------------------------------------

load_ports() {
  [ -f "$state/fleet.env" ] || return 1
  # shellcheck disable=SC1091
  . "$state/fleet.env"
}

running_any() {
  local name
  for name in consul redis "${backends[@]}" "${gateways[@]}"; do alive "$name" && return 0; done
  return 1
}

free_ports() {
  node -e 'const net=require("net");const n=+process.argv[1];const ss=[];let left=n;
    for(let i=0;i<n;i++){const s=net.createServer().listen(0,"127.0.0.1",()=>{if(--left===0){console.log(ss.map(x=>x.address().port).join(" "));ss.forEach(x=>x.close())}});ss.push(s)}' "$1"
}

port_taken() {
  node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(0));s.listen(+process.argv[1],"127.0.0.1",()=>s.close(()=>process.exit(1)))' "$1"
}

cmd_start() {
  mkdir -p "$run" "$logs"
  if running_any; then die "the fleet in $state is already running (bash scripts/fleet.sh status | stop)"; fi
  rm -f "$run"/*.pid "$run"/*.start

  CONSUL_PORT=${FLEET_CONSUL_PORT:-8500}
  REDIS_PORT=${FLEET_REDIS_PORT:-6379}
  GATEWAY_1_PORT=${FLEET_GATEWAY1_PORT:-8000}
  GATEWAY_2_PORT=${FLEET_GATEWAY2_PORT:-8010}
  OPS_PORT=${FLEET_OPS_PORT:-8001}
  HR_PORT=${FLEET_HR_PORT:-8002}
  FINANCE_PORT=${FLEET_FINANCE_PORT:-8003}
  local timeout=${FLEET_TIMEOUT:-60}
  local port
  for port in "$CONSUL_PORT" "$REDIS_PORT" "$GATEWAY_1_PORT" "$GATEWAY_2_PORT" "$OPS_PORT" "$HR_PORT" "$FINANCE_PORT"; do
    if port_taken "$port"; then die "port $port on $host is taken; choose others with FLEET_*_PORT (see: bash scripts/fleet.sh help)"; fi
  done
  cat >"$state/fleet.env" <<EOF
CONSUL_PORT=$CONSUL_PORT
REDIS_PORT=$REDIS_PORT
GATEWAY_1_PORT=$GATEWAY_1_PORT
GATEWAY_2_PORT=$GATEWAY_2_PORT
OPS_PORT=$OPS_PORT
HR_PORT=$HR_PORT
FINANCE_PORT=$FINANCE_PORT
EOF

  say "fleet: consul and redis binaries (scripts/setup-services.sh)"
  local services
  services=$(bash scripts/setup-services.sh 2>"$logs/setup.log") || { cat "$logs/setup.log" >&2; die "scripts/setup-services.sh failed"; }
  local CONSUL_BIN REDIS_BIN
  eval "$services"
  if [ ! -x "$CONSUL_BIN" ] || [ ! -x "$REDIS_BIN" ]; then die "setup-services.sh gave no usable binaries: $services"; fi

  if [ ! -f dist/src/cli/main.js ] || [ ! -f dist/src/demo/main.js ]; then
    say "fleet: building (dist/ is missing)"
    if [ ! -d node_modules ]; then npm ci --no-audit --no-fund >"$logs/build.log" 2>&1 || { cat "$logs/build.log" >&2; die "npm ci failed"; }; fi
    npx tsc -p tsconfig.json >>"$logs/build.log" 2>&1 || { cat "$logs/build.log" >&2; die "the build failed"; }
  fi

  # From here on, a failure or a Ctrl-C stops what was started.
  trap 'warn "start failed or interrupted: stopping what was started"; cmd_stop >/dev/null 2>&1 || true; exit 1' ERR INT TERM

  local consul="http://$host:$CONSUL_PORT"
  local serf_lan serf_wan server
  read -r serf_lan serf_wan server < <(free_ports 3)
  local consul_args=(agent -dev -bind "$host" -client "$host" -advertise "$host" -node fleet
    -http-port "$CONSUL_PORT" -dns-port -1 -grpc-port -1
    -serf-lan-port "$serf_lan" -serf-wan-port "$serf_wan" -server-port "$server" -log-level warn)
  local minor
  minor=$("$CONSUL_BIN" version | sed -n 's/^Consul v1\.\([0-9]*\).*/\1/p')
  # 1.14+ opens a TLS gRPC port (8503) in -dev mode; older agents reject the key.
  if [ "${minor:-0}" -ge 14 ]; then consul_args+=(-hcl 'ports { grpc_tls = -1 }'); fi
  say "fleet: consul  $consul"
  launch consul -- "$CONSUL_BIN" "${consul_args[@]}"
  say "fleet: redis   redis://$host:$REDIS_PORT"
  launch redis -- "$REDIS_BIN" --port "$REDIS_PORT" --bind "$host" --save '' --appendonly no

  local deadline=$((SECONDS + 30)) leader=""
  until leader=$(curl -fsS --max-time 2 "$consul/v1/status/leader" 2>/dev/null) && [ -n "$leader" ] && [ "$leader" != '""' ]; do
    alive consul || { tail_log consul; false; }
    [ "$SECONDS" -lt "$deadline" ] || { tail_log consul; warn "consul elected no leader within 30s"; false; }
    sleep 0.2
  done
  until http_ok "$consul/v1/catalog/node/fleet" && [ "$(curl -fsS "$consul/v1/catalog/node/fleet")" != null ]; do
    [ "$SECONDS" -lt "$deadline" ] || { tail_log consul; warn "consul did not list its own node within 30s"; false; }
    sleep 0.2
  done

  local name
  for name in "${backends[@]}"; do
    port=$(eval "echo \$$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')_PORT")
    say "fleet: $name backend  http://$host:$port/mcp"
    launch "$name" LOG_LEVEL=info -- node "$root/dist/src/demo/main.js" "$name" --host "$host" --port "$port" --consul "$consul"
  done

  cat >"$state/gateway.yaml" <<EOF
# Written by scripts/fleet.sh: both gateway replicas share it (PORT differs).
server: { host: $host, drainSeconds: 5 }
discovery:
  consul: { address: "$consul", waitSeconds: 30 }
rateLimit:
  redis: "redis://$host:$REDIS_PORT"
  default: { points: 600, duration: 60 }
logging: { level: info }
EOF
  for name in "${gateways[@]}"; do
    port=$([ "$name" = gateway-1 ] && echo "$GATEWAY_1_PORT" || echo "$GATEWAY_2_PORT")
    say "fleet: $name  http://$host:$port/mcp"
    launch "$name" PORT="$port" HOST="$host" -- node "$root/dist/src/cli/main.js" serve --config "$state/gateway.yaml"
  done

  say "fleet: waiting until Consul reports 2 gateways and 3 backends passing (up to ${timeout}s)"
  deadline=$((SECONDS + timeout))
  local ready
  while :; do
    for name in consul redis "${backends[@]}" "${gateways[@]}"; do
      alive "$name" || { tail_log "$name"; warn "$name exited"; false; }
    done
    ready=1
    [ "$(passing_count "$consul" mcp-gateway)" -ge 2 ] || ready=0
    for name in ops hr finance; do [ "$(passing_count "$consul" "$name")" -ge 1 ] || ready=0; done
    if [ "$ready" = 1 ]; then
      for port in "$GATEWAY_1_PORT" "$GATEWAY_2_PORT"; do
        http_ok "http://$host:$port/readyz" && gateway_routes_all "http://$host:$port" || ready=0
      done
    fi
    [ "$ready" = 1 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      catalog_report "$consul" mcp-gateway ops hr finance >&2 || true
      for name in "${gateways[@]}"; do tail_log "$name"; done
      warn "not healthy within ${timeout}s"
      false
    fi
    sleep 0.5
  done
  trap - ERR INT TERM

  say ""
  say "fleet is up (state: $state)"
  say "Consul catalog, $consul/v1/health/service/<name>:"
  catalog_report "$consul" mcp-gateway ops hr finance
  say ""
  say "gateways:  http://$host:$GATEWAY_1_PORT/mcp  http://$host:$GATEWAY_2_PORT/mcp"
  say "try:       node dist/src/demo/client.js http://$host:$GATEWAY_1_PORT/mcp"
  say "consul UI: $consul/ui"
  say "logs:      $logs/   stop: bash scripts/fleet.sh stop"
}

cmd_status() {
  if ! load_ports; then say "fleet: not running (no $state/fleet.env)"; return 3; fi
  local consul="http://$host:$CONSUL_PORT" name up=0 down=0
  say "processes ($run):"
  for name in consul redis "${gateways[@]}" "${backends[@]}"; do
    if alive "$name"; then
      say "  $(printf '%-10s' "$name") running (pid $(cat "$run/$name.pid"))"; up=$((up + 1))
    else
      say "  $(printf '%-10s' "$name") stopped"; down=$((down + 1))
    fi
  done
  if [ "$up" -eq 0 ]; then say "fleet: not running"; return 3; fi
  if ! alive consul; then say "consul is not running: no catalog"; return 1; fi
  say "Consul catalog, $consul/v1/health/service/<name>:"
  local healthy=0
  catalog_report "$consul" || healthy=1
  [ "$down" -eq 0 ] && [ "$healthy" -eq 0 ]
}

cmd_stop() {
  if ! load_ports; then say "fleet: not running (no $state/fleet.env)"; return 0; fi
  local consul="http://$host:$CONSUL_PORT" name
  if ! running_any; then say "fleet: not running"; return 0; fi
  say "fleet: stopping backends and gateways (they deregister from Consul)"
  stop_procs 20 "${backends[@]}" "${gateways[@]}"
  if alive consul; then
    local registered=""
    for name in mcp-gateway ops hr finance; do
      local n
      n=$(curl -fsS --max-time 2 "$consul/v1/health/service/$name" 2>/dev/null |
        node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{try{console.log(JSON.parse(s).length)}catch{console.log("?")}})')
      say "  consul catalog after stop: $name: ${n:-?} instances"
      [ "${n:-?}" = 0 ] || registered="$registered $name"
    done
    [ -z "$registered" ] || warn "still registered in Consul:$registered"
  fi
  say "fleet: stopping redis and consul"
  stop_procs 10 redis consul
  rm -f "$state/fleet.env"
  say "fleet: stopped (logs kept in $logs)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  help | -h | --help) usage 0 ;;
  *) usage 2 ;;
esac
