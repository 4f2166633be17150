/* SPDX-License-Identifier: MIT */
/*
 * segment.c: segment operations (create, unlink, resize, stat, list) and
 * the daemon's status.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

/* A request on a named segment, the name checked here so a bad one costs
 * no round trip. */
static int named_request(struct proto_request *req, enum proto_op op, const char *name) {
  memset(req, 0, sizeof *req);
  req->op = op;
  if (shmv_name_check(name) < 0)
    return -EINVAL;
  strcpy(req->name, name); /* fits: checked above */
  req->fields = PROTO_F_NAME;
  return 0;
}

int shmv_create(shmv_client *c, const char *name, size_t size, unsigned mode) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_CREATE, name);
  if (rc < 0)
    return rc;
  req.size = (uint64_t)size;
  req.mode = mode == 0 ? 0600 : mode;
  req.fields |= PROTO_F_SIZE | PROTO_F_MODE;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  proto_response_free(&resp);
  return 0;
}

int shmv_unlink(shmv_client *c, const char *name) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_UNLINK, name);
  if (rc < 0)
    return rc;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  proto_response_free(&resp);
  return 0;
}

int shmv_resize(shmv_client *c, const char *name, size_t size) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_RESIZE, name);
  if (rc < 0)
    return rc;
  req.size = (uint64_t)size;
  req.fields |= PROTO_F_SIZE;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  proto_response_free(&resp);
  return 0;
}

int shmv_stat(shmv_client *c, const char *name, shmv_segment_info *out) {
  if (!c || !out)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_STAT, name);
  if (rc < 0)
    return rc;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  if (strcmp(resp.u.segment.name, name) != 0)
    rc = -EPROTO;
  else
    client_segment_info(&resp.u.segment, out);
  proto_response_free(&resp);
  return rc;
}

int shmv_list(shmv_client *c, shmv_segment_info **out, size_t *count) {
  if (!c || !out || !count)
    return -EINVAL;
  *out = NULL;
  *count = 0;

  shmv_segment_info *list = NULL;
  size_t n = 0, cap = 0;
  char after[PROTO_NAME_MAX + 1] = "";
  int rc;
  for (;;) {
    struct proto_request req;
    struct proto_response resp;
    memset(&req, 0, sizeof req);
    req.op = PROTO_OP_LIST;
    if (after[0] != '\0') {
      memcpy(req.after, after, sizeof req.after);
      req.fields = PROTO_F_AFTER;
    }
    rc = client_request(c, &req, &resp, NULL);
    if (rc < 0)
      goto fail;

    size_t got = resp.u.list.count;
    bool more = resp.u.list.more;
    if (got > SIZE_MAX / sizeof *list - n) {
      proto_response_free(&resp);
      rc = -ENOMEM;
      goto fail;
    }
    if (n + got > cap) {
      size_t ncap = cap ? cap * 2 : 64;
      if (ncap < n + got || ncap > SIZE_MAX / sizeof *list)
        ncap = n + got;
      shmv_segment_info *bigger = realloc(list, ncap * sizeof *list);
      if (!bigger) {
        proto_response_free(&resp);
        rc = -ENOMEM;
        goto fail;
      }
      list = bigger;
      cap = ncap;
    }
    /* Pages must go strictly forward, or "more" could loop for ever. */
    rc = 0;
    for (size_t i = 0; i < got; i++) {
      const struct proto_segment *s = &resp.u.list.items[i];
      if (strcmp(s->name, after) <= 0) {
        rc = -EPROTO;
        break;
      }
      client_segment_info(s, &list[n++]);
      memcpy(after, s->name, sizeof after);
    }
    proto_response_free(&resp);
    if (rc < 0)
      goto fail;
    if (!more)
      break;
    if (got == 0) {
      rc = -EPROTO;
      goto fail;
    }
  }
  if (!list) {
    /* An empty list is still a malloc'd array the caller frees. */
    list = malloc(sizeof *list);
    if (!list)
      return -ENOMEM;
  }
  *out = list;
  *count = n;
  return 0;

fail:
  free(list);
  return rc;
}

void shmv_list_free(shmv_segment_info *list) {
  free(list);
}

int shmv_status(shmv_client *c, shmv_status_info *out) {
  if (!c || !out)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_STATUS;
  int rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  const struct proto_status *s = &resp.u.status;
  memset(out, 0, sizeof *out);
  memcpy(out->version, s->server, sizeof out->version);
  out->version[sizeof out->version - 1] = '\0';
  out->protocol = s->version;
  out->uptime_ms = s->uptime_ms;
  out->clients = s->clients;
  out->segments = s->segments;
  out->bytes = s->bytes;
  out->views = s->views;
  out->writable_views = s->writable_views;
  out->requests = s->requests;
  out->max_segment_size = s->max_segment_size;
  out->max_total_size = s->max_total_size;
  out->max_clients = s->max_clients;
  out->max_views = s->max_views;
  out->frame_max = s->frame_max;
  out->quota_bytes = s->quota_bytes;
  out->quota_segments = s->quota_segments;
  out->quota_views = s->quota_views;
  out->uid = (uid_t)s->uid;
  out->used_bytes = s->used_bytes;
  out->used_segments = s->used_segments;
  out->used_views = s->used_views;
  out->grace_ms = s->grace_ms;
  proto_response_free(&resp);
  return 0;
}
