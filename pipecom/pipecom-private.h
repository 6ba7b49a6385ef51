/* pipecom-private.h: internal interfaces shared by the library's units
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "pipecom.h"
#include "pipecom-protocol.h"

G_BEGIN_DECLS

/* What a listener allows each connection (docs/protocol.md, "Limits"):
 * a partial frame or a queue of replies must move PIPECOM_MIN_PROGRESS_BYTES
 * (or be done) every PIPECOM_CONNECTION_DEADLINE_USEC, or the peer is
 * dropped; so is one that does not read its replies once
 * PIPECOM_MAX_QUEUED_BYTES wait to be written. The variables hold the
 * values in force; only tests change them. */
#define PIPECOM_CONNECTION_DEADLINE_USEC (30 * G_USEC_PER_SEC)
#define PIPECOM_MIN_PROGRESS_BYTES       (64 * 1024)
#define PIPECOM_MAX_QUEUED_BYTES         (16 * 1024 * 1024)

extern gint64 _pipecom_connection_deadline_usec;
extern gsize  _pipecom_min_progress_bytes;
extern gsize  _pipecom_max_queued_bytes;

/* Defaults of PipecomPipe:memory-budget and PipecomPipe:idle-timeout. */
#define PIPECOM_DEFAULT_MEMORY_BUDGET    (G_GUINT64_CONSTANT (256) * 1024 * 1024)
#define PIPECOM_DEFAULT_IDLE_TIMEOUT     300

/* A listener's memory budget: the bytes of incoming partial frames and of
 * queued, unwritten replies of all its connections together (see
 * pipecom-connection-core.c). A charge that would exceed it drops the
 * connection holding the most, the charging one only if it is that one.
 * The connections charging one budget must all be dispatched by one
 * thread (a listener's serving thread); the counters may be read from any. */
typedef struct _PipecomBudget PipecomBudget;

PipecomBudget *_pipecom_budget_new      (guint64        limit);
PipecomBudget *_pipecom_budget_ref      (PipecomBudget *budget);
void           _pipecom_budget_unref    (PipecomBudget *budget);
guint64        _pipecom_budget_get_used (PipecomBudget *budget);
guint64        _pipecom_budget_get_peak (PipecomBudget *budget);

/* The most the budget of @pipe's current (or last) listening session held
 * at once (for tests). */
guint64        _pipecom_pipe_get_memory_peak (PipecomPipe *pipe);
#ifdef G_OS_UNIX
/* How many truncated announcement records listeners dropped (for tests). */
extern gint   _pipecom_truncated_records;
/* Called, if set, by a sender right after it opened a pipe's FIFO, with
 * its path (for tests: a listener removing it then). */
extern void (*_pipecom_opened_pipe_fifo_hook) (const char *path);
#endif

/* How long a stopping listener waits for pending replies and forwards. */
#define PIPECOM_STOP_GRACE_USEC (5 * G_USEC_PER_SEC)

void      _pipecom_init_once            (void);

/* ---- Transport: names, listening, connecting ----
 *
 * Implemented by pipecom-transport-unix.c (FIFOs) or
 * pipecom-transport-win32.c (named pipes). The rest of the library only
 * sees these functions and #PipecomConnection. */

typedef struct _PipecomConnection PipecomConnection;
typedef struct _PipecomConnectionFuncs PipecomConnectionFuncs;

char     *_pipecom_transport_resolve    (const char  *name,
                                         GError     **error);
gsize     _pipecom_transport_max_base_len (const char *name,
                                           const char *path);

/* Listening side: an intake reports each announced sender (a peer) to
 * funcs->announce, which accepts or refuses it before returning. */
typedef struct _PipecomIntake PipecomIntake;
typedef struct _PipecomPeer PipecomPeer;

typedef struct
{
  void (*announce) (PipecomPeer         *peer,
                    guint8               version,
                    PipecomAnnounceKind  kind,
                    const guint8        *inline_data,
                    gsize                inline_len,
                    gpointer             user_data);
  void (*failed)   (GError              *error,
                    gpointer             user_data);
  /* Out of file descriptors, or about to be: close the longest-idle
   * connection, if any, and return whether one was. May be NULL. */
  gboolean (*reclaim) (gpointer          user_data);
} PipecomIntakeFuncs;

PipecomIntake     *_pipecom_intake_new       (const char               *name,
                                              const char               *path,
                                              guint                     buffer_size,
                                              PipecomAccess             access,
                                              const PipecomIntakeFuncs *funcs,
                                              gpointer                  user_data,
                                              GError                  **error);
void               _pipecom_intake_start     (PipecomIntake            *intake,
                                              GMainContext             *context);
void               _pipecom_intake_unpublish (PipecomIntake            *intake);
void               _pipecom_intake_close     (PipecomIntake            *intake);
void               _pipecom_intake_free      (PipecomIntake            *intake);
PipecomConnection *_pipecom_peer_accept      (PipecomPeer              *peer,
                                              PipecomAnnounceKind       kind,
                                              guint                     buffer_size,
                                              guint64                   max_frame,
                                              const PipecomConnectionFuncs *funcs,
                                              gpointer                  user_data,
                                              GMainContext             *context);
void               _pipecom_peer_refuse      (PipecomPeer              *peer,
                                              PipecomError              code,
                                              const char               *text);

/* Connecting side: one dial per connection attempt sequence. */
typedef struct _PipecomDial PipecomDial;

typedef enum
{
  PIPECOM_DIAL_ANNOUNCED,
  PIPECOM_DIAL_ABSENT,
  PIPECOM_DIAL_BUSY,
  PIPECOM_DIAL_FAILED,
} PipecomDialResult;

PipecomDial       *_pipecom_dial_new         (const char               *name,
                                              const char               *path,
                                              gboolean                  duplex);
PipecomDialResult  _pipecom_dial_attempt     (PipecomDial              *dial,
                                              PipecomAnnounceKind       kind,
                                              const guint8             *inline_data,
                                              gsize                     inline_len,
                                              PipecomConnection       **conn,
                                              const PipecomConnectionFuncs *funcs,
                                              gpointer                  user_data,
                                              GMainContext             *context,
                                              GError                  **error);
gboolean           _pipecom_dial_lost        (PipecomDial              *dial,
                                              PipecomConnection        *conn);
void               _pipecom_dial_reset       (PipecomDial              *dial);
gboolean           _pipecom_dial_established (PipecomDial              *dial,
                                              PipecomConnection        *conn,
                                              GError                  **error);
void               _pipecom_dial_free        (PipecomDial              *dial);

#ifdef G_OS_WIN32
PipecomError _pipecom_error_code_from_win32 (guint32   code,
                                             gboolean  creating);
#endif

#ifdef G_OS_UNIX
int       _pipecom_transport_open_fifo  (const char  *path,
                                         int          flags,
                                         int         *saved_errno);
gboolean  _pipecom_fd_is_own_fifo       (int          fd);
/* A client's private channel (also used by tests). */
char     *_pipecom_transport_new_channel (gboolean    with_req,
                                          int        *rep_fd,
                                          GError    **error);
void      _pipecom_transport_remove_channel (const char *base);
void      _pipecom_set_error_from_errno (GError     **error,
                                         int          saved_errno,
                                         const char  *what,
                                         const char  *path);
#endif

/* ---- In-process registry of listeners (same-thread sync sends) ---- */

void          _pipecom_registry_add     (const char   *path,
                                         GMainContext *context);
void          _pipecom_registry_remove  (const char   *path);
GMainContext *_pipecom_registry_lookup  (const char   *path);

/* ---- Framed connection: over a pair of non-blocking fds on Unix
 * (pipecom-connection.c), over one overlapped pipe handle on Windows
 * (pipecom-connection-win32.c) ---- */

struct _PipecomConnectionFuncs
{
  void (*frame)    (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    GBytes            *payload,
                    gpointer           user_data);
  void (*oversize) (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    guint64            length,
                    gpointer           user_data);
  void (*closed)   (PipecomConnection *conn,
                    const GError      *error,
                    gpointer           user_data);
};

#ifdef G_OS_UNIX
PipecomConnection *_pipecom_connection_new         (int                           in_fd,
                                                    int                           out_fd,
                                                    gsize                         read_size,
                                                    guint64                       max_frame,
                                                    const PipecomConnectionFuncs *funcs,
                                                    gpointer                      user_data,
                                                    GMainContext                 *context);
void               _pipecom_connection_attach      (PipecomConnection *conn,
                                                    GMainContext      *context);
void               _pipecom_connection_set_out_fd  (PipecomConnection *conn,
                                                    int                out_fd);
void               _pipecom_connection_get_poll_fds (PipecomConnection *conn,
                                                     int               *in_fd,
                                                     int               *out_fd);
#endif
#ifdef G_OS_WIN32
PipecomConnection *_pipecom_connection_new_handle  (gpointer                      handle,
                                                    gsize                         read_size,
                                                    guint64                       max_frame,
                                                    const PipecomConnectionFuncs *funcs,
                                                    gpointer                      user_data,
                                                    GMainContext                 *context);
#endif
PipecomConnection *_pipecom_connection_ref         (PipecomConnection *conn);
void               _pipecom_connection_unref       (PipecomConnection *conn);
gboolean           _pipecom_connection_send        (PipecomConnection *conn,
                                                    guint8             type,
                                                    guint32            id,
                                                    GBytes            *payload);
gboolean           _pipecom_connection_send_data   (PipecomConnection *conn,
                                                    guint8             type,
                                                    guint32            id,
                                                    const void        *data,
                                                    gsize              len);
void               _pipecom_connection_pump        (PipecomConnection *conn);
void               _pipecom_connection_set_limits  (PipecomConnection *conn,
                                                    gint64             deadline,
                                                    gsize              max_queued,
                                                    const char        *open_path);
void               _pipecom_connection_set_budget  (PipecomConnection *conn,
                                                    PipecomBudget     *budget);
void               _pipecom_connection_set_idle_timeout (PipecomConnection *conn,
                                                         gint64             timeout);
void               _pipecom_connection_add_unanswered (PipecomConnection *conn,
                                                       gint               delta);
gint64             _pipecom_connection_get_idle_since (PipecomConnection *conn);
void               _pipecom_connection_say_goodbye (PipecomConnection *conn,
                                                    char              *text);

/* For tests only: when set, called by a listener's connection at idle
 * expiry, after its last read and before its goodbye, in the thread that
 * dispatches it. */
extern void (*_pipecom_idle_goodbye_hook) (PipecomConnection *conn);
void               _pipecom_connection_set_read_to_eof (PipecomConnection *conn);
void               _pipecom_connection_set_lock    (PipecomConnection *conn,
                                                    GRecMutex         *lock);
void               _pipecom_connection_flush       (PipecomConnection *conn);
void               _pipecom_connection_set_direct  (PipecomConnection *conn,
                                                    gboolean           direct);
void               _pipecom_connection_set_peer_uid (PipecomConnection *conn,
                                                     gint64             uid);
gint64             _pipecom_connection_get_peer_uid (PipecomConnection *conn);
gboolean           _pipecom_connection_is_closed   (PipecomConnection *conn);
void               _pipecom_connection_stop_reading (PipecomConnection *conn);
void               _pipecom_connection_close_when_flushed (PipecomConnection *conn);
gboolean           _pipecom_connection_is_flushed  (PipecomConnection *conn);
void               _pipecom_connection_close       (PipecomConnection *conn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PipecomConnection, _pipecom_connection_unref)

/* ---- The worker thread that runs client I/O ---- */

GMainContext *_pipecom_worker_ref       (void);
void          _pipecom_worker_unref     (void);

/* ---- Sync-over-async helper ---- */

typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
  gboolean      pushed;
} PipecomSyncWait;

void          _pipecom_sync_wait_begin  (PipecomSyncWait *wait,
                                         const char      *target_path);
void          _pipecom_sync_wait_run    (PipecomSyncWait *wait);
void          _pipecom_sync_wait_end    (PipecomSyncWait *wait);
gboolean      _pipecom_registry_is_served_here (const char *target_path);
void          _pipecom_sync_wait_cb     (GObject         *object,
                                         GAsyncResult    *result,
                                         gpointer         user_data);

/* A reply as a string, cut at its first NUL byte if any. Any thread. */
static inline char *
_pipecom_bytes_to_string (GBytes *bytes)
{
  gsize size;
  const char *data;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  return g_strndup (data ? data : "", size);
}

G_END_DECLS
