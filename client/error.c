/* SPDX-License-Identifier: MIT */
/*
 * error.c: shmv_strerror(), a sentence for every code the daemon or the
 * library returns. Static strings only, so it is thread-safe.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "client-internal.h"

const char *shmv_strerror(int code) {
  if (code < 0)
    code = code == INT_MIN ? INT_MAX : -code;
  switch (code) {
  case 0: return "success";
  case ENOENT: return "no such segment (or no shmviewd socket at that path)";
  case EEXIST: return "a segment with that name already exists";
  case EACCES: return "permission denied by the segment's mode";
  case EPERM: return "only the segment's owner (or root) may do that";
  case ERANGE: return "the view lies outside the segment";
  case EBUSY: return "the segment has live views and cannot shrink";
  case EINVAL: return "invalid argument (a bad name, descriptor, mode or flag)";
  case ENOSPC: return "no space left for the segment (in /dev/shm or the daemon's limits)";
  case EFBIG: return "the segment would exceed the daemon's size limit";
  case EMSGSIZE: return "the message is larger than the daemon's frame limit";
  case EPROTO: return "protocol error: shmviewd sent something malformed or unexpected";
  case EOPNOTSUPP: return "the daemon does not support that operation";
  case EPROTONOSUPPORT: return "shmviewd speaks another protocol version";
  case EUSERS: return "the daemon has too many clients";
  case ECONNREFUSED: return "shmviewd is not accepting connections on that socket";
  case ECONNRESET: return "lost the connection to shmviewd";
  case ENOTCONN: return "not connected to shmviewd (the connection was lost or closed)";
  case ENOMEM: return "out of memory (or address space for the mapping)";
  case EDQUOT: return "quota exceeded";
  case ENAMETOOLONG: return "the socket path is too long";
  case EOVERFLOW: return "the view's offset is too large to map";
  case EMFILE: return "this process has too many open files";
  case ENFILE: return "the system has too many open files";
  default: break;
  }
#ifdef HAVE_STRERRORDESC_NP
  const char *s = strerrordesc_np(code);
  if (s)
    return s;
#endif
  return "unknown error";
}
