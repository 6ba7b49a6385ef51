/* pipecom-win32-credentials.c: who is on the other end of a pipe instance,
 * and which users a listener lets in
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>
#include <sddl.h>

#include "pipecom-connection-private.h"
#include "pipecom-win32-private.h"

/* An allowed-users entry that names nobody fails listen() as on Unix. */
#define ALLOWED_USER_ERROR G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT

/* The system, not the client, says who the client is. Its process id
 * comes from the kernel (GetNamedPipeClientProcessId()), its user from the
 * access token of its thread, which the listener gets by impersonating it
 * for a moment (ImpersonateNamedPipeClient(), OpenThreadToken(),
 * RevertToSelf()). PipeCom's clients open pipes with
 * SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, so that token is an
 * identification token: it names the client's user and groups, and
 * cannot be used to act as the client. A client that asks for more does
 * not make the listener use it for more: the token is only read. */

/* Gets the TokenUser of @token, a copy of its SID in a g_malloc() block. */
static PSID
token_user_sid (HANDLE  token,
                DWORD  *code)
{
  g_autofree TOKEN_USER *user = NULL;
  DWORD size = 0, len;
  PSID sid;

  if (GetTokenInformation (token, TokenUser, NULL, 0, &size) ||
      GetLastError () != ERROR_INSUFFICIENT_BUFFER || size == 0)
    {
      *code = GetLastError ();
      return NULL;
    }

  user = g_malloc (size);
  if (!GetTokenInformation (token, TokenUser, user, size, &size) ||
      !IsValidSid (user->User.Sid))
    {
      *code = GetLastError ();
      return NULL;
    }

  len = GetLengthSid (user->User.Sid);
  sid = g_malloc (len);
  if (!CopySid (len, sid, user->User.Sid))
    {
      *code = GetLastError ();
      g_free (sid);
      return NULL;
    }

  return sid;
}

char *
_pipecom_win32_sid_to_string (PSID sid)
{
  gunichar2 *wide = NULL;
  char *text;

  if (sid == NULL || !ConvertSidToStringSidW (sid, &wide))
    return NULL;
  text = g_utf16_to_utf8 (wide, -1, NULL, NULL, NULL);
  LocalFree (wide);
  return text;
}

PSID
_pipecom_win32_process_user_sid (DWORD *code)
{
  HANDLE token = NULL;
  PSID sid;

  if (!OpenProcessToken (GetCurrentProcess (), TOKEN_QUERY, &token))
    {
      *code = GetLastError ();
      return NULL;
    }
  sid = token_user_sid (token, code);
  CloseHandle (token);
  return sid;
}

/* Puts @previous (NULL: none) back as the calling thread's token. A
 * thread that cannot stop impersonating the client would go on running as
 * the client, and one that cannot get its own impersonation back would go
 * on as the process: either way the process aborts, as Microsoft's
 * documentation of RevertToSelf() advises. */
static void
restore_thread_token (HANDLE previous)
{
  if (!RevertToSelf ())
    g_error ("Cannot stop impersonating a pipe client (RevertToSelf: %lu): aborting "
             "rather than go on as the client", GetLastError ());
  if (previous != NULL && !SetThreadToken (NULL, previous))
    g_error ("Cannot restore the thread's own impersonation after identifying a pipe "
             "client (SetThreadToken: %lu): aborting", GetLastError ());
}

/* Impersonates the client of @pipe just long enough to open its token,
 * then gives the thread back the token it had (it may be impersonating
 * someone itself: RevertToSelf() alone would end that). */
static PSID
client_user_sid (HANDLE  pipe,
                 DWORD  *code)
{
  HANDLE previous = NULL, token = NULL;
  gboolean opened;
  PSID sid;

  if (!OpenThreadToken (GetCurrentThread (), TOKEN_IMPERSONATE, TRUE, &previous))
    {
      if (GetLastError () != ERROR_NO_TOKEN)
        {
          /* Impersonating, but we could not put it back. */
          *code = GetLastError ();
          return NULL;
        }
      previous = NULL;
    }

  if (!ImpersonateNamedPipeClient (pipe))
    {
      *code = GetLastError ();
      if (previous != NULL)
        CloseHandle (previous);
      return NULL;
    }

  /* OpenAsSelf: an identification token cannot open its own thread's
   * token (ERROR_BAD_IMPERSONATION_LEVEL); the listener's process may. */
  opened = OpenThreadToken (GetCurrentThread (), TOKEN_QUERY, TRUE, &token);
  if (!opened)
    *code = GetLastError ();

  restore_thread_token (previous);
  if (previous != NULL)
    CloseHandle (previous);

  if (!opened)
    return NULL;

  sid = token_user_sid (token, code);
  CloseHandle (token);
  return sid;
}

void
_pipecom_win32_identify_client (HANDLE                pipe,
                                const char           *pipe_name,
                                PipecomWin32Identity *identity)
{
  ULONG pid = 0;
  DWORD code = ERROR_SUCCESS;

  memset (identity, 0, sizeof *identity);

  if (!GetNamedPipeClientProcessId (pipe, &pid))
    g_debug ("Pipe “%s”: no process id for a client (GetNamedPipeClientProcessId: %lu)",
             pipe_name, GetLastError ());
  else if (pid == 0)
    g_debug ("Pipe “%s”: no process id for a client (GetNamedPipeClientProcessId gave 0)",
             pipe_name);
  else
    identity->pid = pid;

  identity->sid = client_user_sid (pipe, &code);
  if (identity->sid != NULL)
    {
      identity->sid_string = _pipecom_win32_sid_to_string (identity->sid);
      if (identity->sid_string == NULL)
        {
          /* A SID we cannot name is not one we can report. */
          g_debug ("Pipe “%s”: cannot convert a client's SID to a string", pipe_name);
          g_clear_pointer (&identity->sid, g_free);
        }
    }
  else
    g_debug ("Pipe “%s”: no user for a client (its token: %lu)", pipe_name, code);
}

void
_pipecom_win32_identity_clear (PipecomWin32Identity *identity)
{
  g_clear_pointer (&identity->sid, g_free);
  g_clear_pointer (&identity->sid_string, g_free);
  identity->pid = 0;
}

/* ---- PipecomPipe:allowed-users ---- */

static gboolean
looks_like_sid (const char *entry)
{
  return (entry[0] == 'S' || entry[0] == 's') && entry[1] == '-' &&
         g_ascii_isdigit (entry[2]);
}

static PSID
resolve_sid_string (const char  *entry,
                    GError     **error)
{
  g_autofree gunichar2 *wide = g_utf8_to_utf16 (entry, -1, NULL, NULL, NULL);
  PSID local = NULL, sid;
  DWORD len;

  if (wide == NULL || !ConvertStringSidToSidW (wide, &local))
    {
      g_set_error (error, ALLOWED_USER_ERROR,
                   "Unknown user “%s” in allowed-users: not a valid SID", entry);
      return NULL;
    }

  len = GetLengthSid (local);
  sid = g_malloc (len);
  if (!CopySid (len, sid, local))
    {
      g_autofree char *text = g_win32_error_message (GetLastError ());

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                   "Cannot copy the SID “%s” of allowed-users: %s", entry, text);
      g_clear_pointer (&sid, g_free);
    }
  LocalFree (local);
  return sid;
}

static PSID
resolve_account (const char  *entry,
                 GError     **error)
{
  g_autofree gunichar2 *wide = g_utf8_to_utf16 (entry, -1, NULL, NULL, NULL);
  g_autofree gunichar2 *domain = NULL;
  g_autofree void *sid = NULL;
  DWORD sid_size = 0, domain_size = 0, code;
  SID_NAME_USE use;

  if (wide != NULL &&
      !LookupAccountNameW (NULL, wide, NULL, &sid_size, NULL, &domain_size, &use) &&
      GetLastError () == ERROR_INSUFFICIENT_BUFFER && sid_size > 0)
    {
      sid = g_malloc (sid_size);
      domain = g_new (gunichar2, MAX (domain_size, 1));
      if (LookupAccountNameW (NULL, wide, sid, &sid_size, domain, &domain_size, &use))
        {
          if (use == SidTypeGroup || use == SidTypeAlias || use == SidTypeDomain)
            {
              g_set_error (error, ALLOWED_USER_ERROR,
                           "“%s” in allowed-users is a group or a domain, not a user", entry);
              return NULL;
            }
          return g_steal_pointer (&sid);
        }
    }

  code = GetLastError ();
  if (code == ERROR_NONE_MAPPED || code == ERROR_SUCCESS || wide == NULL)
    g_set_error (error, ALLOWED_USER_ERROR,
                 "Unknown user “%s” in allowed-users", entry);
  else
    {
      g_autofree char *text = g_win32_error_message (code);

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                   "Cannot look up user “%s” in allowed-users: %s", entry, text);
    }
  return NULL;
}

GPtrArray *
_pipecom_win32_resolve_users (const char * const  *users,
                              GError             **error)
{
  g_autoptr(GPtrArray) sids = g_ptr_array_new_with_free_func (g_free);
  DWORD code = ERROR_SUCCESS;
  PSID own;

  /* The listener's own user is always allowed. */
  own = _pipecom_win32_process_user_sid (&code);
  if (own == NULL)
    {
      g_autofree char *text = g_win32_error_message (code);

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                   "Cannot find the listener's own user: %s", text);
      return NULL;
    }
  g_ptr_array_add (sids, own);

  for (gsize i = 0; users != NULL && users[i] != NULL; i++)
    {
      const char *entry = users[i];
      PSID sid = looks_like_sid (entry) ? resolve_sid_string (entry, error)
                                        : resolve_account (entry, error);

      if (sid == NULL)
        return NULL;
      g_ptr_array_add (sids, sid);
    }

  return g_steal_pointer (&sids);
}

gboolean
_pipecom_win32_users_contain (GPtrArray *sids,
                              PSID       sid)
{
  if (sid == NULL)
    return FALSE;

  for (guint i = 0; i < sids->len; i++)
    if (EqualSid (sids->pdata[i], sid))
      return TRUE;
  return FALSE;
}

/* ---- The transport's side of a connection's credentials ---- */

/* The pid of a Windows peer comes from the system at accept
 * (pid_verified), never from a claim to check. */
gboolean
_pipecom_transport_verify_peer_pid (PipecomConnection         *conn,
                                    const PipecomPeerIdentity *peer)
{
  return FALSE;
}

/* A G_CREDENTIALS_TYPE_WIN32_PID with the client's pid. GCredentials
 * holds nothing else on Windows (the user is the connection's SID), so
 * without a pid there are none: never g_credentials_new()'s own pid. */
GCredentials *
_pipecom_transport_credentials_new (const PipecomPeerIdentity *peer,
                                    gint64                     pid)
{
  GCredentials *credentials;
  DWORD native;

  if (pid <= 0 || pid > G_MAXUINT32)
    return NULL;

  native = (DWORD) pid;
  credentials = g_credentials_new ();
  g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID, &native);
  return credentials;
}

struct _PipecomUserSet
{
  GPtrArray *sids;  /* (owned) of PSID, the listener's own user first */
};

PipecomUserSet *
_pipecom_transport_resolve_users (const char * const  *users,
                                  GError             **error)
{
  PipecomUserSet *set;
  GPtrArray *sids;

  if (users == NULL || users[0] == NULL)
    return NULL;

  sids = _pipecom_win32_resolve_users (users, error);
  if (sids == NULL)
    return NULL;

  set = g_new0 (PipecomUserSet, 1);
  set->sids = sids;
  return set;
}

/* The client's token user (the connection's SID, set at accept) against
 * the list; a client whose user is unknown is not allowed. */
gboolean
_pipecom_transport_users_allow (PipecomUserSet    *set,
                                PipecomConnection *conn)
{
  const char *text = _pipecom_connection_get_peer_sid (conn);
  g_autofree gunichar2 *wide = NULL;
  PSID sid = NULL;
  gboolean allowed;

  if (set == NULL)
    return TRUE;
  if (text == NULL)
    return FALSE;

  wide = g_utf8_to_utf16 (text, -1, NULL, NULL, NULL);
  if (wide == NULL || !ConvertStringSidToSidW (wide, &sid))
    return FALSE;
  allowed = _pipecom_win32_users_contain (set->sids, sid);
  LocalFree (sid);
  return allowed;
}

void
_pipecom_transport_users_free (PipecomUserSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref (set->sids);
  g_free (set);
}
