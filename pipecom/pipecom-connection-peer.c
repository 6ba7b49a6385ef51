/* pipecom-connection-peer.c: who the peer of a connection is
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* What the platform recorded of a listener's peer when it accepted it,
 * and the credentials worked out from that on the first call that asks
 * (see pipecom-transport.h). The identity is set once, in the thread that
 * serves the pipe, before anyone can ask, and only read after that; so
 * the getters may be called from any thread, and
 * _pipecom_connection_get_sender() works out and caches the credentials
 * under the connection's peer lock. The rest of the connection is in
 * pipecom-connection.c. */

#include "config.h"

#include "pipecom-connection-private.h"

/* Records who the peer is: on Unix, the owner of the channel FIFOs a
 * listener opened for it (only that user, or root, could have made them
 * there), the pid its channel's name claims and the channel file; on
 * Windows, what the system says of the pipe's client. Called once, at
 * accept, before anyone can ask; nothing is verified or built yet, so
 * that a peer nobody asks about costs no system call. */
void
_pipecom_connection_set_peer (PipecomConnection         *conn,
                              const PipecomPeerIdentity *peer)
{
  conn->peer = *peer;
}

void
_pipecom_connection_set_peer_sid (PipecomConnection *conn,
                                  const char        *sid)
{
  g_free (conn->peer_sid);
  conn->peer_sid = g_strdup (sid);
}

const char *
_pipecom_connection_get_peer_sid (PipecomConnection *conn)
{
  return conn->peer_sid;
}

/* -1 (the default) means unknown. */
gint64
_pipecom_connection_get_peer_uid (PipecomConnection *conn)
{
  return conn->peer.uid;
}

PipecomSenderFlags
_pipecom_connection_get_sender (PipecomConnection  *conn,
                                GCredentials      **credentials)
{
  PipecomSenderFlags flags;

  g_mutex_lock (&conn->peer_lock);
  if (!conn->peer_resolved)
    {
      gint64 pid = -1;

      conn->peer_resolved = TRUE;
      conn->peer_flags = PIPECOM_SENDER_NONE;
      if (conn->peer.uid >= 0 || conn->peer_sid != NULL)
        conn->peer_flags |= PIPECOM_SENDER_USER;
      if (conn->peer.pid > 0 &&
          (conn->peer.pid_verified || _pipecom_transport_verify_peer_pid (conn, &conn->peer)))
        {
          pid = conn->peer.pid;
          conn->peer_flags |= PIPECOM_SENDER_PROCESS;
        }
      if (conn->peer_flags != PIPECOM_SENDER_NONE)
        conn->peer_credentials = _pipecom_transport_credentials_new (&conn->peer, pid);
      if (conn->peer_credentials != NULL && conn->peer_sid != NULL)
        g_object_set_data_full (G_OBJECT (conn->peer_credentials), _PIPECOM_CREDENTIALS_SID_KEY,
                                g_strdup (conn->peer_sid), g_free);
    }
  flags = conn->peer_flags;
  if (credentials != NULL)
    *credentials = conn->peer_credentials;
  g_mutex_unlock (&conn->peer_lock);

  return flags;
}
