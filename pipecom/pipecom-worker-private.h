/* pipecom-worker-private.h: the client worker thread, and sync-over-async
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * - _pipecom_worker_ref() and _pipecom_worker_unref() may be called from
 *   any thread. The worker is one thread with its own #GMainContext, the
 *   one returned, in which every client session (PipecomClient and the
 *   one-shot calls) does its I/O; it starts with its first reference and
 *   exits a little after its last one goes.
 * - A #PipecomSyncWait is used by the one thread that makes a synchronous
 *   call, from _pipecom_sync_wait_begin() to _pipecom_sync_wait_end():
 *   begin pushes a private per-thread context as thread-default (or, when
 *   the target pipe is served in this process on the calling thread's own
 *   context, picks that context so that the listener can answer), the
 *   asynchronous call is started with _pipecom_sync_wait_cb() as its
 *   callback, which then runs in that context, and _pipecom_sync_wait_run()
 *   iterates it until the result is in.
 * - _pipecom_registry_is_served_here() may be called from any thread; it
 *   answers for the calling thread's thread-default context. */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GMainContext *_pipecom_worker_ref       (void);
void          _pipecom_worker_unref     (void);

typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
  gboolean      pushed;
} PipecomSyncWait;

void          _pipecom_sync_wait_begin  (PipecomSyncWait *wait,
                                         const char      *target_path);
void          _pipecom_sync_wait_run    (PipecomSyncWait *wait);
void          _pipecom_sync_wait_end    (PipecomSyncWait *wait);
gboolean      _pipecom_registry_is_served_here (const char *target_path);
void          _pipecom_sync_wait_cb     (GObject         *object,
                                         GAsyncResult    *result,
                                         gpointer         user_data);

G_END_DECLS
