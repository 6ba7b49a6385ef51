/* pipecom-win32-names.c: pipe names and Win32 errors
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>

#include "pipecom-win32-private.h"

#define PIPE_PREFIX      "\\\\.\\pipe\\"
#define PIPE_MAX_CHARS   256   /* the whole name, prefix included */

void
_pipecom_init_once (void)
{
}

PipecomError
_pipecom_error_code_from_win32 (guint32  code,
                                gboolean creating)
{
  switch (code)
    {
    case ERROR_ACCESS_DENIED:
      return creating ? PIPECOM_ERROR_ADDRESS_IN_USE : PIPECOM_ERROR_PERMISSION_DENIED;
    case ERROR_PIPE_BUSY:
      return creating ? PIPECOM_ERROR_ADDRESS_IN_USE : PIPECOM_ERROR_BUSY;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
      return PIPECOM_ERROR_CLOSED;
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT:
      return PIPECOM_ERROR_TIMEOUT;
    case ERROR_FILE_NOT_FOUND:
      return PIPECOM_ERROR_CONNECTION_FAILED;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_FILENAME_EXCED_RANGE:
      return PIPECOM_ERROR_INVALID_PIPE;
    default:
      return PIPECOM_ERROR_UNKNOWN;
    }
}

void
_pipecom_win32_set_error (GError     **error,
                          DWORD        code,
                          gboolean     creating,
                          const char  *what,
                          const char  *path)
{
  g_autofree char *text = g_win32_error_message (code);

  g_set_error (error, PIPECOM_ERROR, _pipecom_error_code_from_win32 (code, creating),
               "%s “%s”: %s", what, path, text);
}

gunichar2 *
_pipecom_win32_path_to_utf16 (const char *path)
{
  return g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
}

/* Clients announce no channel here: their BASE is always "-". */
gsize
_pipecom_transport_max_base_len (const char *name,
                                 const char *path)
{
  return 1;
}

char *
_pipecom_transport_resolve (const char  *name,
                            GError     **error)
{
  g_autofree char *path = NULL;
  glong chars;

  if (!_pipecom_check_name_chars (name, error))
    return NULL;

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name: not valid UTF-8");
      return NULL;
    }

  if (g_ascii_strncasecmp (name, PIPE_PREFIX, strlen (PIPE_PREFIX)) == 0)
    {
      if (name[strlen (PIPE_PREFIX)] == '\0')
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: no name after the prefix", name);
          return NULL;
        }
      path = g_strdup (name);
    }
  else if (strpbrk (name, "\\/") != NULL || g_str_equal (name, ".") || g_str_equal (name, ".."))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: on Windows a name is either simple "
                   "(no “\\” or “/”, not “.” or “..”) or a full “\\\\.\\pipe\\…” path",
                   name);
      return NULL;
    }
  else
    path = g_strconcat (PIPE_PREFIX, name, NULL);

  {
    g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, &chars, NULL);

    if (wpath == NULL || chars > PIPE_MAX_CHARS)
      {
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                     "Invalid pipe name “%s”: “%s” is longer than the %d characters "
                     "Windows allows", name, path, PIPE_MAX_CHARS);
        return NULL;
      }
  }

  return g_steal_pointer (&path);
}

/* Resolving checks nothing that only explains a failure here. */
char *
_pipecom_transport_resolve_to_open (const char  *name,
                                    GError     **error)
{
  return _pipecom_transport_resolve (name, error);
}

gboolean
_pipecom_transport_check_resolved (const char  *name,
                                   const char  *path,
                                   GError     **error)
{
  return TRUE;
}
