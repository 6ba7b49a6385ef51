/* pipecom-oneshot-private.h: one-shot dialling, for pipecom-send.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * Each call runs its message on a private #PipecomSession.
 *
 * - _pipecom_oneshot_async() may be called from any thread: the session
 *   runs in the client worker, and the callback runs in the thread-default
 *   main context of the calling thread. _pipecom_oneshot_finish() is called
 *   where the callback runs.
 * - _pipecom_oneshot_run_sync() blocks the calling thread. On Unix it first
 *   runs the message there itself (the direct path), on a session on its
 *   stack that no other thread sees, without any main context, polling a
 *   connection that has no source; what it cannot finish (absent or busy
 *   listener, or one lost before its HELLO) it hands to the worker on a
 *   new session, and then waits as in _pipecom_sync_wait_begin().
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void          _pipecom_oneshot_async          (const char                 *pipe_name,
                                               GBytes                     *message,
                                               guint                       timeout,
                                               guint                       max_attempts,
                                               GCancellable               *cancellable,
                                               GAsyncReadyCallback         callback,
                                               gpointer                    user_data,
                                               gpointer                    source_tag);
void          _pipecom_oneshot_run_sync       (const char                 *pipe_name,
                                               GBytes                     *message,
                                               guint                       timeout,
                                               guint                       max_attempts,
                                               GCancellable               *cancellable,
                                               gboolean                   *ok,
                                               GBytes                    **reply,
                                               GError                    **error);
GBytes       *_pipecom_oneshot_finish         (GAsyncResult               *result,
                                               gboolean                   *ok,
                                               GError                    **error);

G_END_DECLS
