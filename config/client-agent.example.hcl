# client-agent configuration (HCL). Every key is optional; the values below are the defaults.
# Check a file with: client-agent config validate --config FILE
# Default location: /etc/client-agent/client-agent.hcl (Linux),
# /Library/Application Support/client-agent/client-agent.hcl (macOS).

# How often the alias cache is refreshed from the controller (Go duration: "60s", "1m30s", "2h").
alias_refresh_interval = "1m"

# How long handling one DNS request may take, session authorization and upstream queries included.
dns_request_timeout = "300s"

# Linux with systemd-resolved: "split" routes only the alias names to the agent (every other name
# goes to the network's resolvers as before, untouched by the agent); "full" routes every name to
# it. "auto" is split where systemd-resolved runs; with a plain /etc/resolv.conf and on macOS every
# name goes to the agent. A change needs a restart.
# dns_mode = "auto"

# The network interface that gets the agent's addresses. Default: the interface of the default route.
# interface_to_use = "eth0"

# Where the agent writes its log (JSON lines). Relative paths are taken from this file's directory.
# Default: /var/log/client-agent/client-agent.log (Linux), /Library/Logs/client-agent/client-agent.log (macOS).
# log_file = "/var/log/client-agent/client-agent.log"

# How much the agent logs: trace, debug, info, warn or error (any case).
log_level = "info"

# Also write the log to standard output (for example to the systemd journal).
log_to_stdout = false

# DNS servers for names that are not aliases, tried in order: "ip", "ip:port", "[v6]" or "[v6]:port".
# Default (empty): the resolvers that were configured before the agent took over.
override_upstream_dns_servers = []

# What the running agent changed on the machine, so a restart after a crash or power cut can undo it.
# Default: /var/lib/client-agent/state.json (Linux), /Library/Application Support/client-agent/state.json (macOS).
# state_file = "/var/lib/client-agent/state.json"

# Whether the agent is running or paused, kept across restarts.
# Default: /var/lib/client-agent/operational-state.json (Linux), /Library/Application Support/client-agent/operational-state.json (macOS).
# operational_state_file = "/var/lib/client-agent/operational-state.json"

# The IPv4 network (/8 to /16) that the agent's DNS address and the proxy addresses come from.
v4_prefix = "100.64.0.0/10"

# The IPv6 unique local network (/48 to /64) for IPv6 addresses, or "off" for IPv4 only.
v6_prefix = "fd62:6f75:6e64::/64"

# The port of the control API on 127.0.0.1 and ::1 (what `client-agent status` talks to).
# The environment variable BOUNDARY_CLIENT_AGENT_LISTENING_PORT overrides it.
listen_port = 9300

# A PEM file with the CA certificate(s) that signed the controller's TLS certificate, trusted
# besides the built-in ones (for a controller with a private CA). Default: none.
# controller_ca_file = "/etc/client-agent/boundary-ca.pem"

# Do not verify the controller's TLS certificate. Development only: anyone on the network path can
# then read the Boundary tokens the agent sends. The agent warns about it in its log and in status.
controller_tls_insecure = false

# Keep one worker connection per session set up ahead (TLS and WebSocket done, nothing sent), and
# start a connection's TLS while its caller is still being identified: the first bytes of a new
# connection arrive a few milliseconds sooner. Off by default: Boundary's worker looks the session
# up at the controller on every TLS handshake, and logs an error for every such connection that is
# closed unused. With it off, each connection dials the worker as "boundary connect" does.
pre_open_worker_connections = false
