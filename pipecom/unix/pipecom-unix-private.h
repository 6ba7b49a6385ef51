/* pipecom-unix-private.h: what the files of the Unix transport share
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pipecom-transport.h"

G_BEGIN_DECLS

/* The Unix side of pipecom-transport.h, by role: pipecom-unix-names.c
 * (names, the user's pipe directory, FIFO checks), pipecom-unix-channel.c
 * (channel directories of shared pipes, lock files), pipecom-unix-listen.c
 * (the well-known FIFO, announcements, accepting a peer),
 * pipecom-unix-listen-channel.c (checking and opening a peer's channel),
 * pipecom-unix-dial.c (announcing a sender's channel),
 * pipecom-unix-dial-channel.c (making and removing a sender's channel files),
 * pipecom-unix-io.c (a connection's two non-blocking fds) and
 * pipecom-unix-credentials.c (who the sender is, allowed-users).
 *
 * Threads and main contexts: the functions below work on paths and file
 * descriptors only, keep no state and may be called from any thread; they
 * run no callback. Each intake, dial and connection is used as
 * pipecom-transport.h says (its owning thread, its main context): so are
 * those of pipecom-unix-listen-channel.c, which take an intake or a peer
 * and may call its funcs->reclaim. The test hooks are called in the
 * thread that dials. */

#ifndef O_CLOEXEC
# define O_CLOEXEC 0
#endif

/* A descriptor of a directory that files are made and opened in with
 * mkfifoat() and openat(): O_SEARCH (POSIX: macOS, the BSDs) needs no read
 * permission, which senders lack on a shared pipe's channel directory.
 * Linux's C library has no O_SEARCH but O_PATH, which does the same for
 * these calls: it stands in for O_SEARCH, in a -Dlinux_specific=false
 * build too, so that the portable build takes the branch macOS takes.
 * Only systems with neither fall back to O_RDONLY, where senders of other
 * users cannot open a channel directory (see README, "Platforms"). */
#if defined(O_SEARCH)
# define DIR_FD_FLAGS (O_SEARCH | O_DIRECTORY | O_CLOEXEC)
#elif defined(O_PATH)
# define DIR_FD_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)
#else
# define DIR_FD_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#endif

/* A shared pipe's channels: PATH.d/.s<32 hex> (see pipecom-unix-channel.c). */
#define SHARED_CHANNEL_PREFIX ".s"
#define SHARED_CHANNEL_HEX    32

/* A private channel's name in the user's pipe directory, and its longest
 * length: pid, counter, random. */
#define PRIVATE_CHANNEL_FORMAT ".c%d-%u-%08x"
#define PRIVATE_CHANNEL_MAX    (2 + 11 + 1 + 10 + 1 + 8)

/* ---- pipecom-unix-names.c ---- */

void      _pipecom_set_error_from_errno (GError     **error,
                                         int          saved_errno,
                                         const char  *what,
                                         const char  *path);
int       _pipecom_transport_open_fifo  (const char  *path,
                                         int          flags,
                                         int         *saved_errno);
gboolean  _pipecom_fd_is_own_fifo       (int          fd);
char       *_pipecom_unix_user_pipe_dir      (GError **error);
const char *_pipecom_unix_user_pipe_dir_path (void);
int _pipecom_unix_reopen_fifo_at (int                dfd,
                                  const char        *name,
                                  int                flags,
                                  const struct stat *made,
                                  int               *saved_errno);
int _pipecom_unix_make_fifo_at (int          dfd,
                                const char  *name,
                                int          flags,
                                mode_t       mode,
                                uid_t        euid,
                                gboolean     dir_private,
                                struct stat *made,
                                int         *saved_errno);

/* ---- pipecom-unix-channel.c ---- */

char *_pipecom_unix_channel_dir_path (const char *path);
gboolean _pipecom_unix_dir_is_owned_by (const char *dir,
                                        uid_t       uid);
gboolean _pipecom_unix_is_channel_dir (const char *chandir,
                                       uid_t       uid);
gboolean _pipecom_unix_is_shared_channel_name (const char *name);
gboolean _pipecom_unix_random_hex (char  *out,
                                   gsize  n_bytes);
void _pipecom_unix_remove_channel_dir (const char *chandir);
gboolean _pipecom_unix_make_channel_dir (const char     *chandir,
                                         PipecomAccess   access,
                                         GError        **error);
gboolean _pipecom_unix_check_shareable (const char     *name,
                                        const char     *path,
                                        PipecomAccess   access,
                                        GError        **error);
gboolean _pipecom_unix_check_existing (int          dfd,
                                       const char  *name,
                                       const char  *path,
                                       gboolean     want_fifo,
                                       gboolean    *exists,
                                       GError     **error);
int _pipecom_unix_take_lock (const char  *name,
                             int          dfd,
                             const char  *lock_name,
                             const char  *lock_path,
                             GError     **error);
int _pipecom_unix_open_private_dir (const char   *dir,
                                    struct stat  *st,
                                    GError      **error);

/* ---- pipecom-unix-listen.c ---- */

/* How many truncated announcement records listeners dropped (for tests). */
extern gint   _pipecom_truncated_records;

/* An intake and the peers it reports (see pipecom-transport.h), shared
 * with pipecom-unix-listen-channel.c. */
struct _PipecomIntake
{
  char                     *name;
  char                     *path;
  guint                     buffer_size;
  const PipecomIntakeFuncs *funcs;
  gpointer                  user_data;
  int                       fifo_fd;
  int                       keep_fd;
  int                       lock_fd;
  int                       spare_fd; /* reserved for refusing at EMFILE */
  char                     *chandir;  /* (nullable) a shared pipe's channel directory */
  int                       chandir_fd;
  char                     *privdir;  /* (nullable) a private pipe's: our pipe directory */
  int                       privdir_fd;
  dev_t                     dir_dev;  /* of chandir or privdir */
  ino_t                     dir_ino;
  GSource                  *source;   /* (owned) (nullable) */
  rlim_t                    nofile;      /* RLIMIT_NOFILE's soft limit, as last read */
  gint64                    nofile_read; /* when (monotonic µs), 0: to be read */
  gboolean                  in_records;
  gboolean                  closing;
  guint8                    abuf[2 * PIPECOM_ANNOUNCE_MAX + 4096];
  gsize                     alen;
};

struct _PipecomPeer
{
  PipecomIntake *intake;
  const char    *base;
  gsize          base_len;
  const char    *leaf;      /* the channel's name: the end of base */
};

/* ---- pipecom-unix-listen-channel.c ---- */

/* The channel a peer's announcement names, for pipecom-unix-listen.c: its
 * leaf if the listener may open it, opened (checked before and after), and
 * descriptors kept free for the next senders (funcs->reclaim). */
const char *_pipecom_unix_channel_leaf            (PipecomIntake *intake,
                                                   const char    *base);
int         _pipecom_unix_open_channel            (PipecomIntake *intake,
                                                   const char    *leaf,
                                                   int            flags,
                                                   struct stat   *opened,
                                                   int           *saved_errno);
int         _pipecom_unix_open_channel_reclaiming (PipecomPeer   *peer,
                                                   const char    *leaf,
                                                   int            flags,
                                                   struct stat   *opened,
                                                   int           *saved_errno);
void        _pipecom_unix_keep_fd_headroom        (PipecomIntake *intake,
                                                   int            fd);

/* ---- pipecom-unix-dial-channel.c ---- */

/* Room for a channel's BASE, or its leaf, of at most
 * PIPECOM_ANNOUNCE_BASE_MAX bytes, with ".rep" or ".req". */
#define CHANNEL_FILE_NAME_SIZE (PIPECOM_ANNOUNCE_BASE_MAX + sizeof ".rep")

/* Puts @base (at most PIPECOM_ANNOUNCE_BASE_MAX bytes long, @len) and
 * @suffix (".rep" or ".req") in @buf, of CHANNEL_FILE_NAME_SIZE bytes, and
 * returns it. */
char     *_pipecom_unix_channel_file_name   (char         *buf,
                                             const char   *base,
                                             gsize         len,
                                             const char   *suffix);
/* A channel in our own pipe directory, or in the channel directory
 * @chandir of a shared pipe of @owner: its BASE (the path without the
 * suffix) and its length in @base_len, its directory's descriptor in
 * @dir_fd and the reply FIFO opened for reading in @rep_fd; what BASE.req
 * is goes to @req_made. */
char     *_pipecom_unix_new_private_channel (gboolean      with_req,
                                             uid_t         euid,
                                             int          *dir_fd,
                                             int          *rep_fd,
                                             struct stat  *req_made,
                                             char         *buf,
                                             gsize         buf_size,
                                             gsize        *base_len,
                                             GError      **error);
char     *_pipecom_unix_new_shared_channel  (const char   *chandir,
                                             uid_t         owner,
                                             gboolean      everyone,
                                             gboolean      with_req,
                                             uid_t         euid,
                                             int          *dir_fd,
                                             int          *rep_fd,
                                             struct stat  *req_made,
                                             gsize        *base_len,
                                             GError      **error);
/* Removes BASE.rep, and BASE.req if @with_req, for a @base of @len bytes. */
void      _pipecom_unix_remove_channel      (const char   *base,
                                             gsize         len,
                                             gboolean      with_req);
/* A client's private channel (also used by tests). */
char     *_pipecom_transport_new_channel    (gboolean      with_req,
                                             int          *rep_fd,
                                             GError      **error);
void      _pipecom_transport_remove_channel (const char   *base);

/* ---- pipecom-unix-dial.c ---- */

/* Called, if set, by a sender right after it opened a pipe's FIFO, with
 * its path (for tests: a listener removing it then). */
extern void (*_pipecom_opened_pipe_fifo_hook) (const char *path);

/* ---- pipecom-unix-io.c ---- */

PipecomConnection *_pipecom_connection_new         (int                           in_fd,
                                                    int                           out_fd,
                                                    gsize                         read_size,
                                                    guint64                       max_frame,
                                                    const PipecomConnectionFuncs *funcs,
                                                    gpointer                      user_data,
                                                    GMainContext                 *context);
void               _pipecom_connection_set_out_fd  (PipecomConnection *conn,
                                                    int                out_fd);
void               _pipecom_connection_get_poll_fds (PipecomConnection *conn,
                                                     int               *in_fd,
                                                     int               *out_fd);
gboolean           _pipecom_connection_holds_channel (PipecomConnection *conn);

/* ---- pipecom-unix-credentials.c ---- */

/* The pid a channel's leaf name claims (.c<pid>-…, or the first 8 hex
 * digits of .s<32 hex>), -1 if none. Pure. */
gint64    _pipecom_unix_channel_claimed_pid (const char *leaf);

G_END_DECLS
