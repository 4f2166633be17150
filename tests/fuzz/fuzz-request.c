/* SPDX-License-Identifier: MIT */
/*
 * fuzz-request.c: libFuzzer target for proto_request_decode, the first
 * thing the daemon does with a frame a (possibly hostile) client sent.
 *
 * The input is one payload (no frame header). Properties (fuzz-common.h):
 * documented return codes only; errmsg NUL-terminated for any errcap and
 * never written past it; req->id set exactly when the id was readable; a
 * successful decode is valid and round-trips through proto_request_encode.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A short error buffer whose size varies with the input: 0, 1, ... */
  fuzz_request(data, size, size % 48);
  return 0;
}
