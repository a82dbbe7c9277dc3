{
  "targets": [
    {
      "target_name": "sock_diag",
      "conditions": [
        ["OS=='linux'", { "sources": ["src/sock_diag.c", "src/net_link.c"] }]
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
