#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, fetches Consul and Redis
# when missing, type-checks (strict) and lints, starts one Consul dev agent and one Redis on
# free ports for the run, runs every test file, and stops the services again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*" >&2; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

step "consul and redis"
eval "$(bash scripts/setup-services.sh)"
export CONSUL_BIN REDIS_BIN

step "docker-compose and haproxy (deployment checks)"
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "need root to apt-get install ${missing[*]}" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
  # The package may start a system haproxy; the tests start their own.
  (service haproxy stop || true) >/dev/null 2>&1
fi

step "MCP conformance suite (Node 22 and the suite into .tools/)"
bash scripts/conformance.sh --install-only

step "type-check and build (tsc, strict)"
rm -rf dist
npx tsc -p tsconfig.json

step "lint (eslint)"
npx eslint .

step "starting the run's Consul and Redis"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
# Distinct free ports, all held open until every one is chosen so none repeats.
free_ports() {
  node -e 'const net=require("net");const n=+process.argv[1];const ss=[];let left=n;
    for(let i=0;i<n;i++){const s=net.createServer().listen(0,"127.0.0.1",()=>{if(--left===0){console.log(ss.map(x=>x.address().port).join(" "));ss.forEach(x=>x.close())}});ss.push(s)}' "$1"
}
read -r http serf_lan serf_wan server redis_port < <(free_ports 5)
"$CONSUL_BIN" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -node test-run \
  -http-port "$http" -dns-port -1 -serf-lan-port "$serf_lan" -serf-wan-port "$serf_wan" -server-port "$server" \
  -hcl 'ports { grpc = -1 }' >"$tmp/consul.log" 2>&1 &
pids+=($!)
"$REDIS_BIN" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
export MCP_TEST_CONSUL_ADDR="http://127.0.0.1:$http" MCP_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
for _ in $(seq 1 100); do
  leader=$(curl -fsS "$MCP_TEST_CONSUL_ADDR/v1/status/leader" 2>/dev/null || true)
  [ -n "$leader" ] && [ "$leader" != '""' ] && break
  sleep 0.2
done
[ -n "${leader:-}" ] && [ "$leader" != '""' ] || { cat "$tmp/consul.log" >&2; echo "consul did not start" >&2; exit 1; }
for _ in $(seq 1 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null || { cat "$tmp/redis.log" >&2; echo "redis did not start" >&2; exit 1; }
echo "consul $MCP_TEST_CONSUL_ADDR, redis $MCP_TEST_REDIS_URL" >&2

step "tests"
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "no test files found" >&2; exit 1; }
node --test --test-reporter=spec --test-concurrency=2 --test-timeout=120000 "${files[@]}"
