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

#include <glib-object.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
void __tsan_func_entry (void *call_pc);
void __tsan_func_exit (void);

/* GLIB_FRAME (fn, call): make @call (a call into uninstrumented GLib) show
 * in ThreadSanitizer's stacks as a frame of its own, named @fn. GLib's
 * frames are otherwise invisible: an access GLib makes to its own memory
 * inside @fn would be reported under our caller's name, and could only be
 * suppressed by suppressing our caller. suppressions.txt names these
 * frames (see there for why each is needed). TSan prints the instruction
 * before each return address it records, hence the + 1. */
#define GLIB_FRAME(fn, call)                    \
  G_STMT_START {                                \
    __tsan_func_entry ((char *) (fn) + 1);      \
    call;                                       \
    __tsan_func_exit ();                        \
  } G_STMT_END

/* real_NAME: GLib's own NAME, looked up once (atomically: several threads
 * may get there first). */
#define REAL(ret, name, ...)                                              \
  static ret (*real_##name##_cache) (__VA_ARGS__);                        \
  ret (*real_##name) (__VA_ARGS__) =                                      \
    __atomic_load_n (&real_##name##_cache, __ATOMIC_ACQUIRE);             \
  if (G_UNLIKELY (real_##name == NULL))                                   \
    {                                                                     \
      real_##name = (ret (*) (__VA_ARGS__)) dlsym (RTLD_NEXT, #name);     \
      __atomic_store_n (&real_##name##_cache, real_##name, __ATOMIC_RELEASE); \
    }

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

/* GObject's reference count is an atomic inside (uninstrumented)
 * libgobject, with acquire-release ordering: whatever a thread did with an
 * object happens before the finalization by the thread that drops the last
 * reference. Say so for every unref our code makes (this orders all unrefs
 * of an object, which is slightly more than the real guarantee). */
void
g_object_unref (gpointer object)
{
  REAL (void, g_object_unref, gpointer);
  __tsan_release (object);
  __tsan_acquire (object);
  real_g_object_unref (object);
}

/* gatomicrefcount: without G_DISABLE_CHECKS, g_atomic_ref_count_dec() is
 * a call into GLib, whose atomic decrement ThreadSanitizer does not see.
 * PipecomConnection counts its references with it: say, as for
 * g_object_unref(), that what each holder did happens before the holder
 * that drops the last reference frees the connection. */
gboolean
g_atomic_ref_count_dec (gatomicrefcount *arc)
{
  gboolean ret;
  REAL (gboolean, g_atomic_ref_count_dec, gatomicrefcount *);

  __tsan_release (arc);
  ret = real_g_atomic_ref_count_dec (arc);
  __tsan_acquire (arc);
  return ret;
}

/* g_main_context_invoke_full() hands @data to the thread that dispatches
 * the context, through the context's internal lock: the call happens
 * before the callback, the destroy notify, and GLib freeing its idle source.
 * This is GLib 2.74's implementation, in public calls, with that said. */
typedef struct
{
  GSourceFunc    function;
  gpointer       data;
  GDestroyNotify notify;
} Invocation;

static gboolean
invocation_cb (gpointer user_data)
{
  Invocation *inv = user_data;

  __tsan_acquire (inv);
  return inv->function (inv->data);
}

static void
invocation_free (gpointer user_data)
{
  Invocation *inv = user_data;

  __tsan_acquire (inv);
  if (inv->notify != NULL)
    inv->notify (inv->data);
  g_free (inv);
}

void
g_main_context_invoke_full (GMainContext   *context,
                            gint            priority,
                            GSourceFunc     function,
                            gpointer        data,
                            GDestroyNotify  notify)
{
  Invocation *inv;
  GSource *source;

  if (context == NULL)
    context = g_main_context_default ();

  if (g_main_context_is_owner (context))
    {
      while (function (data))
        ;
      if (notify != NULL)
        notify (data);
      return;
    }

  if (g_main_context_acquire (context))
    {
      while (function (data))
        ;
      g_main_context_release (context);
      if (notify != NULL)
        notify (data);
      return;
    }

  inv = g_new (Invocation, 1);
  inv->function = function;
  inv->data = data;
  inv->notify = notify;
  source = g_idle_source_new ();
  g_source_set_priority (source, priority);
  g_source_set_callback (source, invocation_cb, inv, invocation_free);
  __tsan_release (inv);
  g_source_attach (source, context);
  g_source_unref (source);
}

/* Only the thread that owns a context iterates it; another thread that
 * wants to waits for the owner to release it (inside GLib). Iterations of
 * one context are therefore ordered. */
gboolean
g_main_context_iteration (GMainContext *context,
                          gboolean      may_block)
{
  GMainContext *ctx = context != NULL ? context : g_main_context_default ();
  gboolean ret;
  REAL (gboolean, g_main_context_iteration, GMainContext *, gboolean);

  __tsan_acquire (ctx);
  ret = real_g_main_context_iteration (context, may_block);
  __tsan_release (ctx);
  return ret;
}

gboolean
g_main_context_acquire (GMainContext *context)
{
  GMainContext *ctx = context != NULL ? context : g_main_context_default ();
  REAL (gboolean, g_main_context_acquire, GMainContext *);

  if (!real_g_main_context_acquire (context))
    return FALSE;
  __tsan_acquire (ctx);
  return TRUE;
}

void
g_main_context_release (GMainContext *context)
{
  GMainContext *ctx = context != NULL ? context : g_main_context_default ();
  REAL (void, g_main_context_release, GMainContext *);

  __tsan_release (ctx);
  real_g_main_context_release (context);
}

/* Attaching and destroying sources changes the context's lists under its
 * internal lock. */
guint
g_source_attach (GSource      *source,
                 GMainContext *context)
{
  GMainContext *ctx = context != NULL ? context : g_main_context_default ();
  guint ret;
  REAL (guint, g_source_attach, GSource *, GMainContext *);

  __tsan_acquire (ctx);
  GLIB_FRAME (g_source_attach, ret = real_g_source_attach (source, context));
  __tsan_release (ctx);
  return ret;
}

/* A source's fd list is changed under its context's internal lock. */
gpointer
g_source_add_unix_fd (GSource      *source,
                      gint          fd,
                      GIOCondition  events)
{
  gpointer ret;
  REAL (gpointer, g_source_add_unix_fd, GSource *, gint, GIOCondition);

  __tsan_acquire (source);
  GLIB_FRAME (g_source_add_unix_fd, ret = real_g_source_add_unix_fd (source, fd, events));
  __tsan_release (source);
  return ret;
}

void
g_source_remove_unix_fd (GSource  *source,
                         gpointer  tag)
{
  REAL (void, g_source_remove_unix_fd, GSource *, gpointer);

  __tsan_acquire (source);
  GLIB_FRAME (g_source_remove_unix_fd, real_g_source_remove_unix_fd (source, tag));
  __tsan_release (source);
}

void
g_source_modify_unix_fd (GSource      *source,
                         gpointer      tag,
                         GIOCondition  new_events)
{
  REAL (void, g_source_modify_unix_fd, GSource *, gpointer, GIOCondition);

  __tsan_acquire (source);
  GLIB_FRAME (g_source_modify_unix_fd, real_g_source_modify_unix_fd (source, tag, new_events));
  __tsan_release (source);
}

/* Dropping what may be the last reference to an attached (and destroyed)
 * source takes it out of its context's tables, under the context's lock. */
void
g_source_unref (GSource *source)
{
  REAL (void, g_source_unref, GSource *);

  GLIB_FRAME (g_source_unref, real_g_source_unref (source));
}

GSource *
g_idle_source_new (void)
{
  GSource *ret;
  REAL (GSource *, g_idle_source_new, void);

  GLIB_FRAME (g_idle_source_new, ret = real_g_idle_source_new ());
  return ret;
}

void
g_source_set_callback (GSource        *source,
                       GSourceFunc     func,
                       gpointer        data,
                       GDestroyNotify  notify)
{
  REAL (void, g_source_set_callback, GSource *, GSourceFunc, gpointer, GDestroyNotify);

  GLIB_FRAME (g_source_set_callback, real_g_source_set_callback (source, func, data, notify));
}

void
g_source_destroy (GSource *source)
{
  REAL (void, g_source_destroy, GSource *);

  GLIB_FRAME (g_source_destroy, real_g_source_destroy (source));
}
