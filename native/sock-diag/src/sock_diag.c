/*
 * The owner (uid) of one TCP or UDP socket, asked of the kernel over NETLINK_SOCK_DIAG (sock_diag(7)),
 * synchronously: for a request without NLM_F_DUMP the kernel looks the socket up by its exact
 * four-tuple while handling sendmsg and queues its one answer before sendmsg returns, so the
 * answer is read at once, without waiting (a missing answer is an error, never a wait).
 *
 * JavaScript builds the struct inet_diag_req_v2 (56 bytes; its protocol field says TCP or UDP)
 * and gets back the socket's uid, or a negative errno when the kernel answered with an error
 * (-ENOENT: no such socket, or no diag handler for the protocol: udp_diag not loadable).
 *
 *   open() -> handle            query(handle, request) -> uid | -errno           close(handle)
 *
 * The same addon carries the agent's tun link and network watch (net_link.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLY_BYTES 8192
/* Answers of earlier queries (none are expected) read and dropped before giving up. */
#define MAX_STALE 16

typedef struct {
  int fd;
  uint32_t seq;
} diag_socket;

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char message[160];
  snprintf(message, sizeof message, "sock_diag %s: %s", syscall, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  diag_socket *s = data;
  if (s->fd >= 0) close(s->fd);
  free(s);
}

/* The handle (and the arguments after it) a call was made with; NULL with an exception set. */
static diag_socket *handle_of(napi_env env, napi_callback_info info, size_t wanted,
                              napi_value *argv, const char *usage) {
  size_t argc = wanted;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < wanted) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "sock_diag: not a handle from open()");
    return NULL;
  }
  return data;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return throw_errno(env, "socket", errno);
  diag_socket *s = malloc(sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_errno(env, "malloc", ENOMEM);
  }
  s->fd = fd;
  s->seq = 0;
  napi_value handle;
  if (napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) {
    finalize(env, s, NULL);
    napi_throw_error(env, NULL, "sock_diag: cannot create a handle");
    return NULL;
  }
  return handle;
}

static napi_value query(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  diag_socket *s = handle_of(env, info, 2, argv, "sock_diag: query(handle, request)");
  if (s == NULL) return NULL;
  if (s->fd < 0) {
    napi_throw_error(env, NULL, "sock_diag: the socket is closed");
    return NULL;
  }
  void *request = NULL;
  size_t request_bytes = 0;
  if (napi_get_buffer_info(env, argv[1], &request, &request_bytes) != napi_ok ||
      request_bytes != sizeof(struct inet_diag_req_v2)) {
    napi_throw_type_error(env, NULL, "sock_diag: the request must be a 56-byte inet_diag_req_v2");
    return NULL;
  }

  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 body;
  } message;
  memset(&message, 0, sizeof message);
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.header.nlmsg_seq = ++s->seq;
  memcpy(&message.body, request, sizeof message.body);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do {
    sent = sendto(s->fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return throw_errno(env, "sendto", errno);

  uint32_t reply[REPLY_BYTES / sizeof(uint32_t)]; /* aligned for struct nlmsghdr */
  for (int round = 0; round <= MAX_STALE; round++) {
    ssize_t got;
    do {
      got = recv(s->fd, reply, sizeof reply, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        napi_throw_error(env, NULL, "sock_diag: the kernel gave no answer");
        return NULL;
      }
      return throw_errno(env, "recv", errno);
    }
    int left = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != s->seq) continue;
      napi_value result;
      if (h->nlmsg_type == NLMSG_ERROR &&
          h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        napi_create_int32(env, e->error < 0 ? e->error : -EIO, &result);
        return result;
      }
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
          h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        napi_create_uint32(env, m->idiag_uid, &result);
        return result;
      }
      napi_throw_error(env, NULL, "sock_diag: unexpected answer from the kernel");
      return NULL;
    }
  }
  napi_throw_error(env, NULL, "sock_diag: the kernel gave no answer to this query");
  return NULL;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  diag_socket *s = handle_of(env, info, 1, argv, "sock_diag: close(handle)");
  if (s == NULL) return NULL;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  return NULL;
}

/* net_link.c: the agent's tun link and its rtnetlink watch. */
napi_status register_net_link(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"query", NULL, query, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                             properties) != napi_ok ||
      register_net_link(env, exports) != napi_ok) {
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
