/*
 * Batched UDP for the DNS server (Linux): one nonblocking socket watched by a libuv poll handle
 * on Node's loop; every readable event drains the socket with recvmmsg (up to SLOTS datagrams per
 * call) into a receive area shared with JavaScript, and JavaScript is called once per batch. Replies
 * are written by JavaScript into a send area and sent with one sendmmsg per flush.
 *
 * Shared areas (Buffers owned by JavaScript, referenced here while the socket is open):
 *   in_data / out_data: SLOTS slots of SLOT_BYTES bytes each
 *   in_meta / out_meta: SLOTS records of META_BYTES bytes each, little-endian:
 *     [0,4) length  [4,6) family (4 or 6)  [6,8) port  [8,24) address  [24,28) IPv6 scope id
 *     [28,32) flags: 1 when the datagram was longer than SLOT_BYTES (only its first SLOT_BYTES
 *     bytes are in the slot)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SLOTS 64
#define SLOT_BYTES 4096
#define META_BYTES 32
#define MAX_ROUNDS 16
#define FLAG_TRUNCATED 1u

typedef struct {
  int fd;
  int family;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_batch;
  napi_ref resource; /* the async resource JavaScript callbacks run under */
  napi_ref areas[4];
  napi_async_context context;
  uint8_t *in_data, *in_meta, *out_data, *out_meta;
  struct mmsghdr rmsgs[SLOTS], smsgs[SLOTS];
  struct iovec riov[SLOTS], siov[SLOTS];
  struct sockaddr_storage raddr[SLOTS], saddr[SLOTS];
  int open;      /* the poll handle is active */
  int released;  /* uv_close finished (memory may go once finalized too) */
  int finalized; /* JavaScript dropped the handle */
} batch_socket;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "udp_batch: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_value message, code, error, errno_value, syscall_value;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message);
  const char *name = err == EADDRINUSE      ? "EADDRINUSE"
                     : err == EACCES        ? "EACCES"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : err == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                     : err == EINVAL        ? "EINVAL"
                     : err == EPERM         ? "EPERM"
                     : err == EMFILE        ? "EMFILE"
                                            : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

static void write_meta(uint8_t *meta, uint32_t length, uint32_t flags,
                       const struct sockaddr_storage *from) {
  memcpy(meta, &length, 4);
  memcpy(meta + 28, &flags, 4);
  uint16_t family = 0, port = 0;
  uint32_t scope = 0;
  memset(meta + 8, 0, 16);
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from;
    family = 4;
    port = ntohs(a->sin_port);
    memcpy(meta + 8, &a->sin_addr, 4);
  } else if (from->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
    family = 6;
    port = ntohs(a->sin6_port);
    memcpy(meta + 8, &a->sin6_addr, 16);
    scope = a->sin6_scope_id;
  }
  memcpy(meta + 4, &family, 2);
  memcpy(meta + 6, &port, 2);
  memcpy(meta + 24, &scope, 4);
}

static socklen_t read_meta(const uint8_t *meta, uint32_t *length, struct sockaddr_storage *to) {
  uint16_t family, port;
  uint32_t scope;
  memcpy(length, meta, 4);
  memcpy(&family, meta + 4, 2);
  memcpy(&port, meta + 6, 2);
  memcpy(&scope, meta + 24, 4);
  memset(to, 0, sizeof(*to));
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)to;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, meta + 8, 4);
    return sizeof(*a);
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  memcpy(&a->sin6_addr, meta + 8, 16);
  a->sin6_scope_id = scope;
  return sizeof(*a);
}

static void call_on_batch(batch_socket *s, int count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, receiver, argument, result;
  napi_get_reference_value(env, s->on_batch, &callback);
  napi_get_undefined(env, &receiver);
  napi_create_int32(env, count, &argument);
  napi_callback_scope callback_scope;
  napi_value resource;
  napi_get_reference_value(env, s->resource, &resource);
  if (napi_open_callback_scope(env, resource, s->context, &callback_scope) == napi_ok) {
    if (napi_call_function(env, receiver, callback, 1, &argument, &result) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
    napi_close_callback_scope(env, callback_scope);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  batch_socket *s = handle->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_ROUNDS && s->open; round++) {
    for (int i = 0; i < SLOTS; i++) {
      s->rmsgs[i].msg_hdr.msg_name = &s->raddr[i];
      s->rmsgs[i].msg_hdr.msg_namelen = sizeof(s->raddr[i]);
      s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
      s->rmsgs[i].msg_hdr.msg_iovlen = 1;
      s->rmsgs[i].msg_hdr.msg_control = NULL;
      s->rmsgs[i].msg_hdr.msg_controllen = 0;
      s->rmsgs[i].msg_hdr.msg_flags = 0;
    }
    int n;
    do {
      n = recvmmsg(s->fd, s->rmsgs, SLOTS, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return; /* EAGAIN: drained; other errors (ICMP reports) are per datagram */
    for (int i = 0; i < n; i++) {
      int truncated = (s->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      uint32_t length = truncated ? SLOT_BYTES : s->rmsgs[i].msg_len;
      write_meta(s->in_meta + i * META_BYTES, length, truncated ? FLAG_TRUNCATED : 0, &s->raddr[i]);
    }
    call_on_batch(s, n);
    if (n < SLOTS) return;
  }
}

static void on_closed(uv_handle_t *handle) {
  batch_socket *s = handle->data;
  s->released = 1;
  if (s->finalized) free(s);
}

static void release(napi_env env, batch_socket *s) {
  if (!s->open) return;
  s->open = 0;
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->resource);
  for (int i = 0; i < 4; i++) napi_delete_reference(env, s->areas[i]);
  napi_async_destroy(env, s->context);
  /* uv_close stops watching the descriptor at once; closing it now frees the port for a new
   * bind straight away (the handle's memory goes in on_closed) */
  uv_close((uv_handle_t *)&s->poll, on_closed);
  close(s->fd);
}

static void finalize(napi_env env, void *data, void *hint) {
  batch_socket *s = data;
  s->finalized = 1;
  if (s->open) release(env, s);
  else if (s->released) free(s);
}

static batch_socket *unwrap(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "udp_batch: not a socket handle");
    return NULL;
  }
  return data;
}

/* A Buffer shared with JavaScript, referenced while the socket is open; NULL when it cannot be made. */
static napi_value area(napi_env env, batch_socket *s, int index, size_t bytes, uint8_t **data) {
  napi_value buffer;
  if (napi_create_buffer(env, bytes, (void **)data, &buffer) != napi_ok) return NULL;
  if (napi_create_reference(env, buffer, 1, &s->areas[index]) != napi_ok) return NULL;
  memset(*data, 0, bytes);
  return buffer;
}

/* Undoes a half-made socket (before its poll handle started): references, context, memory. */
static void discard(napi_env env, batch_socket *s) {
  if (s->on_batch != NULL) napi_delete_reference(env, s->on_batch);
  if (s->resource != NULL) napi_delete_reference(env, s->resource);
  for (int i = 0; i < 4; i++)
    if (s->areas[i] != NULL) napi_delete_reference(env, s->areas[i]);
  if (s->context != NULL) napi_async_destroy(env, s->context);
  free(s);
}

/* open(family: 4|6, address: string, port: number, bufferBytes: number, onBatch: (count) => void)
 *   → [handle, port, inData, inMeta, outData, outMeta] */
static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family, port, buffer_bytes;
  char address[64];
  size_t address_length;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], address, sizeof(address), &address_length));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &buffer_bytes));
  struct sockaddr_storage bind_address;
  memset(&bind_address, 0, sizeof(bind_address));
  socklen_t bind_length;
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&bind_address;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    bind_length = sizeof(*a);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&bind_address;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    bind_length = sizeof(*a);
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (buffer_bytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  }
  if (bind(fd, (struct sockaddr *)&bind_address, bind_length) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  struct sockaddr_storage bound;
  socklen_t bound_length = sizeof(bound);
  getsockname(fd, (struct sockaddr *)&bound, &bound_length);
  int bound_port = ntohs(family == 4 ? ((struct sockaddr_in *)&bound)->sin_port
                                     : ((struct sockaddr_in6 *)&bound)->sin6_port);

  batch_socket *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->fd = fd;
  s->family = family;
  s->env = env;
  napi_value items[6], resource_name, resource, result;
  uv_loop_t *loop;
  items[2] = area(env, s, 0, SLOTS * SLOT_BYTES, &s->in_data);
  items[3] = area(env, s, 1, SLOTS * META_BYTES, &s->in_meta);
  items[4] = area(env, s, 2, SLOTS * SLOT_BYTES, &s->out_data);
  items[5] = area(env, s, 3, SLOTS * META_BYTES, &s->out_meta);
  if (items[2] == NULL || items[3] == NULL || items[4] == NULL || items[5] == NULL ||
      napi_create_reference(env, argv[4], 1, &s->on_batch) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &s->resource) != napi_ok ||
      napi_create_string_utf8(env, "UDPBATCH", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, resource, resource_name, &s->context) != napi_ok ||
      napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &s->poll, fd) != 0) {
    close(fd);
    discard(env, s);
    napi_throw_error(env, NULL, "udp_batch: could not set up the socket");
    return NULL;
  }
  for (int i = 0; i < SLOTS; i++) {
    s->riov[i].iov_base = s->in_data + i * SLOT_BYTES;
    s->riov[i].iov_len = SLOT_BYTES;
  }
  s->poll.data = s;
  s->open = 1;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  /* from here on, release() undoes everything (the finalizer frees the memory) */
  if (napi_create_external(env, s, finalize, NULL, &items[0]) != napi_ok) {
    release(env, s);
    s->finalized = 1; /* nothing will finalize it: on_closed frees it */
    napi_throw_error(env, NULL, "udp_batch: could not set up the socket");
    return NULL;
  }
  CHECK(napi_create_int32(env, bound_port, &items[1]));
  CHECK(napi_create_array_with_length(env, 6, &result));
  for (uint32_t i = 0; i < 6; i++) CHECK(napi_set_element(env, result, i, items[i]));
  return result;
}

/* flush(handle, count): sends out slots [0, count); returns how many left the socket. */
static napi_value flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_socket *s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  int32_t count;
  CHECK(napi_get_value_int32(env, argv[1], &count));
  if (count < 0 || count > SLOTS) count = 0;
  int sent = 0;
  if (s->open) {
    int valid = 0;
    for (int i = 0; i < count; i++) {
      uint32_t length;
      socklen_t name_length = read_meta(s->out_meta + i * META_BYTES, &length, &s->saddr[valid]);
      if (length > SLOT_BYTES) continue;
      s->siov[valid].iov_base = s->out_data + i * SLOT_BYTES;
      s->siov[valid].iov_len = length;
      memset(&s->smsgs[valid], 0, sizeof(s->smsgs[valid]));
      s->smsgs[valid].msg_hdr.msg_name = &s->saddr[valid];
      s->smsgs[valid].msg_hdr.msg_namelen = name_length;
      s->smsgs[valid].msg_hdr.msg_iov = &s->siov[valid];
      s->smsgs[valid].msg_hdr.msg_iovlen = 1;
      valid++;
    }
    int next = 0;
    while (next < valid) {
      int r = sendmmsg(s->fd, s->smsgs + next, valid - next, MSG_DONTWAIT);
      if (r > 0) {
        sent += r;
        next += r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        break; /* the send buffer is full: the rest is lost, as UDP may lose it */
      } else {
        next++; /* this datagram cannot be sent (unreachable, bad address): skip it */
      }
    }
  }
  CHECK(napi_create_int32(env, sent, &result));
  return result;
}

/* close(handle): stops watching and closes the socket (idempotent). */
static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_socket *s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  release(env, s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, properties);
  napi_value slots, slot_bytes, meta_bytes;
  napi_create_int32(env, SLOTS, &slots);
  napi_create_int32(env, SLOT_BYTES, &slot_bytes);
  napi_create_int32(env, META_BYTES, &meta_bytes);
  napi_set_named_property(env, exports, "SLOTS", slots);
  napi_set_named_property(env, exports, "SLOT_BYTES", slot_bytes);
  napi_set_named_property(env, exports, "META_BYTES", meta_bytes);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
