/* pipecom-worker.c: the thread that runs client I/O, and sync-over-async
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-registry-private.h"
#include "pipecom-worker-private.h"

/* Like GDBus, all client connections (PipecomClient and the one-shot
 * functions) do their I/O in one worker thread with its own GMainContext,
 * so that no caller's main context is ever iterated behind its back and a
 * blocked caller cannot stall I/O. The thread starts with its first user;
 * when the last one goes it lingers for WORKER_LINGER_SECONDS (so a
 * program sending one-shot messages does not start a thread per message),
 * then exits. */

#define WORKER_LINGER_SECONDS 2

static GMutex worker_lock;
static guint worker_refs;
static GThread *worker_thread;
static GMainContext *worker_context;
static GMainLoop *worker_loop;
static GSource *worker_linger;

static gpointer
worker_main (gpointer data)
{
  GMainLoop *loop = data;
  GMainContext *context = g_main_loop_get_context (loop);

  g_main_context_push_thread_default (context);
  g_main_loop_run (loop);
  g_main_context_pop_thread_default (context);
  g_main_loop_unref (loop);

  return NULL;
}

static gboolean
worker_linger_cb (gpointer user_data)
{
  GThread *thread = NULL;
  GMainLoop *loop = NULL;
  GMainContext *context = NULL;

  g_mutex_lock (&worker_lock);
  if (worker_refs == 0 && worker_linger == g_main_current_source ())
    {
      g_clear_pointer (&worker_linger, g_source_unref);
      thread = g_steal_pointer (&worker_thread);
      loop = g_steal_pointer (&worker_loop);
      context = g_steal_pointer (&worker_context);
    }
  g_mutex_unlock (&worker_lock);

  if (thread != NULL)
    {
      /* We are that thread: it ends when this dispatch returns. */
      g_main_loop_quit (loop);
      g_main_loop_unref (loop);
      g_main_context_unref (context);
      g_thread_unref (thread);
    }

  return G_SOURCE_REMOVE;
}

GMainContext *
_pipecom_worker_ref (void)
{
  GMainContext *context;

  g_mutex_lock (&worker_lock);
  if (worker_thread == NULL)
    {
      worker_context = g_main_context_new ();
      worker_loop = g_main_loop_new (worker_context, FALSE);
      worker_thread = g_thread_new ("pipecom-worker", worker_main,
                                    g_main_loop_ref (worker_loop));
    }
  if (worker_linger != NULL)
    {
      g_source_destroy (worker_linger);
      g_clear_pointer (&worker_linger, g_source_unref);
    }
  worker_refs++;
  context = worker_context;
  g_mutex_unlock (&worker_lock);

  return context;
}

void
_pipecom_worker_unref (void)
{
  g_mutex_lock (&worker_lock);
  g_assert (worker_refs > 0);
  if (--worker_refs == 0)
    {
      worker_linger = g_timeout_source_new_seconds (WORKER_LINGER_SECONDS);
      g_source_set_static_name (worker_linger, "[pipecom] worker linger");
      g_source_set_callback (worker_linger, worker_linger_cb, NULL, NULL);
      g_source_attach (worker_linger, worker_context);
    }
  g_mutex_unlock (&worker_lock);
}

/* Sync calls run the async version and wait for it. Normally they iterate a
 * private per-thread context, so nothing else of the caller's runs
 * meanwhile. When the target pipe is served by a listener in this process
 * on this very thread's context, they iterate that context instead, so the
 * listener can answer: the call works instead of dead-locking. */

static GPrivate sync_context_key = G_PRIVATE_INIT ((GDestroyNotify) g_main_context_unref);

/* The serving context of the listener of @target_path if a sync call in
 * the calling thread must iterate it for the listener to answer: the thread
 * runs a dispatch of that context (a handler sending to its own pipe), or
 * is the thread that listened, whose thread-default context it is, and no
 * other thread runs it now (a program that sends to its own pipe before
 * running its main loop). Never for another thread that merely shares the
 * global default context as its thread-default: it would compete with the
 * thread that serves for the context, and they could wait on each other
 * for ever. */
static GMainContext *
listener_context_here (const char *target_path)
{
  g_autoptr(GMainContext) listener = NULL;
  g_autoptr(GMainContext) thread_default = NULL;
  gboolean listened_here;

  if (target_path == NULL ||
      (listener = _pipecom_registry_lookup (target_path, &listened_here)) == NULL)
    return NULL;

  if (g_main_context_is_owner (listener))
    return g_steal_pointer (&listener);

  thread_default = g_main_context_ref_thread_default ();
  if (listened_here && listener == thread_default && g_main_context_acquire (listener))
    {
      g_main_context_release (listener);
      return g_steal_pointer (&listener);
    }

  return NULL;
}

void
_pipecom_sync_wait_begin (PipecomSyncWait *wait,
                          const char      *target_path)
{
  wait->result = NULL;
  wait->pushed = FALSE;
  wait->context = listener_context_here (target_path);
  if (wait->context != NULL)
    return;

  wait->context = g_private_get (&sync_context_key);
  if (wait->context == NULL)
    {
      wait->context = g_main_context_new ();
      g_private_set (&sync_context_key, wait->context);
    }
  g_main_context_ref (wait->context);
  g_main_context_push_thread_default (wait->context);
  wait->pushed = TRUE;
}

/* Whether the listener of @target_path runs in this process, in the
 * calling thread's context: a sync call must then iterate that context. */
gboolean
_pipecom_registry_is_served_here (const char *target_path)
{
  g_autoptr(GMainContext) listener = NULL;

  /* No listener in this process, the common case of a client: asked on
   * every synchronous call, without the lookup's references. */
  if (target_path == NULL || _pipecom_registry_is_empty ())
    return FALSE;

  listener = listener_context_here (target_path);
  return listener != NULL;
}

void
_pipecom_sync_wait_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  PipecomSyncWait *wait = user_data;

  wait->result = g_object_ref (result);
}

void
_pipecom_sync_wait_run (PipecomSyncWait *wait)
{
  while (wait->result == NULL)
    g_main_context_iteration (wait->context, TRUE);
}

void
_pipecom_sync_wait_end (PipecomSyncWait *wait)
{
  if (wait->pushed)
    g_main_context_pop_thread_default (wait->context);
  g_clear_pointer (&wait->context, g_main_context_unref);
  g_clear_object (&wait->result);
}
