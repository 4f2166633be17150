/* SPDX-License-Identifier: MIT */
/*
 * wire.c: sendmsg/recvmsg with one file descriptor riding on the first
 * byte of a frame (SCM_RIGHTS). This is the only place that touches cmsg
 * buffers.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto.h"

/* Room for this many descriptors in one recvmsg: a hostile peer may send
 * more than one; we must receive (and close) them rather than let the
 * kernel truncate silently where we cannot see it. */
#define RECV_MAX_FDS 16

ssize_t proto_send(int sock, const void *buf, size_t len, int fd) {
  struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

  return proto_sendv(sock, &iov, 1, fd);
}

ssize_t proto_sendv(int sock, const struct iovec *iov, int iovcnt, int fd) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr msg;
  struct cmsghdr *cm;
  size_t len = 0;
  ssize_t n;

  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  if (len == 0)
    return fd >= 0 ? -EINVAL : 0; /* an fd needs a byte to ride on */

  memset(&msg, 0, sizeof msg);
  msg.msg_iov = (struct iovec *)iov;
  msg.msg_iovlen = (size_t)iovcnt;
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

ssize_t proto_recv(int sock, void *buf, size_t cap, int *fd) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
  } ctl;
  struct msghdr msg;
  struct iovec iov;
  struct cmsghdr *cm;
  bool keep;
  ssize_t n;
  size_t i, nfds;
  int got;

  if (fd != NULL)
    *fd = -1;
  memset(&msg, 0, sizeof msg);
  iov.iov_base = buf;
  iov.iov_len = cap;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;

  /* With MSG_CTRUNC the kernel installed only the descriptors that fit
   * (and closed the rest): a peer that sends that many is misbehaving,
   * so keep none of them. The bytes themselves are intact. */
  keep = fd != NULL && !(msg.msg_flags & MSG_CTRUNC);
  for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
      continue;
    nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (i = 0; i < nfds; i++) {
      memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      if (got < 0)
        continue;
      if (keep && *fd < 0)
        *fd = got;
      else
        close(got);
    }
  }
  return n;
}
