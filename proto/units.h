/* SPDX-License-Identifier: MIT */
/*
 * units.h: sizes in bytes as people type and read them, for the daemon's
 * settings, the CLI and the benchmarks alike.
 *
 * One parser, so `64k` means the same to shmviewd's config file as to
 * `shmview create`; one formatter, so every byte count a user reads is
 * rounded the same way. Neither needs msgpack, so this header stands apart
 * from proto.h.
 */
#ifndef SHMV_PROTO_UNITS_H
#define SHMV_PROTO_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a size as dd, truncate and `numfmt --from=iec` users type it:
 *
 *   DIGITS[.DIGITS][UNIT]    UNIT: K M G T P E, in either case, alone or
 *                            followed by "iB" (powers of 1024: 1K = 1KiB =
 *                            1024), or followed by "B" (powers of 1000, as
 *                            coreutils reads them: 1KB = 1000)
 *
 * A fraction is accepted when the result is a whole number of bytes
 * (1.5K = 1536; 0.1K is refused). No sign, no blanks, nothing after the
 * unit. Returns 0 with *out set, -EINVAL for anything else (*out
 * untouched), or -ERANGE when the value does not fit in 64 bits.
 */
int proto_size_parse(const char *s, uint64_t *out);

/* proto_size_format() flags. PROTO_SIZE_EXACT: a unit only where it is
 * exact ("16M"), else plain bytes, so that (without PROTO_SIZE_IEC)
 * proto_size_parse() reads the text back to the same number.
 * PROTO_SIZE_IEC: "1.5 KiB", "12 B" instead of "1.5K", "12". */
#define PROTO_SIZE_EXACT 0x1u
#define PROTO_SIZE_IEC   0x2u

/* Enough for any uint64_t in any form, with the NUL. */
#define PROTO_SIZE_BUFSZ 32

/*
 * Format n bytes into buf (cap bytes; PROTO_SIZE_BUFSZ is always enough)
 * and return buf. By default as `ls -h` prints sizes: below 1024 the plain
 * number; else one decimal below 10 of a unit and whole units above,
 * always rounded up, so a size is never shown smaller than it is
 * (1025 -> "1.1K", 1048576 -> "1.0M", 10485761 -> "11M").
 */
const char *proto_size_format(uint64_t n, unsigned flags, char *buf, size_t cap);

#endif /* SHMV_PROTO_UNITS_H */
