/* pipecom-win32-io.c: the I/O of a connection over an overlapped Win32
 * named-pipe handle
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>

#include "pipecom-connection-private.h"
#include "pipecom-win32-private.h"

/* The Windows I/O of a connection (the rest is pipecom-connection.c,
 * shared with Unix). A connection owns one duplex pipe handle opened with
 * FILE_FLAG_OVERLAPPED. At most one ReadFile and one WriteFile are in
 * flight; each has an OVERLAPPED with a manual-reset event, and both events
 * are polled by the connection's GSource (GLib on Windows waits on HANDLEs:
 * GPollFD.fd is the event). An event is reset whenever no I/O of its kind
 * is in flight, so an idle connection never wakes its main context.
 * Closing cancels the I/O in flight with CancelIoEx() and waits for it to
 * complete before the buffers it uses are freed. The source does not
 * recurse: GLib blocks it around each dispatch. */

typedef struct
{
  PipecomConnection core;

  HANDLE            handle;   /* (owned) INVALID_HANDLE_VALUE once closed */
  OVERLAPPED        rov;
  OVERLAPPED        wov;
  GPollFD           rpoll;
  GPollFD           wpoll;
  gboolean          read_pending;
  gboolean          write_pending;
  gsize             write_len;    /* of the WriteFile in flight */
  gboolean          write_handed; /* write_len is out of conn->wqueued */
} HandleConnection;

#define HANDLE_CONNECTION(conn) ((HandleConnection *) (conn))

/* Cancels the I/O in flight, waits until it has completed (the kernel
 * writes into our buffers until then), and closes the handle. */
void
_pipecom_connection_io_close (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  if (hc->handle != INVALID_HANDLE_VALUE)
    {
      DWORD n;

      if (hc->read_pending || hc->write_pending)
        CancelIoEx (hc->handle, NULL);
      if (hc->read_pending)
        GetOverlappedResult (hc->handle, &hc->rov, &n, TRUE);
      if (hc->write_pending)
        GetOverlappedResult (hc->handle, &hc->wov, &n, TRUE);
      hc->read_pending = hc->write_pending = FALSE;
      hc->write_handed = FALSE;
      CloseHandle (hc->handle);
      hc->handle = INVALID_HANDLE_VALUE;
    }
  if (hc->rov.hEvent != NULL)
    ResetEvent (hc->rov.hEvent);
  if (hc->wov.hEvent != NULL)
    ResetEvent (hc->wov.hEvent);
}

void
_pipecom_connection_io_finalize (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  if (hc->rov.hEvent != NULL)
    CloseHandle (hc->rov.hEvent);
  if (hc->wov.hEvent != NULL)
    CloseHandle (hc->wov.hEvent);
}

static void
conn_fail_win32 (PipecomConnection *conn,
                 DWORD              code,
                 const char        *what)
{
  g_autofree char *text = g_win32_error_message (code);
  int err = (code == ERROR_BROKEN_PIPE || code == ERROR_NO_DATA ||
             code == ERROR_PIPE_NOT_CONNECTED) ? PIPECOM_ERROR_CLOSED : PIPECOM_ERROR_UNKNOWN;

  _pipecom_connection_fail (conn, g_error_new (PIPECOM_ERROR, err, "%s: %s", what, text));
}

/* Handles the outcome of one read: @n bytes (0 with @code set on error). */
static void
read_done (PipecomConnection *conn,
           DWORD              n,
           DWORD              code)
{
  if (code == ERROR_OPERATION_ABORTED)
    return;

  if (code != ERROR_SUCCESS)
    {
      if (code == ERROR_BROKEN_PIPE || code == ERROR_PIPE_NOT_CONNECTED ||
          code == ERROR_HANDLE_EOF || code == ERROR_NO_DATA)
        _pipecom_connection_eof (conn);  /* the peer closed its end */
      else
        conn_fail_win32 (conn, code, "Cannot read from the connection");
      return;
    }

  _pipecom_connection_received (conn, n);
}

static gboolean
can_read (PipecomConnection *conn)
{
  return !conn->closed && !conn->reading_stopped &&
         HANDLE_CONNECTION (conn)->handle != INVALID_HANDLE_VALUE;
}

/* Completes the read in flight, if it has, and starts the next one; a read
 * that completes at once is handled at once, up to 64 in a row. */
void
_pipecom_connection_io_read (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  for (guint round = 0; round < 64; round++)
    {
      DWORD n = 0;
      guint8 *target;
      gsize room;

      if (hc->read_pending)
        {
          if (!GetOverlappedResult (hc->handle, &hc->rov, &n, FALSE))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_INCOMPLETE)
                return;
              hc->read_pending = FALSE;
              read_done (conn, 0, code);
            }
          else
            {
              hc->read_pending = FALSE;
              read_done (conn, n, ERROR_SUCCESS);
            }
          continue;
        }

      if (!can_read (conn))
        break;

      target = _pipecom_connection_read_buffer (conn, &room);
      if (target == NULL)
        break;  /* dropped: over the memory budget */
      room = MIN (room, (gsize) G_MAXINT32);
      if (ReadFile (hc->handle, target, (DWORD) room, &n, &hc->rov))
        {
          /* Completed at once (the event is set too: reset below). */
          read_done (conn, n, ERROR_SUCCESS);
          continue;
        }
      else
        {
          DWORD code = GetLastError ();

          if (code == ERROR_IO_PENDING)
            {
              hc->read_pending = TRUE;
              return;
            }
          read_done (conn, 0, code);
        }
    }

  /* Nothing in flight: keep the event from waking the main context. */
  if (!hc->read_pending && hc->rov.hEvent != NULL)
    ResetEvent (hc->rov.hEvent);
}

void
_pipecom_connection_io_flush (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  while (!conn->closed)
    {
      DWORD n = 0;

      if (hc->write_pending)
        {
          if (!GetOverlappedResult (hc->handle, &hc->wov, &n, FALSE))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_INCOMPLETE)
                return;
              hc->write_pending = FALSE;
              if (code != ERROR_OPERATION_ABORTED)
                conn_fail_win32 (conn, code, "Cannot write to the connection");
              return;
            }
          hc->write_pending = FALSE;
          if (hc->write_handed)
            {
              conn->wqueued += hc->write_len;  /* _pipecom_connection_wrote() takes n off */
              hc->write_handed = FALSE;
            }
        }
      else
        {
          PipecomChunk *chunk = g_queue_peek_head (&conn->wqueue);
          const guint8 *data;
          gsize size;

          if (chunk == NULL)
            break;

          data = g_bytes_get_data (chunk->bytes, &size);
          hc->write_len = MIN (size - chunk->offset, (gsize) G_MAXINT32);
          if (!WriteFile (hc->handle, data + chunk->offset, (DWORD) hc->write_len, &n, &hc->wov))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_PENDING)
                {
                  /* Handed to the system, like the bytes a Unix pipe took:
                   * not counted against the queue bound, so that a reply
                   * of the bound's size does not make the next one fail. */
                  hc->write_pending = TRUE;
                  hc->write_handed = TRUE;
                  conn->wqueued -= MIN (hc->write_len, conn->wqueued);
                  return;
                }
              conn_fail_win32 (conn, code, "Cannot write to the connection");
              return;
            }
        }

      /* n bytes of the head chunk went out. */
      _pipecom_connection_wrote (conn, n);
    }

  if (conn->closed)
    return;

  if (!hc->write_pending && hc->wov.hEvent != NULL)
    ResetEvent (hc->wov.hEvent);
}

gboolean
_pipecom_connection_io_can_write (PipecomConnection *conn)
{
  return HANDLE_CONNECTION (conn)->handle != INVALID_HANDLE_VALUE;
}

/* Every frame is queued, and written by the flush that follows (one
 * WriteFile in flight at a time). */
gssize
_pipecom_connection_io_write_now (PipecomConnection *conn,
                                  const guint8      *header,
                                  const guint8      *data,
                                  gsize              len)
{
  return 0;
}

void
_pipecom_connection_io_queued (PipecomConnection *conn)
{
  if (!HANDLE_CONNECTION (conn)->write_pending)
    _pipecom_connection_flush (conn);
}

void
_pipecom_connection_io_frame_coming (PipecomConnection *conn,
                                     gsize              frame_len)
{
}

/* The events are waited on only while I/O is in flight, and the source
 * does not recurse: nothing to change. */
void
_pipecom_connection_io_update_interest (PipecomConnection *conn)
{
}

void
_pipecom_connection_io_stop_reading (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  if (hc->read_pending && hc->handle != INVALID_HANDLE_VALUE)
    {
      DWORD n;

      CancelIoEx (hc->handle, &hc->rov);
      GetOverlappedResult (hc->handle, &hc->rov, &n, TRUE);
      hc->read_pending = FALSE;
    }
  if (hc->rov.hEvent != NULL)
    ResetEvent (hc->rov.hEvent);
}

/* A Windows connection is the pipe instance itself: there is no channel
 * for the peer to open, and no open path is ever set. */
void
_pipecom_connection_io_check_open (PipecomConnection *conn)
{
}

gboolean
_pipecom_connection_io_dispatch (PipecomConnection *conn)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);
  gboolean read = FALSE;

  if (!conn->closed && hc->write_pending && hc->wpoll.revents != 0)
    _pipecom_connection_flush (conn);

  /* A read completed, or none is in flight yet (a new connection). */
  if (!conn->closed && (hc->rpoll.revents != 0 || !hc->read_pending))
    {
      _pipecom_connection_io_read (conn);
      read = TRUE;
    }

  hc->rpoll.revents = hc->wpoll.revents = 0;

  return read;
}

/* A read is to be started: the first one, or the next after 64 that
 * completed at once. It starts in the connection's own context (a
 * connection may be made in another thread), and the source's ready time
 * stays the core's, for its deadline. */
static gboolean
conn_source_prepare (GSource *source,
                     gint    *timeout)
{
  PipecomConnection *conn = ((PipecomConnectionSource *) source)->conn;

  *timeout = -1;
  return !HANDLE_CONNECTION (conn)->read_pending && can_read (conn);
}

static gboolean
conn_source_check (GSource *source)
{
  PipecomConnection *conn = ((PipecomConnectionSource *) source)->conn;
  HandleConnection *hc = HANDLE_CONNECTION (conn);

  return hc->rpoll.revents != 0 || hc->wpoll.revents != 0 ||
         (!hc->read_pending && can_read (conn));
}

static GSourceFuncs conn_source_funcs = {
  conn_source_prepare, conn_source_check, _pipecom_connection_source_dispatch, NULL, NULL, NULL,
};

/* Takes ownership of @handle, a connected duplex pipe handle opened for
 * overlapped I/O, and starts reading it in @context. */
PipecomConnection *
_pipecom_connection_new_handle (HANDLE                        handle,
                                gsize                         read_size,
                                guint64                       max_frame,
                                const PipecomConnectionFuncs *funcs,
                                gpointer                      user_data,
                                GMainContext                 *context)
{
  HandleConnection *hc = g_new0 (HandleConnection, 1);
  PipecomConnection *conn = &hc->core;

  _pipecom_connection_init (conn, read_size, max_frame, funcs, user_data);
  _pipecom_connection_new_source (conn, &conn_source_funcs);
  hc->handle = handle;
  hc->rov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  hc->wov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);

  hc->rpoll.fd = (gintptr) hc->rov.hEvent;
  hc->rpoll.events = G_IO_IN;
  hc->wpoll.fd = (gintptr) hc->wov.hEvent;
  hc->wpoll.events = G_IO_IN;
  g_source_add_poll (conn->source, &hc->rpoll);
  g_source_add_poll (conn->source, &hc->wpoll);
  g_source_attach (conn->source, context);

  return conn;
}

/* Writes one frame synchronously, waiting at most @timeout_ms. */
gboolean
_pipecom_win32_write_all_wait (HANDLE        h,
                               const guint8 *data,
                               gsize         len,
                               DWORD         timeout_ms,
                               DWORD        *code)
{
  OVERLAPPED ov = { 0, };
  gboolean ok = FALSE;
  DWORD n = 0;

  ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  *code = ERROR_SUCCESS;

  if (WriteFile (h, data, (DWORD) len, &n, &ov))
    ok = n == len;
  else if ((*code = GetLastError ()) == ERROR_IO_PENDING)
    {
      if (WaitForSingleObject (ov.hEvent, timeout_ms) != WAIT_OBJECT_0)
        {
          CancelIoEx (h, &ov);
          *code = WAIT_TIMEOUT;
          GetOverlappedResult (h, &ov, &n, TRUE);
        }
      else if (GetOverlappedResult (h, &ov, &n, FALSE))
        {
          ok = n == len;
          *code = ERROR_SUCCESS;
        }
      else
        *code = GetLastError ();
    }

  CloseHandle (ov.hEvent);
  return ok;
}

/* A connection's overlapped I/O is done by its source alone, in the
 * worker's or the listener's context. */
gboolean
_pipecom_transport_drives_directly (void)
{
  return FALSE;
}

/* Never driven directly (see above). */
gboolean
_pipecom_transport_sees_unwatched_hangup (void)
{
  return FALSE;
}

/* A Windows connection is dispatched from the moment it is made, in its
 * context (the global default one for %NULL): never made without one,
 * since _pipecom_transport_drives_directly() says so. */
void
_pipecom_connection_attach (PipecomConnection *conn,
                            GMainContext      *context)
{
  g_return_if_fail (g_source_get_context (conn->source) ==
                    (context != NULL ? context : g_main_context_default ()));
}

/* Waits on the events of the I/O in flight, for an owner that drives the
 * connection itself (unused by the library on Windows, see
 * _pipecom_transport_drives_directly()). */
gboolean
_pipecom_connection_wait (PipecomConnection *conn,
                          GCancellable      *cancellable,
                          gint64             until,
                          gint64             now,
                          GError           **error)
{
  HandleConnection *hc = HANDLE_CONNECTION (conn);
  GPollFD fds[3];
  GPollFD cancel_fd = { -1, 0, 0 };
  guint n_fds = 0, read_i = G_MAXUINT, write_i = G_MAXUINT;
  gint timeout = -1;
  gboolean ret = TRUE;

  /* No read in flight yet: start one, which may complete at once. */
  if (!hc->read_pending && can_read (conn))
    {
      _pipecom_connection_pump (conn);
      return TRUE;
    }

  if (until > 0)
    {
      if (now <= 0)
        now = g_get_monotonic_time ();
      timeout = (gint) MIN ((MAX (until - now, 0) + 999) / 1000, G_MAXINT);
    }

  if (hc->read_pending)
    {
      read_i = n_fds;
      fds[n_fds++] = (GPollFD) { (gintptr) hc->rov.hEvent, G_IO_IN, 0 };
    }
  if (hc->write_pending)
    {
      write_i = n_fds;
      fds[n_fds++] = (GPollFD) { (gintptr) hc->wov.hEvent, G_IO_IN, 0 };
    }
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd))
    {
      cancel_fd.events = G_IO_IN;
      fds[n_fds++] = cancel_fd;
    }

  if (g_poll (fds, n_fds, timeout) > 0)
    {
      if (cancel_fd.fd >= 0 && fds[n_fds - 1].revents != 0 &&
          g_cancellable_set_error_if_cancelled (cancellable, error))
        ret = FALSE;
      else
        {
          if (write_i != G_MAXUINT && fds[write_i].revents != 0)
            _pipecom_connection_flush (conn);
          if (read_i != G_MAXUINT && fds[read_i].revents != 0)
            _pipecom_connection_pump (conn);
        }
    }

  if (cancel_fd.fd >= 0)
    g_cancellable_release_fd (cancellable);

  return ret;
}

/* Large frame bodies come from the heap. */
guint8 *
_pipecom_connection_io_body_alloc (gsize size)
{
  return g_malloc (size);
}

guint8 *
_pipecom_connection_io_body_realloc (guint8 *body,
                                     gsize   old_size,
                                     gsize   new_size)
{
  return g_realloc (body, new_size);
}

void
_pipecom_connection_io_body_free (guint8 *body,
                                  gsize   size)
{
  g_free (body);
}

GBytes *
_pipecom_connection_io_body_to_bytes (guint8 *body,
                                      gsize   size)
{
  return g_bytes_new_take (body, size);
}
