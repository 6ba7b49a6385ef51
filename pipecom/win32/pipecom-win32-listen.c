/* pipecom-win32-listen.c: the pipe instances of a listener, accepting
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>

#include "pipecom-win32-private.h"

/* A listener owns the pipe name \\.\pipe\NAME: its first instance is
 * created with FILE_FLAG_FIRST_PIPE_INSTANCE, so a second listener (or
 * anyone squatting on the name) gets ADDRESS_IN_USE, and an explicit DACL
 * lets only the current user and SYSTEM open the pipe or create more
 * instances of it. At least PIPE_WAITING instances wait in
 * ConnectNamedPipe() so that a burst of clients is not refused.
 *
 * A client opens an instance with CreateFileW() and writes the same
 * announcement record as on Unix (its path field is unused and holds
 * "-"); the listener reads it from the instance, which then becomes the
 * connection in both directions. The frames are those of Unix, in byte
 * mode. */

#define PIPE_WAITING     2
#define REFUSE_WAIT_MS   1000

/* ---- Security: only the current user and SYSTEM ---- */

typedef struct
{
  SECURITY_ATTRIBUTES  sa;
  SECURITY_DESCRIPTOR  sd;
  PACL                 acl;      /* (owned) */
} PipeSecurity;

static gboolean
pipe_security_init (PipeSecurity  *sec,
                    GError       **error)
{
  HANDLE token = NULL;
  g_autofree TOKEN_USER *user = NULL;
  BYTE system_sid[SECURITY_MAX_SID_SIZE];
  DWORD size = 0, sid_size = sizeof system_sid;
  DWORD code;

  memset (sec, 0, sizeof *sec);

  if (!OpenProcessToken (GetCurrentProcess (), TOKEN_QUERY, &token))
    goto fail;

  GetTokenInformation (token, TokenUser, NULL, 0, &size);
  user = g_malloc (size);
  if (!GetTokenInformation (token, TokenUser, user, size, &size))
    goto fail;

  if (!CreateWellKnownSid (WinLocalSystemSid, NULL, system_sid, &sid_size))
    goto fail;

  size = sizeof (ACL) +
         2 * (sizeof (ACCESS_ALLOWED_ACE) - sizeof (DWORD)) +
         GetLengthSid (user->User.Sid) + GetLengthSid (system_sid);
  sec->acl = g_malloc0 (size);

  if (!InitializeAcl (sec->acl, size, ACL_REVISION) ||
      !AddAccessAllowedAce (sec->acl, ACL_REVISION, FILE_ALL_ACCESS, user->User.Sid) ||
      !AddAccessAllowedAce (sec->acl, ACL_REVISION, FILE_ALL_ACCESS, system_sid) ||
      !InitializeSecurityDescriptor (&sec->sd, SECURITY_DESCRIPTOR_REVISION) ||
      !SetSecurityDescriptorDacl (&sec->sd, TRUE, sec->acl, FALSE) ||
      !SetSecurityDescriptorControl (&sec->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
    goto fail;

  CloseHandle (token);
  sec->sa.nLength = sizeof sec->sa;
  sec->sa.lpSecurityDescriptor = &sec->sd;
  sec->sa.bInheritHandle = FALSE;
  return TRUE;

fail:
  code = GetLastError ();
  if (token != NULL)
    CloseHandle (token);
  g_clear_pointer (&sec->acl, g_free);
  {
    g_autofree char *text = g_win32_error_message (code);
    g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                 "Cannot build the pipe's security descriptor: %s", text);
  }
  return FALSE;
}

/* ---- Listening ---- */

typedef struct _Instance Instance;

typedef struct
{
  GSource        source;
  PipecomIntake *intake;
} IntakeSource;

struct _PipecomIntake
{
  char                     *name;
  char                     *path;
  gunichar2                *wpath;
  guint                     buffer_size;
  const PipecomIntakeFuncs *funcs;
  gpointer                  user_data;
  PipeSecurity              security;
  GSource                  *source;      /* (owned) */
  GList                    *instances;   /* (owned) of Instance */
  gboolean                  closing;       /* the listener is stopping */
  gboolean                  unpublished;
};

struct _Instance
{
  PipecomIntake *intake;
  HANDLE         handle;
  OVERLAPPED     ov;
  GPollFD        pfd;
  gboolean       connected;   /* else waiting in ConnectNamedPipe() */
  gboolean       pending;     /* I/O in flight */
  guint8         buf[PIPECOM_ANNOUNCE_MAX];
  gsize          len;
};

struct _PipecomPeer
{
  HANDLE      handle;
  const char *name;    /* the pipe's, for messages */
};

static void
instance_free (Instance *inst)
{
  PipecomIntake *intake = inst->intake;

  if (inst->handle != INVALID_HANDLE_VALUE)
    {
      if (inst->pending)
        {
          DWORD n;

          CancelIoEx (inst->handle, &inst->ov);
          GetOverlappedResult (inst->handle, &inst->ov, &n, TRUE);
        }
      CloseHandle (inst->handle);
    }
  if (intake->source != NULL)
    g_source_remove_poll (intake->source, &inst->pfd);
  CloseHandle (inst->ov.hEvent);
  intake->instances = g_list_remove (intake->instances, inst);
  g_free (inst);
}

static HANDLE
create_pipe (PipecomIntake  *intake,
             gboolean        first,
             GError        **error)
{
  HANDLE h;

  h = CreateNamedPipeW (intake->wpath,
                        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                        (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                        PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                        PIPE_REJECT_REMOTE_CLIENTS,
                        PIPE_UNLIMITED_INSTANCES,
                        MAX (intake->buffer_size, 4096),
                        MAX (intake->buffer_size, 4096),
                        0, &intake->security.sa);
  if (h == INVALID_HANDLE_VALUE)
    {
      DWORD code = GetLastError ();

      if (first && (code == ERROR_ACCESS_DENIED || code == ERROR_PIPE_BUSY))
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE,
                     "Pipe “%s” (%s) already has a listener", intake->name, intake->path);
      else
        _pipecom_win32_set_error (error, code, TRUE, "Cannot create pipe", intake->path);
    }

  return h;
}

static void instance_progress (Instance *inst);

/* Waits for a client on @inst; the result is handled by
 * instance_progress(). */
static void
instance_connect (Instance *inst)
{
  inst->connected = FALSE;
  inst->len = 0;

  if (ConnectNamedPipe (inst->handle, &inst->ov))
    {
      inst->connected = TRUE;
      SetEvent (inst->ov.hEvent);   /* read the announcement from the dispatch */
      return;
    }

  switch (GetLastError ())
    {
    case ERROR_IO_PENDING:
      inst->pending = TRUE;
      break;
    case ERROR_PIPE_CONNECTED:
      /* A client connected between CreateNamedPipeW() and now. */
      inst->connected = TRUE;
      SetEvent (inst->ov.hEvent);
      break;
    case ERROR_NO_DATA:
      /* A client connected and already closed its end. */
      DisconnectNamedPipe (inst->handle);
      inst->connected = FALSE;
      SetEvent (inst->ov.hEvent);   /* try again from the dispatch */
      break;
    default:
      g_debug ("Pipe “%s”: ConnectNamedPipe: %lu", inst->intake->name, GetLastError ());
      SetEvent (inst->ov.hEvent);
      break;
    }
}

static Instance *
instance_new (PipecomIntake  *intake,
              HANDLE          handle)
{
  Instance *inst = g_new0 (Instance, 1);

  inst->intake = intake;
  inst->handle = handle;
  inst->ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  inst->pfd.fd = (gintptr) inst->ov.hEvent;
  inst->pfd.events = G_IO_IN;
  intake->instances = g_list_prepend (intake->instances, inst);
  g_source_add_poll (intake->source, &inst->pfd);
  instance_connect (inst);
  return inst;
}

static guint
count_waiting (PipecomIntake *intake)
{
  guint n = 0;

  for (GList *l = intake->instances; l != NULL; l = l->next)
    if (!((Instance *) l->data)->connected)
      n++;
  return n;
}

static void
replenish (PipecomIntake *intake)
{
  while (intake->source != NULL && count_waiting (intake) < PIPE_WAITING)
    {
      g_autoptr(GError) error = NULL;
      HANDLE h = create_pipe (intake, FALSE, &error);

      if (h == INVALID_HANDLE_VALUE)
        {
          g_debug ("Pipe “%s”: %s", intake->name, error->message);
          break;
        }
      instance_new (intake, h);
    }
}

/* The record in inst->buf is complete: hand it on. */
static void
instance_announce (Instance *inst)
{
  PipecomIntake *intake = inst->intake;
  PipecomAnnounce record;
  PipecomPeer peer = { inst->handle, intake->name };

  /* The peer owns the handle now; the instance is done. */
  inst->handle = INVALID_HANDLE_VALUE;
  inst->pending = FALSE;

  _pipecom_decode_announce (inst->buf, inst->len, TRUE, &record);
  if (record.base != NULL)
    intake->funcs->announce (&peer, record.version, record.kind,
                             record.inline_data, record.inline_len,
                             intake->user_data);
  else
    g_debug ("Pipe “%s”: dropping a client whose announcement names no base",
             intake->name);
  g_free (record.base);

  if (peer.handle != INVALID_HANDLE_VALUE)
    CloseHandle (peer.handle);
}

/* How many bytes of the record are still missing, 0 if it is complete,
 * -1 if what came is not a record. */
static gssize
record_missing (Instance *inst)
{
  gsize total;

  if (inst->len < PIPECOM_ANNOUNCE_HEADER_SIZE)
    return PIPECOM_ANNOUNCE_HEADER_SIZE - inst->len;

  /* Only a record's own bytes are read: frames follow it on the handle. */
  total = _pipecom_announce_record_size (inst->buf);
  if (total == 0)
    return -1;

  return total - inst->len;
}

/* Moves @inst on: waiting → connected → reading its record → announced.
 * Frees @inst when it is done or its client went away. */
static void
instance_progress (Instance *inst)
{
  PipecomIntake *intake = inst->intake;

  for (;;)
    {
      DWORD n = 0;
      gssize missing;

      if (inst->pending)
        {
          if (!GetOverlappedResult (inst->handle, &inst->ov, &n, FALSE))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_INCOMPLETE)
                return;
              inst->pending = FALSE;
              if (!inst->connected && code == ERROR_PIPE_CONNECTED)
                inst->connected = TRUE;
              else
                {
                  /* The client went away (or the wait failed). */
                  g_debug ("Pipe “%s”: dropping an instance: %lu", intake->name, code);
                  instance_free (inst);
                  replenish (intake);
                  return;
                }
            }
          else
            {
              inst->pending = FALSE;
              if (!inst->connected)
                inst->connected = TRUE;
              else
                inst->len += n;
            }
          continue;
        }

      if (!inst->connected)
        {
          /* ERROR_NO_DATA or a failed wait: start over. */
          ResetEvent (inst->ov.hEvent);
          instance_connect (inst);
          if (inst->pending || !inst->connected)
            return;
          continue;
        }

      /* Connected: keep the number of waiting instances up. */
      replenish (intake);

      missing = record_missing (inst);
      if (missing < 0)
        {
          g_debug ("Pipe “%s”: dropping a client that sent no announcement", intake->name);
          instance_free (inst);
          return;
        }
      if (missing == 0)
        {
          intake->instances = g_list_remove (intake->instances, inst);
          instance_announce (inst);
          intake->instances = g_list_prepend (intake->instances, inst);
          instance_free (inst);
          return;
        }

      if (ReadFile (inst->handle, inst->buf + inst->len, (DWORD) missing, &n, &inst->ov))
        {
          inst->len += n;
          continue;
        }

      if (GetLastError () == ERROR_IO_PENDING)
        {
          inst->pending = TRUE;
          return;
        }

      g_debug ("Pipe “%s”: cannot read an announcement: %lu", intake->name, GetLastError ());
      instance_free (inst);
      return;
    }
}

static gboolean
intake_source_check (GSource *source)
{
  PipecomIntake *intake = ((IntakeSource *) source)->intake;

  for (GList *l = intake->instances; l != NULL; l = l->next)
    if (((Instance *) l->data)->pfd.revents != 0)
      return TRUE;
  return FALSE;
}

static gboolean
intake_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  PipecomIntake *intake = ((IntakeSource *) source)->intake;
  GList *ready = NULL;

  for (GList *l = intake->instances; l != NULL; l = l->next)
    {
      Instance *inst = l->data;

      if (inst->pfd.revents != 0)
        ready = g_list_prepend (ready, inst);
      inst->pfd.revents = 0;
    }

  /* An announcement may close the intake: check that each instance is
   * still there before moving it on. */
  for (GList *l = ready; l != NULL; l = l->next)
    if (g_list_find (intake->instances, l->data) != NULL)
      instance_progress (l->data);

  g_list_free (ready);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs intake_source_funcs = {
  NULL, intake_source_check, intake_source_dispatch, NULL, NULL, NULL,
};

PipecomIntake *
_pipecom_intake_new (const char               *name,
                     const char               *path,
                     guint                     buffer_size,
                     PipecomAccess             access,
                     const PipecomIntakeFuncs *funcs,
                     gpointer                  user_data,
                     GError                  **error)
{
  PipecomIntake *intake;
  DWORD instances = 0;
  HANDLE h;

  /* A shared pipe needs a DACL granting the group or Everyone read/write
   * (never FILE_CREATE_PIPE_INSTANCE), and senders that accept a pipe
   * server of another user: not done yet. */
  if (access != PIPECOM_ACCESS_PRIVATE)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Cannot share pipe “%s” with %s: shared pipes are not supported "
                   "on Windows yet", name,
                   access == PIPECOM_ACCESS_GROUP ? "a group" : "everyone");
      return NULL;
    }

  intake = g_new0 (PipecomIntake, 1);

  intake->name = g_strdup (name);
  intake->path = g_strdup (path);
  intake->wpath = _pipecom_win32_path_to_utf16 (path);
  intake->buffer_size = buffer_size;
  intake->funcs = funcs;
  intake->user_data = user_data;
  intake->source = g_source_new (&intake_source_funcs, sizeof (IntakeSource));
  ((IntakeSource *) intake->source)->intake = intake;
  g_source_set_static_name (intake->source, "[pipecom] pipe instances");

  if (!pipe_security_init (&intake->security, error) ||
      (h = create_pipe (intake, TRUE, error)) == INVALID_HANDLE_VALUE)
    {
      _pipecom_intake_free (intake);
      return NULL;
    }

  /* FILE_FLAG_FIRST_PIPE_INSTANCE already refused a second listener on
   * Windows; Wine ignores the flag, so count the instances as well. */
  if (!GetNamedPipeHandleStateW (h, NULL, &instances, NULL, NULL, NULL, 0) || instances > 1)
    {
      CloseHandle (h);
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE,
                   "Pipe “%s” (%s) already has a listener", name, path);
      _pipecom_intake_free (intake);
      return NULL;
    }

  instance_new (intake, h);
  return intake;
}

void
_pipecom_intake_start (PipecomIntake *intake,
                       GMainContext  *context)
{
  g_source_attach (intake->source, context);
  replenish (intake);
}

/* On Unix the FIFO goes away here. A pipe name, though, lives as long as
 * any instance of it, and the connections still being answered are
 * instances: new clients would see a busy pipe, not a missing one. So the
 * instances keep accepting until the intake is freed, and the announce
 * callback (which knows the listener is stopping) refuses each new client
 * at once with an ERROR frame, as it does on Unix with the records already
 * queued. */
void
_pipecom_intake_unpublish (PipecomIntake *intake)
{
  intake->unpublished = TRUE;
}

void
_pipecom_intake_close (PipecomIntake *intake)
{
  intake->closing = TRUE;
}

void
_pipecom_intake_free (PipecomIntake *intake)
{
  intake->closing = TRUE;
  while (intake->instances != NULL)
    instance_free (intake->instances->data);
  if (intake->source != NULL)
    {
      g_source_destroy (intake->source);
      g_clear_pointer (&intake->source, g_source_unref);
    }
  g_free (intake->security.acl);
  g_free (intake->name);
  g_free (intake->path);
  g_free (intake->wpath);
  g_free (intake);
}

PipecomConnection *
_pipecom_peer_accept (PipecomPeer                  *peer,
                      PipecomAnnounceKind           kind,
                      guint                         buffer_size,
                      guint64                       max_frame,
                      const PipecomConnectionFuncs *funcs,
                      gpointer                      user_data,
                      GMainContext                 *context)
{
  PipecomConnection *conn;
  PipecomWin32Identity identity;
  PipecomPeerIdentity peer_identity = { -1, -1, -1, FALSE, 0, 0 };
  HANDLE h = peer->handle;

  /* Who the client is, as the system says: now, in the serving thread,
   * once its announcement was read (impersonating it needs something read)
   * and before anything is written to it or anyone asks. */
  _pipecom_win32_identify_client (h, peer->name, &identity);

  peer->handle = INVALID_HANDLE_VALUE;
  conn = _pipecom_connection_new_handle (h, MAX (buffer_size, 4096), max_frame,
                                         funcs, user_data, context);

  if (identity.pid != 0)
    {
      peer_identity.pid = identity.pid;
      peer_identity.pid_verified = TRUE;
    }
  _pipecom_connection_set_peer (conn, &peer_identity);
  _pipecom_connection_set_peer_sid (conn, identity.sid_string);
  _pipecom_win32_identity_clear (&identity);

  /* A listener drops peers that stall or never read. (There is no channel
   * for the peer to open, unlike on Unix: the connection is the pipe
   * instance it opened.) */
  _pipecom_connection_set_limits (conn, _pipecom_connection_deadline_usec,
                                  _pipecom_max_queued_bytes, NULL);

  return conn;
}

void
_pipecom_peer_refuse (PipecomPeer  *peer,
                      PipecomError  code,
                      const char   *text)
{
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, text);
  g_autoptr(GBytes) frame = _pipecom_encode_frame (PIPECOM_FRAME_ERROR, 0,
                                                   g_bytes_get_data (payload, NULL),
                                                   g_bytes_get_size (payload));
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  DWORD err;

  if (!_pipecom_win32_write_all_wait (peer->handle, data, len, REFUSE_WAIT_MS, &err))
    g_debug ("Cannot refuse a connection: %lu", err);
  /* Closing (without DisconnectNamedPipe) leaves the frame readable. */
  CloseHandle (peer->handle);
  peer->handle = INVALID_HANDLE_VALUE;
}

/* Only private pipes exist here, and the pipe's DACL lets in only the
 * listener's user (and SYSTEM). */
gboolean
_pipecom_transport_peer_is_self (PipecomConnection *conn)
{
  return TRUE;
}
