/* pipecom-win32-private.h: what the files of the Windows transport share
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <windows.h>

#include "pipecom-transport.h"

G_BEGIN_DECLS

/* The Windows side of pipecom-transport.h, by role: pipecom-win32-names.c
 * (pipe names, Win32 error codes), pipecom-win32-listen.c (the pipe
 * instances of a listener, its security descriptor, accepting a peer),
 * pipecom-win32-dial.c (opening an instance, announcing) and
 * pipecom-win32-io.c (a connection's overlapped pipe handle).
 *
 * Threads and main contexts: the functions below keep no state and may be
 * called from any thread; they run no callback.
 * _pipecom_win32_write_all_wait() blocks the calling thread for at most
 * its timeout. Each intake, dial and connection is used as
 * pipecom-transport.h says (its owning thread, its main context). */

/* ---- pipecom-win32-names.c ---- */

PipecomError _pipecom_error_code_from_win32 (guint32   code,
                                             gboolean  creating);
void         _pipecom_win32_set_error       (GError     **error,
                                             DWORD        code,
                                             gboolean     creating,
                                             const char  *what,
                                             const char  *path);
gunichar2   *_pipecom_win32_path_to_utf16   (const char  *path);

/* ---- pipecom-win32-io.c ---- */

/* Takes ownership of @handle, a connected duplex pipe handle opened for
 * overlapped I/O, and starts reading it in @context. */
PipecomConnection *_pipecom_connection_new_handle  (HANDLE                        handle,
                                                    gsize                         read_size,
                                                    guint64                       max_frame,
                                                    const PipecomConnectionFuncs *funcs,
                                                    gpointer                      user_data,
                                                    GMainContext                 *context);
gboolean           _pipecom_win32_write_all_wait   (HANDLE                        h,
                                                    const guint8                 *data,
                                                    gsize                         len,
                                                    DWORD                         timeout_ms,
                                                    DWORD                        *code);

G_END_DECLS
