# The Consul server of docker-compose.multi.yml: one server (bootstrap_expect 1) with the UI,
# ACLs on and deny by default. The management and agent tokens are not in this file: the
# image's entrypoint writes CONSUL_LOCAL_CONFIG (built from .env) next to it.
server           = true
bootstrap_expect = 1
node_name        = "consul-server"
bind_addr        = "{{ GetInterfaceIP \"eth0\" }}"
client_addr      = "0.0.0.0"
ui_config {
  enabled = true
}
acl {
  enabled                  = true
  default_policy           = "deny"
  down_policy              = "extend-cache"
  enable_token_persistence = true
}
