/* pipecom-send.h
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#if !defined(PIPECOM_INSIDE) && !defined(PIPECOM_COMPILATION)
# error "Only <pipecom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "pipecom-version-macros.h"

G_BEGIN_DECLS

PIPECOM_AVAILABLE_IN_ALL
gboolean  pipecom_send                 (const char           *pipe_name,
                                        const char           *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void      pipecom_send_async           (const char           *pipe_name,
                                        const char           *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
gboolean  pipecom_send_finish          (GAsyncResult         *result,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
gboolean  pipecom_send_bytes           (const char           *pipe_name,
                                        GBytes               *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void      pipecom_send_bytes_async     (const char           *pipe_name,
                                        GBytes               *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
gboolean  pipecom_send_bytes_finish    (GAsyncResult         *result,
                                        GError              **error);

PIPECOM_AVAILABLE_IN_ALL
char     *pipecom_request              (const char           *pipe_name,
                                        const char           *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void      pipecom_request_async        (const char           *pipe_name,
                                        const char           *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
char     *pipecom_request_finish       (GAsyncResult         *result,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
GBytes   *pipecom_request_bytes        (const char           *pipe_name,
                                        GBytes               *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void      pipecom_request_bytes_async  (const char           *pipe_name,
                                        GBytes               *message,
                                        guint                 timeout,
                                        guint                 max_attempts,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
GBytes   *pipecom_request_bytes_finish (GAsyncResult         *result,
                                        GError              **error);

G_END_DECLS
