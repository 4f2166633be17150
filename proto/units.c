/* SPDX-License-Identifier: MIT */
/*
 * units.c: the one size parser and the one size formatter (units.h).
 *
 * Written out rather than taken from libbsd: expand_number() goes through
 * strtoumax(), so it takes "-5" (as a huge number) and leading blanks, and
 * knows neither "KiB" nor coreutils' "KB"; humanize_number() rounds to
 * nearest, which can show a segment smaller than it is.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

static const char unit_letters[] = "KMGTPE";

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* The index (1 for K .. 6 for E) of a unit letter in either case, or 0. */
static int unit_index(char c) {
  if (c >= 'a' && c <= 'z')
    c = (char)(c - 'a' + 'A');
  for (int i = 0; unit_letters[i] != '\0'; i++)
    if (unit_letters[i] == c)
      return i + 1;
  return 0;
}

/* The fraction digits f (k of them, k <= 18) of a number times 2^shift: 0
 * and *out set if that is a whole number, else -EINVAL. Since
 * 10^k = 2^k * 5^k, it is whole when 5^k divides f and 2^k divides
 * (f / 5^k) * 2^shift; the result is below 2^shift, so nothing overflows. */
static int frac_binary(uint64_t f, unsigned k, unsigned shift, uint64_t *out) {
  uint64_t five = 1;

  for (unsigned i = 0; i < k; i++)
    five *= 5;
  if (f % five != 0)
    return -EINVAL;
  f /= five; /* now below 2^k */
  if (shift >= k) {
    *out = f << (shift - k);
    return 0;
  }
  if (f % (UINT64_C(1) << (k - shift)) != 0)
    return -EINVAL;
  *out = f >> (k - shift);
  return 0;
}

int proto_size_parse(const char *s, uint64_t *out) {
  uint64_t whole = 0, frac = 0, v, part;
  unsigned k = 0, exp = 0;
  const char *p = s, *fs = NULL;
  int overflow = 0, decimal = 0;

  if (s == NULL || !is_digit(*p))
    return -EINVAL;
  for (; is_digit(*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if (whole > (UINT64_MAX - d) / 10)
      overflow = 1;
    else
      whole = whole * 10 + d;
  }
  if (*p == '.') {
    p++;
    if (!is_digit(*p))
      return -EINVAL;
    fs = p;
    while (is_digit(*p))
      p++;
    k = (unsigned)(p - fs);
    while (k > 0 && fs[k - 1] == '0') /* 1.50K is 1.5K */
      k--;
  }
  if (*p != '\0') {
    if ((exp = (unsigned)unit_index(*p)) == 0)
      return -EINVAL;
    p++;
    if (strcmp(p, "B") == 0)
      decimal = 1;
    else if (*p != '\0' && strcmp(p, "iB") != 0)
      return -EINVAL;
  }
  /* The syntax is right; now the value. More than 18 significant fraction
   * digits never make a whole number of bytes that anyone types. */
  if (k > 18)
    return -EINVAL;
  for (unsigned i = 0; i < k; i++)
    frac = frac * 10 + (uint64_t)(fs[i] - '0');

  if (decimal) {
    uint64_t mult = 1, scale = 1;

    for (unsigned i = 0; i < exp; i++)
      mult *= 1000;
    if (k > 3 * exp)
      return -EINVAL; /* finer than a byte */
    for (unsigned i = k; i < 3 * exp; i++)
      scale *= 10;
    part = frac * scale; /* below mult, at most 10^18 */
    if (overflow || whole > (UINT64_MAX - part) / mult)
      return -ERANGE;
    v = whole * mult + part;
  } else {
    unsigned shift = 10 * exp;

    if (frac_binary(frac, k, shift, &part) != 0)
      return -EINVAL;
    if (overflow || whole > (UINT64_MAX >> shift))
      return -ERANGE;
    v = whole << shift;
    if (v > UINT64_MAX - part)
      return -ERANGE;
    v += part;
  }
  *out = v;
  return 0;
}

const char *proto_size_format(uint64_t n, unsigned flags, char *buf, size_t cap) {
  const char *sp = (flags & PROTO_SIZE_IEC) ? " " : "";
  const char *ib = (flags & PROTO_SIZE_IEC) ? "iB" : "";
  uint64_t div = 1024;
  int u = 0;

  if (flags & PROTO_SIZE_EXACT) {
    for (u = 6; u >= 1; u--) {
      uint64_t unit = UINT64_C(1) << (10 * u);

      if (n != 0 && n % unit == 0) {
        snprintf(buf, cap, "%" PRIu64 "%s%c%s", n / unit, sp, unit_letters[u - 1], ib);
        return buf;
      }
    }
  }
  if (n < 1024 || (flags & PROTO_SIZE_EXACT)) {
    snprintf(buf, cap, "%" PRIu64 "%s", n, (flags & PROTO_SIZE_IEC) ? " B" : "");
    return buf;
  }
  /* The largest unit the value reaches; rounding up may then roll a value
   * just below the next unit over into it (1048575 -> "1.0M"). */
  while (u < 5 && n / div >= 1024) {
    div *= 1024;
    u++;
  }
  for (;;) {
    uint64_t whole = n / div, rem = n % div;

    if (whole < 10) {
      /* one decimal, rounded up: tenths = ceil(n * 10 / div); rem * 10
       * stays below 2^64 since div is at most 2^60 */
      uint64_t tenths = whole * 10 + (rem * 10 + div - 1) / div;
      if (tenths < 100) {
        snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 "%s%c%s", tenths / 10, tenths % 10, sp,
                 unit_letters[u], ib);
        return buf;
      }
      whole = 10;
    } else if (rem != 0) {
      whole++;
    }
    if (whole < 1024 || u == 5) {
      snprintf(buf, cap, "%" PRIu64 "%s%c%s", whole, sp, unit_letters[u], ib);
      return buf;
    }
    div *= 1024;
    u++;
  }
}
