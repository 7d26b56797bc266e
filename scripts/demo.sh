#!/usr/bin/env bash
# The demo on a fresh machine: installs dependencies, builds, and starts the gateway with the
# seed tutorial's ops/hr/finance backends. Consul-driven when CONSUL_HTTP_ADDR (or --consul)
# is given, static otherwise. Extra arguments go to dist/src/demo/stack.js.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
echo "building..." >&2
npx tsc -p tsconfig.json
exec node dist/src/demo/stack.js "$@"
