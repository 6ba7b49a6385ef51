/* pipecom-connection-private.h: the connection core shared by the Unix and
 * Windows I/O
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <string.h>

#include "pipecom-transport.h"

G_BEGIN_DECLS

/* A connection is the core in pipecom-connection.c (the write queue and
 * its bound, the stall deadline, closing and the dispatch),
 * pipecom-connection-read.c (frame parsing and delivery) and
 * pipecom-connection-peer.c (who the peer is) plus the platform's I/O:
 * unix/pipecom-unix-io.c (a pair of non-blocking fds) or
 * win32/pipecom-win32-io.c (one overlapped pipe handle). The platform's
 * connection struct starts with a PipecomConnection; the core calls the
 * platform through the _pipecom_connection_io_*() functions below, which
 * each platform file defines (plain calls: there is only one platform in
 * a build). A connection is used from the thread that dispatches its
 * GMainContext only (but for what pipecom-connection-peer.c reads); its
 * refcount is atomic so that references may be dropped anywhere. */

/* A large frame's body is allocated in steps, doubling from this size. */
#define PIPECOM_BODY_CHUNK (1024 * 1024)

typedef struct
{
  GBytes *bytes;
  gsize   offset;
} PipecomChunk;

typedef struct
{
  GSource            source;
  PipecomConnection *conn;
} PipecomConnectionSource;

struct _PipecomConnection
{
  gatomicrefcount               ref_count;

  GSource                      *source;   /* (owned) (nullable) */

  const PipecomConnectionFuncs *funcs;
  gpointer                      user_data;
  guint64                       max_frame;

  guint8                       *rbuf;     /* (owned) (nullable) until the first read */
  gsize                         rcap;
  gsize                         rstart;
  gsize                         rend;

  guint8                       *body;     /* (owned) (nullable) large frame being read */
  gsize                         body_len;
  gsize                         body_cap;  /* allocated, grows as the body arrives */
  gsize                         body_have;
  guint8                        body_type;
  guint32                       body_id;

  guint64                       skip;

  guint8                       *small;    /* (owned) (nullable) spare buffer for small payloads */

  GQueue                        wqueue;   /* of PipecomChunk */

  GRecMutex                    *lock;     /* (nullable) held around each dispatch */

  /* Limits against stalled peers (listener side, see
   * _pipecom_connection_set_limits()); all 0 when unset. */
  gint64                        deadline;     /* µs */
  gsize                         max_queued;
  gsize                         wqueued;      /* bytes in wqueue */
  gint64                        read_since;   /* start of the read progress window */
  gint64                        write_since;  /* start of the write progress window */
  gsize                         min_progress; /* bytes each window must move */
  gsize                         read_moved;   /* bytes read in the window */
  gsize                         write_moved;  /* bytes written in the window */

  /* Listener side: the memory budget charged, idle connections. */
  PipecomBudget                *budget;       /* (owned) (nullable) */
  gsize                         charged;      /* bytes charged to it */
  gint64                        idle_timeout; /* µs, 0: none */
  gint64                        idle_since;   /* last activity */
  guint                         unanswered;   /* messages the owner has not answered */
  guint                         frames_in;    /* frames read, to see progress */
  guint                         owner_flags;  /* see _pipecom_connection_set_owner_flags() */
  GList                         owner_link;   /* see _pipecom_connection_get_owner_link() */
  char                         *open_path;    /* (nullable) see set_limits() */
  gint64                        open_until;

  /* Who the peer is (listener side), set at accept; see
   * _pipecom_connection_set_peer(). */
  PipecomPeerIdentity           peer;
  char                         *peer_sid;    /* (owned) (nullable) Windows */
  /* Held while working out the credentials and while the platform closes
   * the channel (so that a claimed pid is checked against an open file). */
  GMutex                        peer_lock;
  GCredentials                 *peer_credentials;  /* (owned) (nullable) under peer_lock */
  PipecomSenderFlags            peer_flags;        /* under peer_lock */
  gboolean                      peer_resolved;     /* under peer_lock */

  GError                       *error;    /* (owned) (nullable) */
  guint                         closed : 1;
  guint                         notify_pending : 1;
  guint                         notified : 1;
  guint                         reading_stopped : 1;
  guint                         close_when_flushed : 1;
  guint                         direct : 1;
  guint                         dispatching : 1;
  guint                         held : 1;
  guint                         idle_tracked : 1;
  guint                         read_to_eof : 1;
  guint                         small_kept : 1;  /* see deliver_small() */
  guint                         released : 1;    /* closed, and close_all() ran */
};

/* Whether nothing waits to be written: g_queue_is_empty() without the
 * call (GLib does not inline it), which the dispatch, the idle check and
 * every write make, several times per message. */
static inline gboolean
_pipecom_connection_wqueue_is_empty (PipecomConnection *conn)
{
  return conn->wqueue.head == NULL;
}

/* ---- The core, for the platform I/O ---- */

void      _pipecom_connection_init          (PipecomConnection            *conn,
                                             gsize                         read_size,
                                             guint64                       max_frame,
                                             const PipecomConnectionFuncs *funcs,
                                             gpointer                      user_data);
void      _pipecom_connection_new_source    (PipecomConnection            *conn,
                                             GSourceFuncs                 *source_funcs);
void      _pipecom_connection_arm           (PipecomConnection            *conn);
gboolean  _pipecom_connection_source_dispatch (GSource                    *source,
                                               GSourceFunc                 callback,
                                               gpointer                    user_data);
void      _pipecom_connection_fail          (PipecomConnection            *conn,
                                             GError                       *error);
void      _pipecom_connection_fail_timeout  (PipecomConnection            *conn,
                                             const char                   *what);
void      _pipecom_connection_received      (PipecomConnection            *conn,
                                             gsize                         n);
void      _pipecom_connection_eof           (PipecomConnection            *conn);
void      _pipecom_connection_wrote         (PipecomConnection            *conn,
                                             gsize                         n);
void      _pipecom_connection_write_closed  (PipecomConnection            *conn);

gboolean  _pipecom_connection_charge        (PipecomConnection            *conn,
                                             gsize                         n);
/* pipecom-connection-budget.c: charges @n more bytes of @conn to its
 * budget, dropping the connection that holds the most while over it
 * (@conn itself, then returning FALSE; @tell: it may say why, in an ERROR
 * frame answering message @id); gives @n bytes back. */
gboolean  _pipecom_connection_charge_full   (PipecomConnection            *conn,
                                             gsize                         n,
                                             gboolean                      tell,
                                             guint32                       id);
void      _pipecom_connection_uncharge      (PipecomConnection            *conn,
                                             gsize                         n);
void      _pipecom_connection_grow_body     (PipecomConnection            *conn,
                                             gsize                         cap);
/* pipecom-connection-read.c: the read buffer of @size bytes, made on the
 * first read, and freed with the connection (any thread). */
guint8   *_pipecom_connection_rbuf_alloc    (gsize                         size);
void      _pipecom_connection_rbuf_free     (guint8                       *rbuf,
                                             gsize                         size);

/* Where the next read goes, and how much room there is: the rest of a large
 * frame's body (grown as its bytes arrive, as the memory budget allows),
 * else the read buffer. Report what was read with
 * _pipecom_connection_received(). Returns %NULL when growing the body
 * exceeded the budget and dropped the connection. */
static inline guint8 *
_pipecom_connection_read_buffer (PipecomConnection *conn,
                                 gsize             *room)
{
  if (conn->body != NULL)
    {
      if (conn->body_have == conn->body_cap)
        {
          gsize cap = MIN (conn->body_len, conn->body_cap * 2);

          if (conn->budget != NULL && !_pipecom_connection_charge (conn, cap - conn->body_cap))
            {
              *room = 0;
              return NULL;  /* the connection was dropped */
            }
          _pipecom_connection_grow_body (conn, cap);
        }
      *room = conn->body_cap - conn->body_have;
      return conn->body + conn->body_have;
    }

  if (G_UNLIKELY (conn->rbuf == NULL))
    conn->rbuf = _pipecom_connection_rbuf_alloc (conn->rcap);

  if (conn->rstart > 0 && conn->rcap - conn->rend < conn->rcap / 4)
    {
      memmove (conn->rbuf, conn->rbuf + conn->rstart, conn->rend - conn->rstart);
      conn->rend -= conn->rstart;
      conn->rstart = 0;
    }

  *room = conn->rcap - conn->rend;
  return conn->rbuf + conn->rend;
}

/* Where the next frame's header may be read in the same call as the rest
 * of a large frame's body, once that body is allocated in full (see
 * _pipecom_connection_read_buffer()): a place in the read buffer for one
 * header, or %NULL. Only the header: a frame after a large one is often
 * large too, and its body is then read straight into its own allocation,
 * never copied out of the read buffer. _pipecom_connection_received()
 * takes the bytes read into both. */
static inline guint8 *
_pipecom_connection_read_buffer_next (PipecomConnection *conn,
                                      gsize             *room)
{
  if (conn->body == NULL || conn->body_cap != conn->body_len || conn->rbuf == NULL ||
      conn->rcap - conn->rend < PIPECOM_FRAME_HEADER_SIZE)
    {
      *room = 0;
      return NULL;
    }

  *room = PIPECOM_FRAME_HEADER_SIZE;
  return conn->rbuf + conn->rend;
}

/* ---- The platform I/O, for the core ---- */

/* Reads what there is (pump and dispatch). */
void      _pipecom_connection_io_read       (PipecomConnection *conn);
/* Writes what the queue holds, as far as it goes. */
void      _pipecom_connection_io_flush      (PipecomConnection *conn);
/* The source is ready: flushes and reads as its readiness says. Returns
 * whether it read. */
gboolean  _pipecom_connection_io_dispatch   (PipecomConnection *conn);
/* Whether there is anything to write to. */
gboolean  _pipecom_connection_io_can_write  (PipecomConnection *conn);
/* Writes a frame at once if it can (nothing queued): returns how many of
 * its bytes went out, or -1 after failing the connection. */
gssize    _pipecom_connection_io_write_now  (PipecomConnection *conn,
                                             const guint8      *header,
                                             const guint8      *data,
                                             gsize              len);
/* Bytes were queued: have them written. */
void      _pipecom_connection_io_queued     (PipecomConnection *conn);
/* A frame of @frame_len bytes is arriving (in several reads). */
void      _pipecom_connection_io_frame_coming (PipecomConnection *conn,
                                               gsize              frame_len);
/* What the source watches changed (direct, held). */
void      _pipecom_connection_io_update_interest (PipecomConnection *conn);
void      _pipecom_connection_io_stop_reading (PipecomConnection *conn);
/* The open deadline of _pipecom_connection_set_limits() passed. */
void      _pipecom_connection_io_check_open (PipecomConnection *conn);
/* Releases the fds or handle (the I/O in flight has completed on return). */
void      _pipecom_connection_io_close      (PipecomConnection *conn);
/* Frees what remains, just before the connection is. */
void      _pipecom_connection_io_finalize   (PipecomConnection *conn);
/* The memory of a large frame's body (any thread): @size bytes, grown to
 * @new_size keeping its bytes, freed, or handed over whole as a GBytes. */
guint8   *_pipecom_connection_io_body_alloc   (gsize              size);
guint8   *_pipecom_connection_io_body_realloc (guint8            *body,
                                               gsize              old_size,
                                               gsize              new_size);
void      _pipecom_connection_io_body_free    (guint8            *body,
                                               gsize              size);
GBytes   *_pipecom_connection_io_body_to_bytes (guint8           *body,
                                                gsize             size);

G_END_DECLS
