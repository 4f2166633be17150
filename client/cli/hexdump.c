/* SPDX-License-Identifier: MIT */
/*
 * hexdump.c: dump's output, byte for byte what `hexdump -C` prints for a
 * file holding the same bytes (tests/test-cli.sh compares the two).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* One line: "%08x  " offset, two groups of eight "xx " with one more space
 * between them, then " |" the printable bytes "|". Missing bytes of a short
 * last line print as three spaces each, so the ascii column still lines up
 * where hexdump puts it. */
static void hexdump_line(FILE *out, const unsigned char *p, size_t n, uint64_t addr) {
  static const char hex[] = "0123456789abcdef";
  char line[96];
  size_t k;
  int len;

  len = snprintf(line, sizeof line, "%08" PRIx64 "  ", addr);
  k = (size_t)len;
  for (size_t i = 0; i < 16; i++) {
    if (i < n) {
      line[k++] = hex[p[i] >> 4];
      line[k++] = hex[p[i] & 0xf];
    } else {
      line[k++] = ' ';
      line[k++] = ' ';
    }
    line[k++] = ' ';
    if (i == 7)
      line[k++] = ' ';
  }
  line[k++] = ' ';
  line[k++] = '|';
  for (size_t i = 0; i < n; i++)
    line[k++] = p[i] >= 0x20 && p[i] <= 0x7e ? (char)p[i] : '.';
  line[k++] = '|';
  line[k++] = '\n';
  fwrite(line, 1, k, out);
}

void cli_hexdump(FILE *out, const unsigned char *data, size_t len, uint64_t base,
                 int explicit_zero) {
  size_t off = 0;
  int starred = 0;

  if (len == 0) {
    /* -n 0 prints nothing; an empty range at end of file prints the end
     * offset, unless that is 0 (hexdump of an empty file is silent). */
    if (!explicit_zero && base != 0)
      fprintf(out, "%08" PRIx64 "\n", base);
    return;
  }
  /* hexdump squeezes a full line equal to the one before it: the first of a
   * run becomes "*", the rest vanish. A short last line is always printed. */
  while (off < len && !ferror(out)) {
    size_t n = len - off < 16 ? len - off : 16;

    if (n == 16 && off >= 16 && memcmp(data + off, data + off - 16, 16) == 0) {
      if (!starred) {
        fputs("*\n", out);
        starred = 1;
      }
    } else {
      hexdump_line(out, data + off, n, base + off);
      starred = 0;
    }
    off += n;
  }
  fprintf(out, "%08" PRIx64 "\n", base + len);
}
