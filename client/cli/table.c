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

/* ---- tables of records ---- */

#define RECORD_COLS_MAX 16

/* The distinct column headers of r's rows, in order: their number. */
static int record_columns(enum proto_record r, const struct proto_field *first[RECORD_COLS_MAX]) {
  const struct proto_msg *m = proto_records[r];
  int n = 0;

  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    int j;

    if (f->rec == NULL || f->rec->column == NULL)
      continue;
    for (j = 0; j < n && strcmp(first[j]->rec->column, f->rec->column) != 0; j++)
      ;
    if (j == n && n < RECORD_COLS_MAX)
      first[n++] = f;
  }
  return n;
}

struct cli_table *cli_record_table_new(enum proto_record r, const char *lead, bool header) {
  const struct proto_field *cols[RECORD_COLS_MAX];
  const char *headers[RECORD_COLS_MAX + 1];
  int right[RECORD_COLS_MAX + 1];
  int n = record_columns(r, cols), k = 0;

  if (lead != NULL) {
    headers[k] = lead;
    right[k++] = 0;
  }
  for (int i = 0; i < n; i++) {
    headers[k] = cols[i]->rec->column;
    right[k++] = cols[i]->rec->right;
  }
  return cli_table_new(k, header ? headers : NULL, right);
}

int cli_record_table_add(struct cli_table *t, enum proto_record r, const void *rec,
                         const char *lead, int bytes) {
  const struct proto_msg *m = proto_records[r];
  const struct proto_field *cols[RECORD_COLS_MAX];
  char cells[RECORD_COLS_MAX + 1][CLI_FIELD_MAX];
  const char *row[RECORD_COLS_MAX + 1];
  bool restricted = cli_record_restricted(r, rec);
  int n = record_columns(r, cols), k = 0;

  if (lead != NULL)
    row[k++] = lead;
  for (int c = 0; c < n; c++, k++) {
    char *cell = cells[k], buf[CLI_FIELD_MAX];
    size_t len = 0;

    cell[0] = '\0';
    for (size_t i = 0; i < m->nfields; i++) {
      const struct proto_field *f = &m->fields[i];
      const char *text, *sep;

      if (f->rec == NULL || f->rec->column == NULL ||
          strcmp(f->rec->column, cols[c]->rec->column) != 0 || (restricted && f->rec->hidden))
        continue;
      text = cli_field_text(f, rec, bytes ? CLI_CELL_BYTES : CLI_CELL, buf);
      if (f->rec->show == PROTO_SHOW_FLAG && text[0] == '\0')
        continue; /* a flag not set says nothing */
      sep = len == 0 ? "" : f->rec->show == PROTO_SHOW_FLAG ? "," : f->rec->sep ? f->rec->sep : " ";
      len += (size_t)snprintf(cell + len, CLI_FIELD_MAX - len, "%s%s", sep, text);
      if (len >= CLI_FIELD_MAX)
        len = CLI_FIELD_MAX - 1;
    }
    /* "-": nothing to say (hidden, or no flag set) */
    row[k] = len > 0 ? cell : "-";
  }
  return cli_table_add(t, row);
}
