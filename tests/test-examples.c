/* SPDX-License-Identifier: MIT */
/*
 * test-examples.c: the C example the README quotes is real.
 *
 * client/examples/hello is run, as a separate process, against the built
 * daemon: it prints the slice and its descriptor, leaves "Hello, World!"
 * in the segment for others to read, and runs again over the segment it
 * left. The README must quote client/examples/hello.c verbatim, so the
 * text users copy is the program make builds and this test runs.
 *
 * Environment (set by make check): SHMVIEW_BUILDDIR, SHMVIEW_SRCDIR.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* $var/rel, or abort the test when var is not set. */
static void env_path(char *buf, size_t cap, const char *var, const char *rel) {
  const char *dir = getenv(var);

  ck_assert_msg(dir != NULL && dir[0] != '\0', "%s is not set (run through make check)", var);
  ck_assert_int_lt(snprintf(buf, cap, "%s/%s", dir, rel), (int)cap);
}

/* Run prog with one argument; its stdout into out (NUL-terminated).
 * Returns the wait status. */
static int run(const char *prog, const char *arg, char *out, size_t cap) {
  int p[2], status;
  size_t n = 0;
  ssize_t r;
  pid_t pid;

  ck_assert_int_eq(pipe(p), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(p[1], STDOUT_FILENO);
    close(p[0]);
    close(p[1]);
    execl(prog, prog, arg, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) != 0) {
    if (r < 0 && errno == EINTR)
      continue;
    ck_assert_int_gt(r, 0);
    n += (size_t)r;
  }
  out[n] = '\0';
  close(p[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return status;
}

/* The whole file, malloc'd and NUL-terminated. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf;
  long len;

  ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  len = ftell(f);
  ck_assert_int_ge(len, 0);
  rewind(f);
  buf = malloc((size_t)len + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  buf[len] = '\0';
  fclose(f);
  return buf;
}

START_TEST(hello_runs) {
  char prog[4096], out[512];
  shmv_client *c;
  shmv_view *v;
  int status;

  env_path(prog, sizeof prog, "SHMVIEW_BUILDDIR", "client/examples/hello");
  for (int round = 0; round < 2; round++) { /* the second finds the segment */
    status = run(prog, d.socket, out, sizeof out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "hello (round %d) failed: status 0x%x, output '%s'", round, status, out);
    ck_assert_str_eq(out, "World\ngreeting:7:5:rw\n");
  }

  /* What it wrote is there for another process. */
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_view_open(c, "greeting", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 13);
  ck_assert_int_eq(memcmp(shmv_view_data(v), "Hello, World!", 13), 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "greeting"), 0);
  shmv_disconnect(c);
}
END_TEST

START_TEST(hello_without_daemon) {
  char prog[4096], out[512], sock[512];
  int status;

  env_path(prog, sizeof prog, "SHMVIEW_BUILDDIR", "client/examples/hello");
  snprintf(sock, sizeof sock, "%s/nobody.sock", d.dir);
  status = run(prog, sock, out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x", status);
  ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(readme_quotes_hello) {
  char readme_path[4096], hello_path[4096];
  char *readme, *hello, *quoted;

  env_path(readme_path, sizeof readme_path, "SHMVIEW_SRCDIR", "README.md");
  env_path(hello_path, sizeof hello_path, "SHMVIEW_SRCDIR", "client/examples/hello.c");
  readme = slurp(readme_path);
  hello = slurp(hello_path);
  quoted = malloc(strlen(hello) + 16);
  ck_assert_ptr_nonnull(quoted);
  sprintf(quoted, "```c\n%s```\n", hello);
  ck_assert_msg(strstr(readme, quoted) != NULL,
                "README.md does not quote client/examples/hello.c verbatim in a ```c block");
  free(quoted);
  free(hello);
  free(readme);
}
END_TEST

static Suite *examples_suite(void) {
  Suite *s = suite_create("examples");
  TCase *tc = tcase_create("hello");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, hello_runs);
  tcase_add_test(tc, hello_without_daemon);
  tcase_add_test(tc, readme_quotes_hello);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(examples_suite());
}
