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
 * pipecom-win32-dial.c (opening an instance, announcing),
 * pipecom-win32-io.c (a connection's overlapped pipe handle) and
 * pipecom-win32-credentials.c (who a client is, allowed users).
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

/* ---- pipecom-win32-credentials.c ----
 *
 * Threads and main contexts: _pipecom_win32_identify_client() impersonates
 * the client of @pipe on the calling thread for the span of the call and
 * reverts before it returns (or aborts the process if it cannot): call it
 * in a listener's serving thread, on an accepted server instance from
 * which the listener has read (the announcement record: some Windows
 * versions refuse to impersonate a client before anything was read). A
 * thread that impersonates someone itself gets that token back. The other
 * functions keep no state
 * and may be called from any thread. None runs a callback. */

/* What the system says of a client. */
typedef struct
{
  DWORD  pid;          /* from the kernel, 0 when unknown */
  PSID   sid;          /* (owned) (nullable) its token's user, g_malloc()ed */
  char  *sid_string;   /* (owned) (nullable) the same as "S-1-5-…", set with sid */
} PipecomWin32Identity;

void          _pipecom_win32_identify_client      (HANDLE                      pipe,
                                                   const char                 *pipe_name,
                                                   PipecomWin32Identity       *identity);
void          _pipecom_win32_identity_clear       (PipecomWin32Identity       *identity);
char         *_pipecom_win32_sid_to_string        (PSID                        sid);
/* The user of this process's token, g_malloc()ed; NULL with *code set. */
PSID          _pipecom_win32_process_user_sid     (DWORD                      *code);
/* The SIDs of PipecomPipe:allowed-users (account names, DOMAIN\user
 * or "user", or SID strings), the listener's own user first. */
GPtrArray    *_pipecom_win32_resolve_users        (const char * const         *users,
                                                   GError                    **error);
gboolean      _pipecom_win32_users_contain        (GPtrArray                  *sids,
                                                   PSID                        sid);

G_END_DECLS
