#!/bin/sh
# Creates (or updates) the fleet's ACL policies from the .hcl files next to this script, and
# one token per policy whose secret is chosen by the operator, so the same values can be handed
# to the gateway and the backends through their environment (.env, a Kubernetes Secret).
# Idempotent: run it again after editing a policy; existing tokens are kept.
#
#   CONSUL_HTTP_ADDR=http://127.0.0.1:8500 CONSUL_HTTP_TOKEN=<management token> \
#   GATEWAY_CONSUL_TOKEN=$(uuidgen) OPS_CONSUL_TOKEN=$(uuidgen) \
#   HR_CONSUL_TOKEN=$(uuidgen) FINANCE_CONSUL_TOKEN=$(uuidgen) sh deploy/consul/acl-bootstrap.sh
#
# A token variable left empty skips that token (its policy is still written). POSIX sh, so it
# runs in the hashicorp/consul image (busybox) as well as on a workstation; CONSUL picks the
# binary (default: consul on PATH).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
consul=${CONSUL:-consul}
: "${CONSUL_HTTP_TOKEN:?set CONSUL_HTTP_TOKEN to a management token}"
: "${CONSUL_HTTP_ADDR:=http://127.0.0.1:8500}"
export CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN

log() { printf 'acl-bootstrap: %s\n' "$*" >&2; }

is_uuid() {
  printf '%s' "$1" | grep -Eq '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
}

wait_for_acl() {
  i=0
  until "$consul" acl policy list >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      log "Consul at $CONSUL_HTTP_ADDR does not answer ACL requests with this token"
      "$consul" acl policy list >&2 || true
      exit 1
    fi
    sleep 1
  done
}

ensure_policy() {
  name=$1 file=$2 description=$3
  [ -f "$file" ] || { log "missing policy file $file"; exit 1; }
  if "$consul" acl policy read -name "$name" >/dev/null 2>&1; then
    "$consul" acl policy update -name "$name" -description "$description" -rules "@$file" >/dev/null
    log "policy $name updated from $(basename "$file")"
  else
    "$consul" acl policy create -name "$name" -description "$description" -rules "@$file" >/dev/null
    log "policy $name created from $(basename "$file")"
  fi
}

ensure_token() {
  policy=$1 variable=$2 secret=$3
  if [ -z "$secret" ]; then
    log "$variable is empty: no token for $policy"
    return
  fi
  is_uuid "$secret" || { log "$variable must be a UUID (make one with uuidgen)"; exit 1; }
  if CONSUL_HTTP_TOKEN=$secret "$consul" acl token read -self >/dev/null 2>&1; then
    log "token for $policy exists ($variable)"
    return
  fi
  "$consul" acl token create -secret "$secret" -policy-name "$policy" -description "$policy ($variable)" >/dev/null
  log "token for $policy created ($variable)"
}

wait_for_acl
ensure_policy mcp-gateway "$here/gateway-policy.hcl" "mcp-gateway: read catalog and health, write its own service, read KV under mcp-gateway/backends/"
ensure_token mcp-gateway GATEWAY_CONSUL_TOKEN "${GATEWAY_CONSUL_TOKEN:-}"
for backend in ops hr finance; do
  upper=$(printf '%s' "$backend" | tr '[:lower:]' '[:upper:]')
  ensure_policy "backend-$backend" "$here/backend-$backend-policy.hcl" "MCP backend $backend: write its own service only"
  eval "secret=\${${upper}_CONSUL_TOKEN:-}"
  ensure_token "backend-$backend" "${upper}_CONSUL_TOKEN" "$secret"
done
log "done"
