/* macos-shim.c: an LD_PRELOAD module giving Linux FIFOs macOS's semantics
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "macOS semantics" stage of .ci/run runs the tests with this module
 * preloaded (and PIPECOM_TEST_MACOS=1, see test-utils.c), in a build made
 * with -Dlinux_specific=false. On FIFOs only (fstat() says S_ISFIFO; any
 * other file is left alone), it imposes what macOS does differently:
 *
 * - PIPE_BUF is 512: write() and writev() of more than 512 bytes go out in
 *   pieces of at most 512 bytes, with a sched_yield() between them, so that
 *   other writers' bytes may come in between;
 * - the capacity of a FIFO is 8 KiB (xnu's FIFOs are socket-backed, with
 *   other limits than Linux's 64 KiB): a write gets at most 8192 bytes
 *   minus what is queued (FIONREAD), so it is short, or fails with EAGAIN
 *   on a non-blocking fd when the FIFO is full; a write of at most 512
 *   bytes goes out whole or not at all; a blocking fd waits for room;
 * - flock() fails with ENOTSUP (EOPNOTSUPP);
 * - fcntl (F_SETPIPE_SZ) and fcntl (F_GETPIPE_SZ) fail with EINVAL;
 * - poll() and ppoll() never report POLLHUP or POLLERR, as GLib's
 *   select()-based g_poll() on macOS (BROKEN_POLL) does: a read end whose
 *   writers are gone shows only as readable (POLLIN, if asked for), and
 *   read() then returns 0; a write end with no reader shows as writable
 *   (POLLOUT, if asked for), and the write fails with EPIPE; and a FIFO
 *   with less than 512 bytes of room under the 8 KiB is not writable.
 *
 * Everything else is the real C library's. PIPECOM_MACOS_SHIM_ACTIVE=1 is
 * set in the environment of every process it is loaded into, so that a
 * test can tell (tests/test-macos.c checks the behaviours themselves).
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
/* fcntl() and fcntl64() are both defined here: neither may be renamed. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MACOS_PIPE_BUF 512
#define MACOS_FIFO_CAPACITY 8192

#ifndef F_SETPIPE_SZ
# define F_SETPIPE_SZ 1031
#endif
#ifndef F_GETPIPE_SZ
# define F_GETPIPE_SZ 1032
#endif

ssize_t write (int fd, const void *buf, size_t count);
ssize_t writev (int fd, const struct iovec *iov, int iovcnt);
int flock (int fd, int operation);
int fcntl (int fd, int cmd, ...);
int fcntl64 (int fd, int cmd, ...);
int poll (struct pollfd *fds, nfds_t nfds, int timeout);
int ppoll (struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask);

typedef ssize_t (*WriteFunc) (int, const void *, size_t);
typedef int (*FlockFunc) (int, int);
typedef int (*FcntlFunc) (int, int, ...);
typedef int (*PollFunc) (struct pollfd *, nfds_t, int);
typedef int (*PpollFunc) (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);

/* dlsym (RTLD_NEXT) once per function; several threads may get here at
 * once, and all find the same pointer. */
static void *
real (void      **slot,
      const char *name)
{
  void *fn = __atomic_load_n (slot, __ATOMIC_ACQUIRE);

  if (fn == NULL)
    {
      fn = dlsym (RTLD_NEXT, name);
      if (fn == NULL)
        abort ();
      __atomic_store_n (slot, fn, __ATOMIC_RELEASE);
    }
  return fn;
}

static void *real_write_p, *real_flock_p, *real_fcntl_p, *real_fcntl64_p, *real_poll_p, *real_ppoll_p;
#define REAL_WRITE ((WriteFunc) real (&real_write_p, "write"))
#define REAL_FLOCK ((FlockFunc) real (&real_flock_p, "flock"))
#define REAL_FCNTL ((FcntlFunc) real (&real_fcntl_p, "fcntl"))
#define REAL_FCNTL64 ((FcntlFunc) real (&real_fcntl64_p, "fcntl64"))
#define REAL_POLL ((PollFunc) real (&real_poll_p, "poll"))
#define REAL_PPOLL ((PpollFunc) real (&real_ppoll_p, "ppoll"))

__attribute__((constructor)) static void
shim_init (void)
{
  setenv ("PIPECOM_MACOS_SHIM_ACTIVE", "1", 1);
}

/* Whether @fd is a FIFO (or a pipe: the same thing to the kernel). Not
 * cached: a descriptor number is reused as soon as it is closed. */
static int
is_fifo (int fd)
{
  struct stat st;
  int saved_errno = errno;
  int ret = fd >= 0 && fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode);

  errno = saved_errno;
  return ret;
}

/* The room left in the FIFO behind @fd under macOS's capacity. */
static size_t
fifo_room (int fd)
{
  int queued = 0;

  if (ioctl (fd, FIONREAD, &queued) != 0 || queued < 0)
    queued = 0;
  return queued >= MACOS_FIFO_CAPACITY ? 0 : (size_t) (MACOS_FIFO_CAPACITY - queued);
}

/* Whether the write end @fd has no reader left (the real poll() says so). */
static int
no_reader (int fd)
{
  struct pollfd pfd = { fd, POLLOUT, 0 };

  return REAL_POLL (&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0;
}

/* Waits until the FIFO behind the blocking @fd has room for @want bytes,
 * or has no reader (the write then fails as it would). */
static void
wait_for_room (int    fd,
               size_t want)
{
  while (fifo_room (fd) < want && !no_reader (fd))
    {
      struct timespec ts = { 0, 200 * 1000 };

      sched_yield ();
      nanosleep (&ts, NULL);
    }
}

/* Writes @count bytes of @buf to the FIFO @fd as macOS would. */
static ssize_t
fifo_write (int         fd,
            const char *buf,
            size_t      count)
{
  int nonblock = (REAL_FCNTL (fd, F_GETFL) & O_NONBLOCK) != 0;
  size_t done = 0;

  if (count == 0)
    return REAL_WRITE (fd, buf, 0);

  while (done < count)
    {
      size_t left = count - done;
      size_t piece = left < MACOS_PIPE_BUF ? left : MACOS_PIPE_BUF;
      /* A write of at most PIPE_BUF bytes is atomic: all of it or nothing;
       * the pieces of a larger one may be cut anywhere. */
      size_t need = count <= MACOS_PIPE_BUF ? count : 1;
      size_t room = fifo_room (fd);
      ssize_t n;

      if (room < need)
        {
          if (no_reader (fd))
            room = need;  /* the real write fails with EPIPE (and SIGPIPE) */
          else if (nonblock)
            {
              if (done > 0)
                return (ssize_t) done;
              errno = EAGAIN;
              return -1;
            }
          else
            {
              wait_for_room (fd, need);
              continue;
            }
        }
      if (piece > room)
        piece = room;

      if (done > 0)
        sched_yield ();

      n = REAL_WRITE (fd, buf + done, piece);
      if (n < 0)
        return done > 0 && errno != EPIPE ? (ssize_t) done : n;
      done += (size_t) n;
      if ((size_t) n < piece)
        break;
    }

  return (ssize_t) done;
}

ssize_t
write (int         fd,
       const void *buf,
       size_t      count)
{
  if (!is_fifo (fd))
    return REAL_WRITE (fd, buf, count);
  return fifo_write (fd, buf, count);
}

ssize_t
writev (int                 fd,
        const struct iovec *iov,
        int                 iovcnt)
{
  static void *real_writev_p;
  size_t total = 0;
  ssize_t ret;
  char small[MACOS_PIPE_BUF];
  char *buf;

  if (!is_fifo (fd) || iovcnt <= 0)
    return ((ssize_t (*) (int, const struct iovec *, int)) real (&real_writev_p, "writev")) (fd, iov, iovcnt);

  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;

  /* Gathered into one buffer: the same pieces as write() would make. */
  buf = total <= sizeof small ? small : malloc (total);
  if (buf == NULL)
    {
      errno = ENOMEM;
      return -1;
    }
  for (size_t i = 0, off = 0; i < (size_t) iovcnt; off += iov[i].iov_len, i++)
    memcpy (buf + off, iov[i].iov_base, iov[i].iov_len);

  ret = fifo_write (fd, buf, total);
  if (buf != small)
    {
      int saved_errno = errno;

      free (buf);
      errno = saved_errno;
    }
  return ret;
}

int
flock (int fd,
       int operation)
{
  if (is_fifo (fd))
    {
      errno = EOPNOTSUPP;
      return -1;
    }
  return REAL_FLOCK (fd, operation);
}

static int
do_fcntl (FcntlFunc fn,
          int       fd,
          int       cmd,
          void     *arg)
{
  if (cmd == F_SETPIPE_SZ || cmd == F_GETPIPE_SZ)
    {
      errno = EINVAL;
      return -1;
    }
  return fn (fd, cmd, arg);
}

int
fcntl (int fd,
       int cmd,
       ...)
{
  va_list ap;
  void *arg;

  va_start (ap, cmd);
  arg = va_arg (ap, void *);
  va_end (ap);
  return do_fcntl (REAL_FCNTL, fd, cmd, arg);
}

int
fcntl64 (int fd,
         int cmd,
         ...)
{
  va_list ap;
  void *arg;

  va_start (ap, cmd);
  arg = va_arg (ap, void *);
  va_end (ap);
  return do_fcntl (REAL_FCNTL64, fd, cmd, arg);
}

/* Rewrites the results of a poll() as macOS's select()-based g_poll()
 * reports them, and returns the new count of ready fds. */
static int
mask_results (struct pollfd *fds,
              nfds_t         nfds,
              int            ret)
{
  if (ret <= 0)
    return ret;

  ret = 0;
  for (nfds_t i = 0; i < nfds; i++)
    {
      short revents = fds[i].revents;

      /* Writable only with room under macOS's capacity (the real FIFO
       * has more): else a writer that got EAGAIN would spin. */
      if ((revents & POLLOUT) != 0 && (revents & POLLERR) == 0 && is_fifo (fds[i].fd) &&
          fifo_room (fds[i].fd) < MACOS_PIPE_BUF)
        fds[i].revents = revents &= ~POLLOUT;
      if ((revents & (POLLHUP | POLLERR)) != 0 && is_fifo (fds[i].fd))
        {
          if ((revents & POLLHUP) != 0)
            revents |= fds[i].events & POLLIN;
          if ((revents & POLLERR) != 0)
            revents |= fds[i].events & POLLOUT;
          revents &= ~(POLLHUP | POLLERR);
          fds[i].revents = revents;
        }
      if (fds[i].revents != 0)
        ret++;
    }
  return ret;
}

/* The remaining time until @deadline (CLOCK_MONOTONIC) in ms, -1 if none. */
static int
ms_left (const struct timespec *deadline)
{
  struct timespec now;
  long long ms;

  if (deadline == NULL)
    return -1;
  clock_gettime (CLOCK_MONOTONIC, &now);
  ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
  return ms < 0 ? 0 : ms > 1000000000 ? 1000000000 : (int) ms;
}

/* A masked-out event must not end the wait either: poll again (briefly,
 * since the masked condition persists) until something else is ready or
 * the time is up, as a select() that does not see it would wait. */
int
poll (struct pollfd *fds,
      nfds_t         nfds,
      int            timeout)
{
  struct timespec deadline, *dl = NULL;
  int ret;

  if (timeout > 0)
    {
      clock_gettime (CLOCK_MONOTONIC, &deadline);
      deadline.tv_sec += timeout / 1000;
      deadline.tv_nsec += (timeout % 1000) * 1000000L;
      if (deadline.tv_nsec >= 1000000000L)
        {
          deadline.tv_sec++;
          deadline.tv_nsec -= 1000000000L;
        }
      dl = &deadline;
    }

  for (;;)
    {
      int left = timeout == 0 ? 0 : ms_left (dl);

      ret = mask_results (fds, nfds, REAL_POLL (fds, nfds, left));
      if (ret != 0 || timeout == 0 || (dl != NULL && ms_left (dl) == 0))
        return ret;
      /* Only masked events: wait a little, then look again. */
      {
        struct timespec ts = { 0, 200 * 1000 };

        nanosleep (&ts, NULL);
      }
    }
}

int
ppoll (struct pollfd         *fds,
       nfds_t                 nfds,
       const struct timespec *tmo,
       const sigset_t        *mask)
{
  return mask_results (fds, nfds, REAL_PPOLL (fds, nfds, tmo, mask));
}
