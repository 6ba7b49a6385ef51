/* pipecom-registry-private.h: the listeners served in this process
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * A process-wide table from a listener's resolved path to the
 * #GMainContext that serves it, so that a synchronous send to a pipe
 * served in the calling thread's context does not wait on itself (see
 * _pipecom_registry_is_served_here() in pipecom-worker-private.h). The
 * listener adds and removes its entry from its serving thread; any thread
 * may look one up. The table is guarded by its own lock; no callback runs
 * and no main context is touched. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Called by the thread that listens (pipecom_pipe_listen()'s caller). */
void          _pipecom_registry_add     (const char   *path,
                                         GMainContext *context);
void          _pipecom_registry_remove  (const char   *path);

/* Returns: (transfer full) (nullable): the serving context of @path;
 * *@listened_here tells whether the calling thread is the one that
 * listened. */
GMainContext *_pipecom_registry_lookup  (const char   *path,
                                         gboolean     *listened_here);
/* Whether no listener is served in this process (racing an add or a
 * removal by another thread as _pipecom_registry_lookup() does). */
gboolean      _pipecom_registry_is_empty (void);

G_END_DECLS
