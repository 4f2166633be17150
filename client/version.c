/* SPDX-License-Identifier: MIT */
/*
 * version.c: the library's version at run time (shmv_version(),
 * shmv_version_number()), against which a program compares the header's
 * SHMV_VERSION_STRING.
 */
#include "config.h"

#include "client-internal.h"

const char *shmv_version(void) {
  return PACKAGE_VERSION;
}

unsigned shmv_version_number(void) {
  return SHMV_VERSION_HEX;
}
