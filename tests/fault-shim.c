/* fault-shim.c: an LD_PRELOAD module making mkfifo() fail on demand
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A full disk or an exhausted quota cannot be produced without privileges
 * (a tiny tmpfs needs mount rights). test-faults runs with this module
 * preloaded: while the file named by PIPECOM_TEST_MKFIFO_FAIL exists,
 * mkfifo() fails with the errno written in it (e.g. 28, ENOSPC, or 122,
 * EDQUOT) without touching the file system; otherwise it is the real one.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int mkfifo (const char *path, mode_t mode);

int
mkfifo (const char *path,
        mode_t      mode)
{
  static int (*real_mkfifo) (const char *, mode_t);
  const char *flag = getenv ("PIPECOM_TEST_MKFIFO_FAIL");

  if (flag != NULL)
    {
      int fd = open (flag, O_RDONLY | O_CLOEXEC);

      if (fd >= 0)
        {
          char buf[16] = { 0 };
          ssize_t n = read (fd, buf, sizeof buf - 1);
          int err = n > 0 ? atoi (buf) : ENOSPC;

          close (fd);
          errno = err > 0 ? err : ENOSPC;
          return -1;
        }
    }

  /* Senders in several threads may get here at once. */
  if (__atomic_load_n (&real_mkfifo, __ATOMIC_ACQUIRE) == NULL)
    __atomic_store_n (&real_mkfifo,
                      (int (*) (const char *, mode_t)) dlsym (RTLD_NEXT, "mkfifo"),
                      __ATOMIC_RELEASE);
  return __atomic_load_n (&real_mkfifo, __ATOMIC_ACQUIRE) (path, mode);
}
