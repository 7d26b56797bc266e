# ACL policy for the `hr` demo backend: it may register, update the checks of and
# deregister its own service (every replica of `hr`), and nothing else. Reading the agent's
# service list (the helper's re-registration check) is covered by write on its own service.
# A backend of your own: copy this file and change the service name.
service "hr" {
  policy = "write"
}
