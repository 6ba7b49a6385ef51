/* pipecom-oneshot-private.h: one-shot dialling, for pipecom-send.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * - _pipecom_oneshot_async() may be called from any thread: it runs the
 *   message on a private #PipecomSession in the client worker, and its
 *   callback runs in the thread-default main context of the calling thread.
 * - _pipecom_oneshot_direct() runs wholly in the calling thread, without a
 *   main context: it polls its own connection, which has no source.
 * - _pipecom_oneshot_finish() is called where the callback runs.
 * - _pipecom_oneshot_inline_allowed() is a pure function: any thread.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the direct path of a synchronous one-shot call tried before it
 * left the call to the engine (nothing was delivered). */
typedef struct
{
  guint    attempts;   /* attempts made; 0: none, the rest is unused */
  gboolean busy;       /* the last one found the pipe busy */
  gboolean lost;       /* the listener went away before its HELLO */
  gint64   deadline;   /* monotonic µs the call must end by, 0: none */
} PipecomOneshotResume;

gboolean      _pipecom_oneshot_inline_allowed (const char                 *name,
                                               const char                 *path,
                                               const guint8               *data,
                                               gsize                       size);
void          _pipecom_oneshot_async          (const char                 *pipe_name,
                                               const char                 *path,
                                               GBytes                     *message,
                                               guint                       timeout,
                                               guint                       max_attempts,
                                               const PipecomOneshotResume *resume,
                                               GCancellable               *cancellable,
                                               GAsyncReadyCallback         callback,
                                               gpointer                    user_data,
                                               gpointer                    source_tag);
gboolean      _pipecom_oneshot_direct         (const char                 *pipe_name,
                                               const char                 *path,
                                               GBytes                     *message,
                                               guint                       timeout,
                                               GCancellable               *cancellable,
                                               PipecomOneshotResume       *resume,
                                               gboolean                   *ok,
                                               GBytes                    **reply,
                                               GError                    **error);
GBytes       *_pipecom_oneshot_finish         (GAsyncResult               *result,
                                               gboolean                   *ok,
                                               GError                    **error);

G_END_DECLS
