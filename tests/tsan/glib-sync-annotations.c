/* glib-sync-annotations.c: make GLib's locks visible to ThreadSanitizer
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * GLib (uninstrumented, from the distribution) implements GMutex, GRecMutex
 * and GCond with raw futex system calls on Linux, which ThreadSanitizer
 * cannot see: every piece of our data protected by a GMutex would be
 * reported as a race. Linked into the test programs of a -Db_sanitize=thread
 * build only, these definitions take the place of GLib's for all calls made
 * from our code (library and tests), call GLib's own implementation, and
 * tell ThreadSanitizer what they did. GLib's internal calls are not affected.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <glib.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

#define REAL(ret, name, ...)                                              \
  static ret (*real_##name) (__VA_ARGS__);                                \
  if (G_UNLIKELY (real_##name == NULL))                                   \
    real_##name = (ret (*) (__VA_ARGS__)) dlsym (RTLD_NEXT, #name)

void
g_mutex_lock (GMutex *mutex)
{
  REAL (void, g_mutex_lock, GMutex *);
  real_g_mutex_lock (mutex);
  __tsan_acquire (mutex);
}

gboolean
g_mutex_trylock (GMutex *mutex)
{
  REAL (gboolean, g_mutex_trylock, GMutex *);
  if (!real_g_mutex_trylock (mutex))
    return FALSE;
  __tsan_acquire (mutex);
  return TRUE;
}

void
g_mutex_unlock (GMutex *mutex)
{
  REAL (void, g_mutex_unlock, GMutex *);
  __tsan_release (mutex);
  real_g_mutex_unlock (mutex);
}

void
g_rec_mutex_lock (GRecMutex *mutex)
{
  REAL (void, g_rec_mutex_lock, GRecMutex *);
  real_g_rec_mutex_lock (mutex);
  __tsan_acquire (mutex);
}

gboolean
g_rec_mutex_trylock (GRecMutex *mutex)
{
  REAL (gboolean, g_rec_mutex_trylock, GRecMutex *);
  if (!real_g_rec_mutex_trylock (mutex))
    return FALSE;
  __tsan_acquire (mutex);
  return TRUE;
}

void
g_rec_mutex_unlock (GRecMutex *mutex)
{
  REAL (void, g_rec_mutex_unlock, GRecMutex *);
  __tsan_release (mutex);
  real_g_rec_mutex_unlock (mutex);
}

void
g_cond_wait (GCond  *cond,
             GMutex *mutex)
{
  REAL (void, g_cond_wait, GCond *, GMutex *);
  __tsan_release (mutex);
  real_g_cond_wait (cond, mutex);
  __tsan_acquire (mutex);
}

gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  gboolean ret;
  REAL (gboolean, g_cond_wait_until, GCond *, GMutex *, gint64);
  __tsan_release (mutex);
  ret = real_g_cond_wait_until (cond, mutex, end_time);
  __tsan_acquire (mutex);
  return ret;
}

/* g_once_init_enter() is a macro over these. */
gboolean
(g_once_init_enter) (volatile void *location)
{
  gboolean ret;
  REAL (gboolean, g_once_init_enter, volatile void *);
  ret = real_g_once_init_enter (location);
  __tsan_acquire ((void *) location);
  return ret;
}

void
(g_once_init_leave) (volatile void *location,
                     gsize          result)
{
  REAL (void, g_once_init_leave, volatile void *, gsize);
  __tsan_release ((void *) location);
  real_g_once_init_leave (location, result);
}
