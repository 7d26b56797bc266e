# A backend registered without the helper (any language): drop into the agent's config dir.
service {
  name    = "inventory"
  id      = "inventory-10-0-0-7-8080"
  tags    = ["mcp"]
  address = "10.0.0.7"
  port    = 8080
  meta {
    mcp_prefix = "inv"
    mcp_path   = "/mcp"
    mcp_scheme = "http"
  }
  check {
    name     = "MCP port open"
    tcp      = "10.0.0.7:8080"
    interval = "5s"
    timeout  = "2s"
    deregister_critical_service_after = "1m"
  }
}
