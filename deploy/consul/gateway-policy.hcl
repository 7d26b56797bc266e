# ACL policy for the mcp-gateway (Consul 1.4+ rule syntax; works with 1.8 and later).
# Create it and a token with deploy/consul/acl-bootstrap.sh, or by hand (README.md here).

# Discovery: the gateway watches /v1/catalog/services and /v1/health/state/any, then reads
# /v1/health/service/<name> for every service carrying the `mcp` tag. Reading the catalog
# and health needs read on every service and every node (node checks gate instances too).
service_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}

# Self-registration: each replica registers (and deregisters) itself as `mcp-gateway`,
# with an HTTP check on /healthz. No other service can be written with this token.
service "mcp-gateway" {
  policy = "write"
}

# Outbound credentials: `upstream.kvPrefix: mcp-gateway/backends` reads
# mcp-gateway/backends/<prefix>/headers at each (re)connect. Read only, nothing else in KV.
key_prefix "mcp-gateway/backends/" {
  policy = "read"
}
