/* fault-shim.c: an LD_PRELOAD module making mkfifo() fail or misbehave on demand
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A full disk or an exhausted quota cannot be produced without privileges
 * (a tiny tmpfs needs mount rights). test-faults runs with this module
 * preloaded: while the file named by PIPECOM_TEST_MKFIFO_FAIL exists,
 * mkfifo() and mkfifoat() fail with the errno written in it (e.g. 28,
 * ENOSPC, or 122, EDQUOT) without touching the file system; otherwise they
 * are the real ones.
 *
 * An attacker who can write the directory a FIFO is made in (the listener
 * of a shared pipe, in its channel directory) can replace it by a hard link
 * between its creation and its opening. While the file named by
 * PIPECOM_TEST_SWAP exists, holding "SUFFIX TARGET" (e.g. ".rep
 * /path/to/fifo"), every FIFO made whose name ends in SUFFIX is replaced,
 * right after it is made, by a hard link to TARGET.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int mkfifo (const char *path, mode_t mode);
int mkfifoat (int dfd, const char *path, mode_t mode);

/* The contents of the file named by $@var, if it exists. */
static int
read_flag (const char *var,
           char       *buf,
           size_t      size)
{
  const char *flag = getenv (var);
  ssize_t n;
  int fd;

  if (flag == NULL || (fd = open (flag, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;

  n = read (fd, buf, size - 1);
  close (fd);
  buf[n > 0 ? n : 0] = '\0';
  return 1;
}

static int
injected_error (void)
{
  char buf[16];
  int err;

  if (!read_flag ("PIPECOM_TEST_MKFIFO_FAIL", buf, sizeof buf))
    return 0;

  err = atoi (buf);
  return err > 0 ? err : ENOSPC;
}

/* Replaces the FIFO just made at @path (in @dfd) as PIPECOM_TEST_SWAP says. */
static void
maybe_swap (int         dfd,
            const char *path)
{
  char buf[4096];
  char *target;
  size_t plen = strlen (path);
  size_t slen;

  if (!read_flag ("PIPECOM_TEST_SWAP", buf, sizeof buf))
    return;
  buf[strcspn (buf, "\n")] = '\0';
  if ((target = strchr (buf, ' ')) == NULL)
    return;
  *target++ = '\0';
  slen = strlen (buf);

  if (plen < slen || strcmp (path + plen - slen, buf) != 0)
    return;

  if (unlinkat (dfd, path, 0) != 0 || linkat (AT_FDCWD, target, dfd, path, 0) != 0)
    {
      perror ("fault-shim: cannot swap the FIFO");
      abort ();
    }
}

int
mkfifo (const char *path,
        mode_t      mode)
{
  static int (*real_mkfifo) (const char *, mode_t);
  int err = injected_error ();
  int ret;

  if (err != 0)
    {
      errno = err;
      return -1;
    }

  /* Senders in several threads may get here at once. */
  if (__atomic_load_n (&real_mkfifo, __ATOMIC_ACQUIRE) == NULL)
    __atomic_store_n (&real_mkfifo,
                      (int (*) (const char *, mode_t)) dlsym (RTLD_NEXT, "mkfifo"),
                      __ATOMIC_RELEASE);
  ret = __atomic_load_n (&real_mkfifo, __ATOMIC_ACQUIRE) (path, mode);
  if (ret == 0)
    maybe_swap (AT_FDCWD, path);
  return ret;
}

int
mkfifoat (int         dfd,
          const char *path,
          mode_t      mode)
{
  static int (*real_mkfifoat) (int, const char *, mode_t);
  int err = injected_error ();
  int ret;

  if (err != 0)
    {
      errno = err;
      return -1;
    }

  if (__atomic_load_n (&real_mkfifoat, __ATOMIC_ACQUIRE) == NULL)
    __atomic_store_n (&real_mkfifoat,
                      (int (*) (int, const char *, mode_t)) dlsym (RTLD_NEXT, "mkfifoat"),
                      __ATOMIC_RELEASE);
  ret = __atomic_load_n (&real_mkfifoat, __ATOMIC_ACQUIRE) (dfd, path, mode);
  if (ret == 0)
    maybe_swap (dfd, path);
  return ret;
}
