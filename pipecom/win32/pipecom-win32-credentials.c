/* pipecom-win32-credentials.c: who the sender on a connection is, on
 * Windows
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Not filled in yet: the accept of pipecom-win32-listen.c is to record the
 * client's pid (GetNamedPipeClientProcessId(), pid_verified) with
 * _pipecom_connection_set_peer() and its user's SID with
 * _pipecom_connection_set_peer_sid(). Until then a sender is unknown.
 *
 * Threads: every function may be called from any thread. */

#include "config.h"

#include <windows.h>

#include "pipecom-connection-private.h"
#include "pipecom-win32-private.h"

/* A pid on Windows comes from the system, never from a claim. */
gboolean
_pipecom_transport_verify_peer_pid (PipecomConnection         *conn,
                                    const PipecomPeerIdentity *peer)
{
  return FALSE;
}

GCredentials *
_pipecom_transport_credentials_new (const PipecomPeerIdentity *peer,
                                    gint64                     pid)
{
  GCredentials *credentials;
  DWORD native;

  if (pid <= 0)
    return NULL;

  native = (DWORD) pid;
  credentials = g_credentials_new ();
  g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID, &native);
  return credentials;
}

/* Only the listener's own user can reach a pipe here (its DACL): any
 * list allows everyone who can. Resolving names to SIDs is to come. */
struct _PipecomUserSet
{
  int unused;
};

PipecomUserSet *
_pipecom_transport_resolve_users (const char * const  *users,
                                  GError             **error)
{
  return NULL;
}

gboolean
_pipecom_transport_users_allow (PipecomUserSet    *set,
                                PipecomConnection *conn)
{
  return TRUE;
}

void
_pipecom_transport_users_free (PipecomUserSet *set)
{
  g_free (set);
}
