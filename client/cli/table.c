/* SPDX-License-Identifier: MIT */
/*
 * table.c: text tables whose columns are as wide as their widest cell,
 * left- or right-aligned per column, with or without a header line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_table {
  int ncols;
  size_t nrows, cap; /* rows, including the header row if any */
  char **cells;      /* nrows * ncols */
  size_t *width;
  int *right;
};

struct cli_table *cli_table_new(int ncols, const char *const *headers, const int *right_align) {
  struct cli_table *t = calloc(1, sizeof *t);

  if (t == NULL)
    return NULL;
  t->ncols = ncols;
  t->width = calloc((size_t)ncols, sizeof *t->width);
  t->right = calloc((size_t)ncols, sizeof *t->right);
  if (t->width == NULL || t->right == NULL) {
    cli_table_free(t);
    return NULL;
  }
  for (int i = 0; i < ncols; i++)
    t->right[i] = right_align != NULL && right_align[i];
  if (headers != NULL && cli_table_add(t, headers) != 0) {
    cli_table_free(t);
    return NULL;
  }
  return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **n = realloc(t->cells, cap * (size_t)t->ncols * sizeof *n);
    if (n == NULL)
      return -1;
    t->cells = n;
    t->cap = cap;
  }
  for (int i = 0; i < t->ncols; i++) {
    char *c = strdup(cells[i]);
    size_t len;
    if (c == NULL) {
      while (i-- > 0)
        free(t->cells[t->nrows * (size_t)t->ncols + (size_t)i]);
      return -1;
    }
    t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = c;
    len = strlen(c);
    if (len > t->width[i])
      t->width[i] = len;
  }
  t->nrows++;
  return 0;
}

void cli_table_print(const struct cli_table *t, FILE *out) {
  for (size_t r = 0; r < t->nrows; r++) {
    for (int i = 0; i < t->ncols; i++) {
      const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];
      int w = (int)t->width[i];
      int last = i == t->ncols - 1;

      if (i > 0)
        fputs("  ", out);
      if (t->right[i])
        fprintf(out, "%*s", w, c);
      else if (last)
        fputs(c, out);
      else
        fprintf(out, "%-*s", w, c);
    }
    fputc('\n', out);
  }
}

void cli_table_free(struct cli_table *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  free(t->width);
  free(t->right);
  free(t);
}
