/* SPDX-License-Identifier: MIT */
/*
 * test-units.c: the one size parser and formatter (proto/units.c) that the
 * daemon's settings, the CLI and the benchmarks share.
 *
 * Every form dd, truncate and numfmt --from=iec users type; every way a
 * size can be wrong (sign, blanks, junk, overflow, a fraction of a byte);
 * the ls -h rounding (never down) at each unit's edges; exact forms that
 * read back to the same number.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "units.h"

static uint64_t parse_ok(const char *s) {
  uint64_t v = 12345;
  int r = proto_size_parse(s, &v);

  ck_assert_msg(r == 0, "'%s': %d", s, r);
  return v;
}

static void parse_bad(const char *s, int want) {
  uint64_t v = 12345;
  int r = proto_size_parse(s, &v);

  ck_assert_msg(r == want, "'%s': %d, expected %d", s, r, want);
  ck_assert_msg(v == 12345, "'%s' changed the output on failure", s);
}

START_TEST(parse_forms) {
  const uint64_t K = 1024, M = K * K, G = M * K, T = G * K;

  ck_assert_uint_eq(parse_ok("0"), 0);
  ck_assert_uint_eq(parse_ok("13"), 13);
  ck_assert_uint_eq(parse_ok("007"), 7);
  ck_assert_uint_eq(parse_ok("18446744073709551615"), UINT64_MAX);
  /* letters in either case, alone or with iB: powers of 1024 */
  ck_assert_uint_eq(parse_ok("1k"), K);
  ck_assert_uint_eq(parse_ok("1K"), K);
  ck_assert_uint_eq(parse_ok("1KiB"), K);
  ck_assert_uint_eq(parse_ok("64k"), 64 * K);
  ck_assert_uint_eq(parse_ok("1m"), M);
  ck_assert_uint_eq(parse_ok("1M"), M);
  ck_assert_uint_eq(parse_ok("3MiB"), 3 * M);
  ck_assert_uint_eq(parse_ok("2G"), 2 * G);
  ck_assert_uint_eq(parse_ok("2GiB"), 2 * G);
  ck_assert_uint_eq(parse_ok("1T"), T);
  ck_assert_uint_eq(parse_ok("1t"), T);
  ck_assert_uint_eq(parse_ok("1TiB"), T);
  ck_assert_uint_eq(parse_ok("1P"), T * K);
  ck_assert_uint_eq(parse_ok("15E"), 15 * T * M);
  /* with B alone: powers of 1000, as dd and truncate read them */
  ck_assert_uint_eq(parse_ok("1KB"), 1000);
  ck_assert_uint_eq(parse_ok("1kB"), 1000);
  ck_assert_uint_eq(parse_ok("5MB"), 5000000);
  ck_assert_uint_eq(parse_ok("1TB"), UINT64_C(1000000000000));
  ck_assert_uint_eq(parse_ok("18EB"), UINT64_C(18000000000000000000));
  /* fractions that make whole bytes, as numfmt --from=iec takes them */
  ck_assert_uint_eq(parse_ok("1.5K"), 1536);
  ck_assert_uint_eq(parse_ok("1.50K"), 1536);
  ck_assert_uint_eq(parse_ok("0.5KiB"), 512);
  ck_assert_uint_eq(parse_ok("0.25M"), M / 4);
  ck_assert_uint_eq(parse_ok("2.0"), 2);
  ck_assert_uint_eq(parse_ok("1.001KB"), 1001);
  ck_assert_uint_eq(parse_ok("0.0009765625K"), 1);
  ck_assert_uint_eq(parse_ok("15.5E"), 15 * T * M + T * M / 2);
}
END_TEST

START_TEST(parse_errors) {
  static const char *const bad[] = {
    "",         "K",
    "KiB",      ".5K",
    "1.",       "1.K",
    "-5",       "-0",
    "+5",       " 1",
    "1 ",       "1 K",
    "1KK",      "1Ki",
    "1kib",     "1KIB",
    "1iB",      "1B",
    "1b",       "512c",
    "1Q",       "1k5",
    "0x10",     "1e3",
    "1,5K",     "1.5.0",
    "0.1K", /* 102.4 bytes */
    "0.5",  /* half a byte */
    "1.0001KB", "1.0000000000000000001K",
    "1\n",
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    parse_bad(bad[i], -EINVAL);
  parse_bad(NULL, -EINVAL);
  parse_bad("18446744073709551616", -ERANGE);
  parse_bad("99999999999999999999999", -ERANGE);
  parse_bad("16E", -ERANGE);
  parse_bad("16384P", -ERANGE);
  parse_bad("17179869184G", -ERANGE);
  parse_bad("15.9999999999E", -EINVAL); /* not whole */
  parse_bad("15.99999999999999999E", -EINVAL);
  parse_bad("19EB", -ERANGE);
  parse_bad("18446744073709551616K", -ERANGE);
  /* the syntax is checked before the value */
  parse_bad("99999999999999999999999Q", -EINVAL);
}
END_TEST

static void fmt_is(uint64_t n, unsigned flags, const char *want) {
  char buf[PROTO_SIZE_BUFSZ];
  const char *got = proto_size_format(n, flags, buf, sizeof buf);

  ck_assert_ptr_eq(got, buf);
  ck_assert_msg(strcmp(got, want) == 0, "%llu (flags %u): '%s', expected '%s'",
                (unsigned long long)n, flags, got, want);
}

START_TEST(format_human) {
  fmt_is(0, 0, "0");
  fmt_is(13, 0, "13");
  fmt_is(1023, 0, "1023");
  fmt_is(1024, 0, "1.0K");
  fmt_is(1025, 0, "1.1K"); /* rounded up, as ls -h does */
  fmt_is(1536, 0, "1.5K");
  fmt_is(2048, 0, "2.0K");
  fmt_is(10239, 0, "10K");
  fmt_is(10240, 0, "10K");
  fmt_is(10241, 0, "11K");
  fmt_is(1048575, 0, "1.0M"); /* rolls over into the next unit */
  fmt_is(1048576, 0, "1.0M");
  fmt_is(10485761, 0, "11M");
  fmt_is(UINT64_C(1) << 30, 0, "1.0G");
  fmt_is(UINT64_C(1) << 40, 0, "1.0T");
  fmt_is(UINT64_C(1) << 50, 0, "1.0P");
  fmt_is(UINT64_C(1) << 60, 0, "1.0E");
  fmt_is(UINT64_MAX, 0, "16E");
  fmt_is(0, PROTO_SIZE_IEC, "0 B");
  fmt_is(12, PROTO_SIZE_IEC, "12 B");
  fmt_is(1536, PROTO_SIZE_IEC, "1.5 KiB");
  fmt_is(8192, PROTO_SIZE_IEC, "8.0 KiB");
  fmt_is(UINT64_C(300) << 20, PROTO_SIZE_IEC, "300 MiB");
}
END_TEST

START_TEST(format_exact) {
  static const uint64_t values[] = { 0,
                                     1,
                                     1000,
                                     1023,
                                     1024,
                                     4096,
                                     65536,
                                     65537,
                                     1 << 20,
                                     16u << 20,
                                     3u << 30,
                                     UINT64_MAX,
                                     UINT64_C(1) << 40,
                                     UINT64_C(5) << 50,
                                     UINT64_C(15) << 60 };
  char buf[PROTO_SIZE_BUFSZ];

  fmt_is(0, PROTO_SIZE_EXACT, "0");
  fmt_is(1000, PROTO_SIZE_EXACT, "1000");
  fmt_is(4096, PROTO_SIZE_EXACT, "4K");
  fmt_is(65537, PROTO_SIZE_EXACT, "65537");
  fmt_is(16u << 20, PROTO_SIZE_EXACT, "16M");
  fmt_is(UINT64_C(1) << 40, PROTO_SIZE_EXACT, "1T");
  fmt_is(UINT64_C(15) << 60, PROTO_SIZE_EXACT, "15E");
  fmt_is(UINT64_MAX, PROTO_SIZE_EXACT, "18446744073709551615");
  fmt_is(16u << 20, PROTO_SIZE_EXACT | PROTO_SIZE_IEC, "16 MiB");
  fmt_is(1000, PROTO_SIZE_EXACT | PROTO_SIZE_IEC, "1000 B");
  /* the exact form reads back to the same number */
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint64_t back = 0;

    proto_size_format(values[i], PROTO_SIZE_EXACT, buf, sizeof buf);
    ck_assert_int_eq(proto_size_parse(buf, &back), 0);
    ck_assert_uint_eq(back, values[i]);
  }
  /* a short buffer is cut, never overrun */
  memset(buf, 'x', sizeof buf);
  proto_size_format(1536, 0, buf, 3);
  ck_assert_str_eq(buf, "1.");
  ck_assert_int_eq(buf[3], 'x');
}
END_TEST

int main(void) {
  Suite *s = suite_create("units");
  TCase *tc = tcase_create("units");

  tcase_add_test(tc, parse_forms);
  tcase_add_test(tc, parse_errors);
  tcase_add_test(tc, format_human);
  tcase_add_test(tc, format_exact);
  suite_add_tcase(s, tc);
  return harness_main(s);
}
