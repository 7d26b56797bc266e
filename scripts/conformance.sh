#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance), server scenarios,
# against our conformance backend directly and through the gateway (prefix mode never),
# side by side. Installs what it needs into .tools/ (git-ignored) without touching the system
# Node: Node 22 from npm (node-linux-<arch>@22) and the suite. Exits 1 when the gateway fails
# a scenario the backend passes.
#
#   bash scripts/conformance.sh [--no-build] [--scenario NAME]... [--out DIR] [--json FILE]
#   bash scripts/conformance.sh --install-only     (what scripts/test.sh runs)
#
# Environment: CONFORMANCE_VERSION (suite version, default below), CONFORMANCE_NODE (a Node 22+
# binary to use instead of installing one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*" >&2; }
started=$(date +%s.%N)

suite_version=${CONFORMANCE_VERSION:-0.1.16}
tools="$root/.tools"
build=1
install_only=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --install-only) install_only=1 ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ "$install_only" = 0 ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  step "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# Node 22 for the suite (it needs >= 22); the gateway and backend keep running on the system Node.
node22=${CONFORMANCE_NODE:-}
if [ -z "$node22" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "conformance: no npm Node build for $(uname -m); set CONFORMANCE_NODE to a Node 22+ binary" >&2; exit 2 ;;
  esac
  node22="$tools/node22/node_modules/node-linux-$arch/bin/node"
  if [ ! -x "$node22" ] || [[ "$("$node22" --version 2>/dev/null)" != v22.* ]]; then
    step "installing Node 22 into .tools/node22 (npm node-linux-$arch@22)"
    npm install --prefix "$tools/node22" --no-audit --no-fund --no-save "node-linux-$arch@22" >&2
  fi
fi
echo "suite runs on node $("$node22" --version) ($node22)" >&2

suite_dir="$tools/conformance/node_modules/@modelcontextprotocol/conformance"
installed=$(node -p "require('$suite_dir/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$suite_version" ]; then
  step "installing @modelcontextprotocol/conformance@$suite_version into .tools/conformance"
  npm install --prefix "$tools/conformance" --no-audit --no-fund --no-save --engine-strict=false \
    "@modelcontextprotocol/conformance@$suite_version" >&2
fi

if [ "$install_only" = 1 ]; then
  exit 0
fi

if [ "$build" = 1 ]; then
  step "build (tsc)"
  npx tsc -p tsconfig.json
fi

step "conformance: backend directly vs through the gateway"
status=0
CONFORMANCE_NODE="$node22" CONFORMANCE_SUITE="$suite_dir/dist/index.js" \
  node dist/test/conformance/run.js ${args[@]+"${args[@]}"} || status=$?
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "scripts/conformance.sh took ${elapsed} s" >&2
exit "$status"
