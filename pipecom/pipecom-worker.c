/* pipecom-worker.c: the thread that runs client I/O, and sync-over-async
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-private.h"

/* Like GDBus, all client connections (PipecomClient and the one-shot
 * functions) do their I/O in one worker thread with its own GMainContext,
 * so that no caller's main context is ever iterated behind its back and a
 * blocked caller cannot stall I/O. The thread runs while anybody holds a
 * reference and is joined when the last one is dropped. */

static GMutex worker_lock;
static guint worker_refs;
static GThread *worker_thread;
static GMainContext *worker_context;
static GMainLoop *worker_loop;

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

GMainContext *
_pipecom_worker_ref (void)
{
  GMainContext *context;

  g_mutex_lock (&worker_lock);
  if (worker_refs++ == 0)
    {
      worker_context = g_main_context_new ();
      worker_loop = g_main_loop_new (worker_context, FALSE);
      worker_thread = g_thread_new ("pipecom-worker", worker_main,
                                    g_main_loop_ref (worker_loop));
    }
  context = worker_context;
  g_mutex_unlock (&worker_lock);

  return context;
}

void
_pipecom_worker_unref (void)
{
  GThread *thread = NULL;
  GMainLoop *loop = NULL;
  GMainContext *context = NULL;

  g_mutex_lock (&worker_lock);
  g_assert (worker_refs > 0);
  if (--worker_refs == 0)
    {
      thread = g_steal_pointer (&worker_thread);
      loop = g_steal_pointer (&worker_loop);
      context = g_steal_pointer (&worker_context);
    }
  g_mutex_unlock (&worker_lock);

  if (thread == NULL)
    return;

  g_main_loop_quit (loop);
  g_main_loop_unref (loop);

  if (thread == g_thread_self ())
    g_thread_unref (thread);  /* it exits when this dispatch returns */
  else
    g_thread_join (thread);

  g_main_context_unref (context);
}

/* Sync calls run the async version and wait for it. Normally they iterate a
 * private per-thread context, so nothing else of the caller's runs
 * meanwhile. When the target pipe is served by a listener in this process
 * on this very thread's context, they iterate that context instead, so the
 * listener can answer: the call works instead of dead-locking. */

static GPrivate sync_context_key = G_PRIVATE_INIT ((GDestroyNotify) g_main_context_unref);

void
_pipecom_sync_wait_begin (PipecomSyncWait *wait,
                          const char      *target_path)
{
  g_autoptr(GMainContext) listener = target_path ? _pipecom_registry_lookup (target_path) : NULL;

  wait->result = NULL;
  wait->pushed = FALSE;
  wait->context = NULL;

  if (listener != NULL)
    {
      g_autoptr(GMainContext) thread_default = g_main_context_ref_thread_default ();

      if (listener == thread_default && g_main_context_acquire (listener))
        {
          g_main_context_release (listener);
          wait->context = g_steal_pointer (&listener);
          return;
        }
    }

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
