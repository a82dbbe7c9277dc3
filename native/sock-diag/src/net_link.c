/*
 * The agent's own network link and its watch on the machine's network, for src/platform/linux:
 *
 *   tunOpen(name) -> handle      a tun device made with TUNSETIFF (not persistent): the kernel
 *                                 deletes the link, and every address on it, when the handle's
 *                                 file is closed, i.e. when the process dies however it dies.
 *   tunClose(handle)
 *   watchOpen(callback) -> handle an rtnetlink socket subscribed to link, address and route
 *                                 events, polled by libuv; callback(mask) after each burst, mask
 *                                 LINK 1 | ADDRESS 2 | ROUTE 4 | OVERFLOW 8 (events were lost).
 *   watchClose(handle)
 *
 * Errors are thrown as Error objects with `code` (ENOENT, EPERM...) and `errno`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MASK_LINK 1
#define MASK_ADDRESS 2
#define MASK_ROUTE 4
#define MASK_OVERFLOW 8
#define WATCH_RCVBUF (1 << 20)

static napi_value throw_code(napi_env env, const char *what, int err) {
  char message[200];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value text, code, number, error;
  const char *name = strerrorname_np(err);
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_string_utf8(env, name == NULL ? "EIO" : name, NAPI_AUTO_LENGTH, &code) !=
          napi_ok ||
      napi_create_int32(env, err, &number) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

/* --- tun ------------------------------------------------------------------------------------ */

typedef struct {
  int fd;
} tun_box;

static void tun_finalize(napi_env env, void *data, void *hint) {
  tun_box *t = data;
  if (t->fd >= 0) close(t->fd);
  free(t);
}

static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct ifreq request;
  memset(&request, 0, sizeof request);
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], request.ifr_name, IFNAMSIZ, &length) != napi_ok ||
      length == 0 || length >= IFNAMSIZ - 1) {
    napi_throw_type_error(env, NULL, "tunOpen(name): a link name of 1 to 14 characters");
    return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return throw_code(env, "open /dev/net/tun", errno);
  /* IFF_NO_PI: no packet header; the agent never reads, only local delivery uses the link. */
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    int err = errno;
    close(fd);
    return throw_code(env, "ioctl TUNSETIFF", err);
  }
  tun_box *t = malloc(sizeof *t);
  if (t == NULL) {
    close(fd);
    return throw_code(env, "malloc", ENOMEM);
  }
  t->fd = fd;
  napi_value handle;
  if (napi_create_external(env, t, tun_finalize, NULL, &handle) != napi_ok) {
    tun_finalize(env, t, NULL);
    napi_throw_error(env, NULL, "tunOpen: cannot create a handle");
    return NULL;
  }
  return handle;
}

static void *external_arg(napi_env env, napi_callback_info info, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return data;
}

static napi_value tun_close(napi_env env, napi_callback_info info) {
  tun_box *t = external_arg(env, info, "tunClose(handle from tunOpen)");
  if (t == NULL) return NULL;
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
  return NULL;
}

/* --- rtnetlink watch -------------------------------------------------------------------------- */

typedef struct {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} rtnl_watch;

/* What JavaScript holds: the watch, cleared once closed (the watch is freed by libuv later). */
typedef struct {
  rtnl_watch *watch;
} watch_box;

static void watch_freed(uv_handle_t *handle) {
  rtnl_watch *w = handle->data;
  close(w->fd);
  free(w);
}

static void watch_stop(rtnl_watch *w) {
  uv_poll_stop(&w->poll);
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->context);
  uv_close((uv_handle_t *)&w->poll, watch_freed);
}

static void watch_readable(uv_poll_t *poll, int status, int events) {
  rtnl_watch *w = poll->data;
  int mask = status < 0 ? MASK_OVERFLOW : 0;
  uint32_t buffer[8192 / sizeof(uint32_t)]; /* aligned for struct nlmsghdr */
  for (;;) {
    ssize_t got = recv(w->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { /* the kernel dropped events: the caller re-reads everything */
        mask |= MASK_OVERFLOW;
        continue;
      }
      break; /* EAGAIN: drained */
    }
    if (got == 0) break;
    int left = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      switch (h->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: mask |= MASK_LINK; break;
      case RTM_NEWADDR:
      case RTM_DELADDR: mask |= MASK_ADDRESS; break;
      case RTM_NEWROUTE:
      case RTM_DELROUTE: mask |= MASK_ROUTE; break;
      default: break;
      }
    }
  }
  if (mask == 0) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, argument, result;
  if (napi_get_reference_value(env, w->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &global) == napi_ok && napi_create_int32(env, mask, &argument) == napi_ok) {
    if (napi_make_callback(env, w->context, global, callback, 1, &argument, &result) ==
        napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void watch_finalize(napi_env env, void *data, void *hint) {
  watch_box *box = data;
  if (box->watch != NULL) watch_stop(box->watch);
  free(box);
}

static napi_value watch_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "watchOpen(callback)");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "watchOpen: no event loop");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return throw_code(env, "rtnetlink socket", errno);
  int size = WATCH_RCVBUF;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl local = {
      .nl_family = AF_NETLINK,
      .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                   RTMGRP_IPV6_ROUTE,
  };
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_code(env, "rtnetlink bind", err);
  }
  rtnl_watch *w = calloc(1, sizeof *w);
  watch_box *box = malloc(sizeof *box);
  if (w == NULL || box == NULL) {
    free(w);
    free(box);
    close(fd);
    return throw_code(env, "malloc", ENOMEM);
  }
  w->fd = fd;
  w->env = env;
  w->poll.data = w;
  box->watch = w;
  napi_value name, handle;
  if (uv_poll_init(loop, &w->poll, fd) != 0) {
    free(w);
    free(box);
    close(fd);
    napi_throw_error(env, NULL, "watchOpen: uv_poll_init failed");
    return NULL;
  }
  if (napi_create_string_utf8(env, "rtnetlinkWatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &w->callback) != napi_ok ||
      napi_create_external(env, box, watch_finalize, NULL, &handle) != napi_ok) {
    /* Rare (out of memory in V8): stop what exists; the poll handle is freed by libuv. */
    if (w->callback != NULL) napi_delete_reference(env, w->callback);
    if (w->context != NULL) napi_async_destroy(env, w->context);
    uv_close((uv_handle_t *)&w->poll, watch_freed);
    free(box);
    napi_throw_error(env, NULL, "watchOpen: cannot create a handle");
    return NULL;
  }
  /* The watch alone does not keep the process running; the daemon's servers do. */
  uv_unref((uv_handle_t *)&w->poll);
  uv_poll_start(&w->poll, UV_READABLE, watch_readable);
  return handle;
}

static napi_value watch_close(napi_env env, napi_callback_info info) {
  watch_box *box = external_arg(env, info, "watchClose(handle from watchOpen)");
  if (box == NULL) return NULL;
  if (box->watch != NULL) watch_stop(box->watch);
  box->watch = NULL;
  return NULL;
}

napi_status register_net_link(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"tunOpen", NULL, tun_open, NULL, NULL, NULL, napi_default, NULL},
      {"tunClose", NULL, tun_close, NULL, NULL, NULL, napi_default, NULL},
      {"watchOpen", NULL, watch_open, NULL, NULL, NULL, napi_default, NULL},
      {"watchClose", NULL, watch_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                                properties);
}
