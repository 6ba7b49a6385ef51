/* pipecom-win32-dial.c: opening an instance of a pipe, announcing
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>

#include "pipecom-win32-private.h"

/* ---- Connecting ---- */

struct _PipecomDial
{
  char      *name;
  char      *path;
  gunichar2 *wpath;
  gboolean   duplex;
};

PipecomDial *
_pipecom_dial_new (const char *name,
                   const char *path,
                   gboolean    duplex)
{
  PipecomDial *dial = g_new0 (PipecomDial, 1);

  dial->name = g_strdup (name);
  dial->path = g_strdup (path);
  dial->wpath = _pipecom_win32_path_to_utf16 (path);
  dial->duplex = duplex;
  return dial;
}

/* One CreateFileW(): busy and absent pipes are retried by the caller,
 * with backoff, under the operation's deadline. */
PipecomDialResult
_pipecom_dial_attempt (PipecomDial                  *dial,
                       PipecomAnnounceKind           kind,
                       const guint8                 *inline_data,
                       gsize                         inline_len,
                       PipecomConnection           **conn,
                       const PipecomConnectionFuncs *funcs,
                       gpointer                      user_data,
                       GMainContext                 *context,
                       GError                      **error)
{
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  gsize total;
  HANDLE h;
  DWORD code;

  if (*conn != NULL)
    {
      _pipecom_connection_close (*conn);
      g_clear_pointer (conn, _pipecom_connection_unref);
    }

  /* SECURITY_IDENTIFICATION: a rogue server may learn who we are, but
   * never act as us. */
  h = CreateFileW (dial->wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                   FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                   NULL);
  if (h == INVALID_HANDLE_VALUE)
    {
      code = GetLastError ();
      switch (code)
        {
        case ERROR_FILE_NOT_FOUND:
          return PIPECOM_DIAL_ABSENT;
        case ERROR_PIPE_BUSY:
          return PIPECOM_DIAL_BUSY;
        default:
          _pipecom_win32_set_error (error, code, FALSE, "Cannot open pipe", dial->path);
          return PIPECOM_DIAL_FAILED;
        }
    }

  /* The connection is the pipe instance itself: the record names no
   * channel, only a placeholder base. */
  total = _pipecom_encode_announce (record, kind, "-", inline_data, inline_len);

  if (!_pipecom_win32_write_all_wait (h, record, total, INFINITE, &code))
    {
      CloseHandle (h);
      /* The listener went away between our open and our write. */
      if (code == ERROR_BROKEN_PIPE || code == ERROR_NO_DATA ||
          code == ERROR_PIPE_NOT_CONNECTED)
        return PIPECOM_DIAL_ABSENT;
      _pipecom_win32_set_error (error, code, FALSE, "Cannot announce a connection on",
                                dial->path);
      return PIPECOM_DIAL_FAILED;
    }

  *conn = _pipecom_connection_new_handle (h, 65536, 0, funcs, user_data, context);
  return PIPECOM_DIAL_ANNOUNCED;
}

/* A listener that goes away before answering breaks the pipe, which the
 * connection reports as closed: nothing to probe. */
gboolean
_pipecom_dial_lost (PipecomDial       *dial,
                    PipecomConnection *conn)
{
  return FALSE;
}

void
_pipecom_dial_reset (PipecomDial *dial)
{
}

gboolean
_pipecom_dial_established (PipecomDial        *dial,
                           PipecomConnection  *conn,
                           GError            **error)
{
  return TRUE;
}

void
_pipecom_dial_free (PipecomDial *dial)
{
  g_free (dial->name);
  g_free (dial->path);
  g_free (dial->wpath);
  g_free (dial);
}
