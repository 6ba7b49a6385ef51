/* test-credentials.c: who sent a message, and refusing senders
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
# include <sys/syscall.h>
#endif

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-private.h"
#include "unix/pipecom-unix-private.h"

/* What the handler saw of the last message's sender. */
typedef struct
{
  GMutex             lock;
  guint              count;
  gint64             uid;
  gint64             pid;
  gboolean           pid_error;
  PipecomSenderFlags flags;
  gboolean           had_credentials;
} Sender;

static void
sender_init (Sender *s)
{
  memset (s, 0, sizeof *s);
  g_mutex_init (&s->lock);
}

static void
sender_clear (Sender *s)
{
  g_mutex_clear (&s->lock);
}

static guint
sender_count (Sender *s)
{
  guint n;

  g_mutex_lock (&s->lock);
  n = s->count;
  g_mutex_unlock (&s->lock);
  return n;
}

static char *
record_sender_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  Sender *s = user_data;
  GCredentials *credentials = pipecom_message_get_credentials (message);
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&s->lock);
  s->flags = pipecom_message_get_sender_verified (message);
  s->had_credentials = credentials != NULL;
  s->uid = s->pid = -2;
  s->pid_error = FALSE;
  if (credentials != NULL)
    {
      s->uid = g_credentials_get_unix_user (credentials, &error);
      g_assert_no_error (error);
      s->pid = g_credentials_get_unix_pid (credentials, &error);
      s->pid_error = error != NULL;
    }
  /* Asking twice gives the cached answer. */
  g_assert_true (pipecom_message_get_credentials (message) == credentials);
  g_assert_cmpint (pipecom_message_get_sender_verified (message), ==, s->flags);
  g_assert_null (pipecom_message_get_sender_sid (message));
  if (credentials != NULL)
    g_assert_null (pipecom_credentials_get_sid (credentials));
  s->count++;
  g_mutex_unlock (&s->lock);

  return g_strdup ("ok");
}

static void
assert_sender (Sender             *s,
               guint               count,
               gint64              uid,
               gint64              pid,
               PipecomSenderFlags  flags)
{
#ifndef PIPECOM_LINUX_SPECIFIC
  /* Built without /proc (-Dlinux_specific=false, as on macOS): a pid is
   * never verified. */
  pid = -1;
  flags &= ~PIPECOM_SENDER_PROCESS;
#endif

  g_mutex_lock (&s->lock);
  g_assert_cmpuint (s->count, ==, count);
  g_assert_true (s->had_credentials);
  g_assert_cmpint (s->uid, ==, uid);
  g_assert_cmpint (s->pid, ==, pid);
  if (pid > 0)
    g_assert_false (s->pid_error);
  g_assert_cmpint (s->flags, ==, flags);
  g_mutex_unlock (&s->lock);
}

static void
test_same_user_in_process (void)
{
  g_autofree char *name = pipecom_test_make_name ("creds-self");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  Sender s;

  g_test_summary ("A message sent by this process (one-shot direct and worker paths, and a "
                  "persistent client) carries the process's uid and pid, both verified");

  sender_init (&s);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (record_sender_cb), &s);

  /* One-shot, direct path (this thread does the exchange). */
  g_assert_true (pipecom_send (name, "one", 10, 0, &error));
  g_assert_no_error (error);
  assert_sender (&s, 1, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);

  /* One-shot through the worker. */
  g_assert_true (pipecom_test_send (name, "two", 10, 0, &error));
  g_assert_no_error (error);
  assert_sender (&s, 2, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);

  /* A message too large to go inline: CONNECT, then a MESSAGE frame. */
  {
    g_autofree char *big = g_strnfill (4000, 'x');

    reply = pipecom_request (name, big, 10, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (reply, ==, "ok");
    g_clear_pointer (&reply, g_free);
    assert_sender (&s, 3, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
  }

  /* A persistent client, synchronous and asynchronous. */
  client = pipecom_client_new (name);
  reply = pipecom_client_request (client, "three", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ok");
  g_clear_pointer (&reply, g_free);
  assert_sender (&s, 4, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
  {
    PipecomTestResult result = { 0, };

    pipecom_client_request_async (client, "four", NULL, pipecom_test_request_cb, &result);
    pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
    g_assert_no_error (result.error);
    g_assert_cmpstr (result.text, ==, "ok");
    pipecom_test_result_clear (&result);
  }
  assert_sender (&s, 5, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  sender_clear (&s);
}

static void
test_same_user_child (void)
{
  g_autofree char *name = pipecom_test_make_name ("creds-child");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomTestChild) child = NULL;
  GPid child_pid;
  Sender s;

  g_test_summary ("A message sent by another process of the user carries that process's pid, "
                  "verified through /proc on Linux");

  sender_init (&s);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (record_sender_cb), &s);

  child = pipecom_test_child_spawn ("--child-send", name, "hello", NULL);
  child_pid = pipecom_test_child_get_pid (child);
  pipecom_test_wait_for (sender_count (&s) == 1, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);

#ifdef __linux__
  assert_sender (&s, 1, getuid (), child_pid,
                 PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
#else
  assert_sender (&s, 1, getuid (), -1, PIPECOM_SENDER_USER);
#endif

  pipecom_test_stop_and_wait (pipe);
  sender_clear (&s);
}

static void
test_same_user_shared (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("pipecom-creds-XXXXXX", &error);
  g_autofree char *path = g_build_filename (tmp, "shared", NULL);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomTestChild) child = NULL;
  GPid child_pid;
  Sender s;

  g_test_summary ("On a shared pipe, the channel's name carries the sender's pid in its first "
                  "8 hex digits, verified like a private channel's");

  g_assert_no_error (error);
  sender_init (&s);
  pipe = pipecom_pipe_new (path);
  pipecom_pipe_set_access (pipe, PIPECOM_ACCESS_EVERYONE);
  g_signal_connect (pipe, "message-received", G_CALLBACK (record_sender_cb), &s);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  child = pipecom_test_child_spawn ("--child-send", path, "hello", NULL);
  child_pid = pipecom_test_child_get_pid (child);
  pipecom_test_wait_for (sender_count (&s) == 1, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
#ifdef __linux__
  assert_sender (&s, 1, getuid (), child_pid, PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
#else
  assert_sender (&s, 1, getuid (), -1, PIPECOM_SENDER_USER);
#endif

  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
  sender_clear (&s);
}

static void
test_claimed_pid (void)
{
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".c1234-5-0badcafe"), ==, 1234);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".c0-5-0badcafe"), ==, -1);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".c99999999999-5-0badcafe"), ==, -1);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".s000004d2" "0123456789abcdef01234567"), ==, 1234);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".s00000000" "0123456789abcdef01234567"), ==, -1);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid (".sffffffff" "0123456789abcdef01234567"), ==, -1);
  g_assert_cmpint (_pipecom_unix_channel_claimed_pid ("other"), ==, -1);
}

/* ------------------------------------------------------------------------ */
/* A raw peer, written from docs/protocol.md, that claims a pid              */
/* ------------------------------------------------------------------------ */

static void
put_u16 (guint8 *p,
         gsize   v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

/* Reads one frame from @fd within 20 s: its type and, for an ERROR, its
 * code. */
static guint8
read_frame (int      fd,
            guint32 *error_code)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint8 buf[12 + 4096];
  gsize got = 0, want = 12;

  while (got < want)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      ssize_t n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (poll (&pfd, 1, 100) <= 0)
        continue;
      n = read (fd, buf + got, want - got);
      g_assert_cmpint (n, !=, 0);  /* EOF */
      if (n < 0)
        {
          g_assert_true (errno == EAGAIN || errno == EINTR);
          continue;
        }
      got += n;
      if (got == 12)
        {
          guint32 len = buf[0] | buf[1] << 8 | buf[2] << 16 | (guint32) buf[3] << 24;

          g_assert_cmpuint (len, <=, sizeof buf - 12);
          want = 12 + len;
        }
    }

  if (error_code != NULL && buf[4] == 5 && want >= 16)
    *error_code = buf[12] | buf[13] << 8 | buf[14] << 16 | (guint32) buf[15] << 24;
  return buf[4];
}

/* Announces a ONESHOT message on a private channel whose name claims
 * @claimed_pid, as a peer following docs/protocol.md would, and reads the
 * HELLO and the REPLY. */
static void
raw_oneshot (const char *fifo_path,
             int         claimed_pid)
{
  static guint counter = 0;
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *base = g_strdup_printf ("%s/.c%d-%u-%08x", dir, claimed_pid,
                                           2000000 + counter++, g_random_int ());
  g_autofree char *rep = g_strconcat (base, ".rep", NULL);
  const char *message = "claim";
  guint8 record[512];
  gsize plen = strlen (base), mlen = strlen (message), total = 12 + plen + mlen;
  int rep_fd, fd;

  g_assert_cmpuint (total, <=, sizeof record);
  g_assert_cmpint (mkfifo (rep, 0600), ==, 0);
  rep_fd = open (rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (rep_fd, >=, 0);

  memcpy (record, "PCOM", 4);
  record[4] = 1;  /* version */
  record[5] = 2;  /* ONESHOT */
  put_u16 (record + 6, total);
  put_u16 (record + 8, plen);
  put_u16 (record + 10, mlen);
  memcpy (record + 12, base, plen);
  memcpy (record + 12 + plen, message, mlen);

  fd = open (fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, record, total), ==, (ssize_t) total);
  close (fd);

  g_assert_cmpuint (read_frame (rep_fd, NULL), ==, 1);  /* HELLO */
  g_unlink (rep);
  g_assert_cmpuint (read_frame (rep_fd, NULL), ==, 4);  /* REPLY */
  close (rep_fd);
}

#ifdef __linux__
typedef struct
{
  GMutex lock;
  GCond  cond;
  gint64 tid;
  gboolean done;
} Idler;

/* A thread of this process: /proc/TID shows this process's descriptors. */
static gpointer
idler_thread (gpointer data)
{
  Idler *idler = data;

  g_mutex_lock (&idler->lock);
  idler->tid = (gint64) syscall (SYS_gettid);
  g_cond_broadcast (&idler->cond);
  while (!idler->done)
    g_cond_wait (&idler->cond, &idler->lock);
  g_mutex_unlock (&idler->lock);
  return NULL;
}
#endif

static void
test_claimed_pid_verified (void)
{
  g_autofree char *name = pipecom_test_make_name ("creds-claim");
  g_autoptr(PipecomPipe) pipe = NULL;
  Sender s;

  g_test_summary ("A pid that a channel's name claims is reported only if that process holds "
                  "the channel: never a parent's, init's, a thread's or no process's");

  sender_init (&s);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (record_sender_cb), &s);

  /* Our parent (the test runner) is ours and readable, but does not hold
   * the channel. */
  raw_oneshot (pipecom_pipe_get_path (pipe), (int) getppid ());
  assert_sender (&s, 1, getuid (), -1, PIPECOM_SENDER_USER);

  raw_oneshot (pipecom_pipe_get_path (pipe), 1);
  assert_sender (&s, 2, getuid (), -1, PIPECOM_SENDER_USER);

  /* A pid with no process. */
  raw_oneshot (pipecom_pipe_get_path (pipe), G_MAXINT32);
  assert_sender (&s, 3, getuid (), -1, PIPECOM_SENDER_USER);

#ifdef __linux__
  /* A thread's id: its /proc entry shows our descriptors, but it is not a
   * process. */
  {
    Idler idler = { 0, };
    GThread *thread;

    g_mutex_init (&idler.lock);
    g_cond_init (&idler.cond);
    thread = g_thread_new ("idler", idler_thread, &idler);
    g_mutex_lock (&idler.lock);
    while (idler.tid == 0)
      g_cond_wait (&idler.cond, &idler.lock);
    g_mutex_unlock (&idler.lock);
    g_assert_cmpint (idler.tid, !=, getpid ());

    raw_oneshot (pipecom_pipe_get_path (pipe), (int) idler.tid);
    assert_sender (&s, 4, getuid (), -1, PIPECOM_SENDER_USER);

    g_mutex_lock (&idler.lock);
    idler.done = TRUE;
    g_cond_broadcast (&idler.cond);
    g_mutex_unlock (&idler.lock);
    g_thread_join (thread);
    g_mutex_clear (&idler.lock);
    g_cond_clear (&idler.cond);
  }
#else
  raw_oneshot (pipecom_pipe_get_path (pipe), 1);
  assert_sender (&s, 4, getuid (), -1, PIPECOM_SENDER_USER);
#endif

  /* The truth. */
  raw_oneshot (pipecom_pipe_get_path (pipe), (int) getpid ());
#ifdef __linux__
  assert_sender (&s, 5, getuid (), getpid (), PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
#else
  assert_sender (&s, 5, getuid (), -1, PIPECOM_SENDER_USER);
#endif

  pipecom_test_stop_and_wait (pipe);
  sender_clear (&s);
}

/* ------------------------------------------------------------------------ */
/* ::authorize                                                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gint      calls;       /* atomic */
  gint      handled;     /* atomic */
  gboolean  allow;       /* (atomic) */
  GThread  *thread;      /* where the last call ran */
  GThread  *msg_thread;  /* where the last message was handled */
  gboolean  in_context;  /* the serving context was owned */
  gint64    uid;
  GMainContext *context; /* the serving context (not threaded) */
  GMutex    lock;        /* for the fields above, set in the serving thread */
} Auth;

static GThread *
auth_get_thread (Auth     *auth,
                 gboolean  of_message)
{
  GThread *thread;

  g_mutex_lock (&auth->lock);
  thread = of_message ? auth->msg_thread : auth->thread;
  g_mutex_unlock (&auth->lock);
  return thread;
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static gboolean
authorize_cb (PipecomPipe  *pipe,
              GCredentials *credentials,
              gpointer      user_data)
{
  Auth *auth = user_data;

  g_mutex_lock (&auth->lock);
  auth->thread = g_thread_self ();
  auth->in_context = auth->context == NULL || g_main_context_is_owner (auth->context);
  auth->uid = credentials != NULL ? (gint64) g_credentials_get_unix_user (credentials, NULL) : -2;
  g_mutex_unlock (&auth->lock);
  g_atomic_int_inc (&auth->calls);
  return g_atomic_int_get (&auth->allow);
}

/* A second handler, which must never run once the first refused. */
static gboolean
authorize_second_cb (PipecomPipe  *pipe,
                     GCredentials *credentials,
                     gpointer      user_data)
{
  gint *calls = user_data;

  g_atomic_int_inc (calls);
  return TRUE;
}

static char *
count_message_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  Auth *auth = user_data;

  g_mutex_lock (&auth->lock);
  auth->msg_thread = g_thread_self ();
  g_mutex_unlock (&auth->lock);
  g_atomic_int_inc (&auth->handled);
  return g_strdup ("ok");
}

static void
assert_denied (const GError *error)
{
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_test_message ("refused: %s", error->message);
}

static void
test_authorize_refused (gconstpointer data)
{
  gboolean threaded = GPOINTER_TO_INT (data);
  g_autofree char *name = pipecom_test_make_name ("creds-auth");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  Auth auth = { 0, };
  gint second_calls = 0;

  g_mutex_init (&auth.lock);
  g_test_summary ("A sender that ::authorize refuses gets PERMISSION_DENIED, none of its "
                  "messages is handled (not even the die code), and the pipe serves the next "
                  "sender; the emission stops at the first FALSE");

  auth.context = threaded ? NULL : g_main_context_ref_thread_default ();
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", threaded, NULL);
  g_signal_connect (pipe, "authorize", G_CALLBACK (authorize_cb), &auth);
  g_signal_connect (pipe, "authorize", G_CALLBACK (authorize_second_cb), &second_calls);
  g_signal_connect (pipe, "message-received", G_CALLBACK (count_message_cb), &auth);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  /* One-shot, through the worker (and, threaded, the direct path). */
  g_assert_false (pipecom_test_send (name, "no", 10, 0, &error));
  assert_denied (error);
  g_clear_error (&error);
  if (threaded)
    {
      g_assert_false (pipecom_send (name, "no", 10, 0, &error));
      assert_denied (error);
      g_clear_error (&error);
      g_assert_null (pipecom_request (name, "no", 10, 0, &error));
      assert_denied (error);
      g_clear_error (&error);
    }
  g_assert_false (pipecom_test_send (name, "PIPECOM_DIE", 10, 0, &error));
  assert_denied (error);
  g_clear_error (&error);

  /* A persistent client. */
  client = pipecom_client_new (name);
  {
    PipecomTestResult result = { 0, };

    pipecom_client_request_async (client, "no", NULL, pipecom_test_request_cb, &result);
    pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
    assert_denied (result.error);
    pipecom_test_result_clear (&result);
  }
  g_assert_false (pipecom_client_get_connected (client));

  g_assert_cmpint (g_atomic_int_get (&auth.handled), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&second_calls), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&auth.calls), ==, threaded ? 5 : 3);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 0);
  g_mutex_lock (&auth.lock);
  g_assert_cmpint (auth.uid, ==, getuid ());
  g_assert_true (auth.in_context);
  g_mutex_unlock (&auth.lock);
  if (threaded)
    g_assert_true (auth_get_thread (&auth, FALSE) != g_thread_self ());
  else
    g_assert_true (auth_get_thread (&auth, FALSE) == g_thread_self ());

  /* The next sender is served. */
  g_atomic_int_set (&auth.allow, TRUE);
  g_assert_true (pipecom_test_send (name, "yes", 10, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&auth.handled), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&second_calls), ==, 1);
  g_assert_true (auth_get_thread (&auth, TRUE) == auth_get_thread (&auth, FALSE));
  {
    PipecomTestResult result = { 0, };

    pipecom_client_request_async (client, "yes", NULL, pipecom_test_request_cb, &result);
    pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
    g_assert_no_error (result.error);
    g_assert_cmpstr (result.text, ==, "ok");
    pipecom_test_result_clear (&result);
  }

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  g_clear_pointer (&auth.context, g_main_context_unref);
  g_mutex_clear (&auth.lock);
}

static void
test_authorize_once_per_connection (void)
{
  g_autofree char *name = pipecom_test_make_name ("creds-once");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  Auth auth = { 0, };

  g_mutex_init (&auth.lock);
  g_test_summary ("::authorize is emitted once per connection, before its first message: "
                  "once for a persistent client's N messages, once per one-shot send");

  auth.allow = TRUE;
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_signal_connect (pipe, "authorize", G_CALLBACK (authorize_cb), &auth);
  g_signal_connect (pipe, "message-received", G_CALLBACK (count_message_cb), &auth);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  client = pipecom_client_new (name);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *reply = pipecom_client_request (client, "n", NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, "ok");
      g_assert_cmpint (g_atomic_int_get (&auth.calls), ==, 1);
    }
  g_assert_cmpint (g_atomic_int_get (&auth.handled), ==, 10);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (pipecom_send (name, "one", 10, 0, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (g_atomic_int_get (&auth.calls), ==, 4);
  g_assert_cmpint (g_atomic_int_get (&auth.handled), ==, 13);
  g_mutex_lock (&auth.lock);
  g_assert_cmpint (auth.uid, ==, getuid ());
  g_mutex_unlock (&auth.lock);
  g_assert_true (auth_get_thread (&auth, TRUE) == auth_get_thread (&auth, FALSE));

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  g_mutex_clear (&auth.lock);
}

/* ------------------------------------------------------------------------ */
/* allowed-users                                                            */
/* ------------------------------------------------------------------------ */

static void
test_allowed_users_unknown (void)
{
  g_autofree char *path = pipecom_test_make_path ("creds-unknown");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (path);
  g_autoptr(GError) error = NULL;
  const char * const users[] = { "0", "pipecom-no-such-user-xyz", NULL };

  g_test_summary ("allowed-users naming no user makes listen() fail, creating nothing");

  pipecom_pipe_set_allowed_users (pipe, users);
  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "pipecom-no-such-user-xyz"));
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* Not a uid either. */
  {
    const char * const bad[] = { "-1", NULL };

    pipecom_pipe_set_allowed_users (pipe, bad);
    g_assert_false (pipecom_pipe_listen (pipe, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_allowed_users_property (void)
{
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new ("creds-prop");
  const char * const users[] = { "alice", "1001", NULL };
  g_auto(GStrv) got = NULL;
  guint notified = 0;

  g_test_summary ("allowed-users is a GStrv property, notified only on change");

  g_assert_null (pipecom_pipe_get_allowed_users (pipe));
  g_signal_connect (pipe, "notify::allowed-users", G_CALLBACK (count_notify_cb), &notified);
  pipecom_pipe_set_allowed_users (pipe, users);
  pipecom_pipe_set_allowed_users (pipe, users);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (g_strv_equal (pipecom_pipe_get_allowed_users (pipe), users));
  g_object_get (pipe, "allowed-users", &got, NULL);
  g_assert_true (g_strv_equal ((const char * const *) got, users));
  g_object_set (pipe, "allowed-users", NULL, NULL);
  g_assert_null (pipecom_pipe_get_allowed_users (pipe));
  g_assert_cmpuint (notified, ==, 2);
}

static void
test_allowed_users_self (void)
{
  g_autofree char *name = pipecom_test_make_name ("creds-self-allowed");
  g_autofree char *own_uid = g_strdup_printf ("%u", (guint) geteuid ());
  const char * const others[] = { "4000000001", NULL };
  const char * const by_name[] = { g_get_user_name (), NULL };
  const char * const by_uid[] = { own_uid, NULL };
  const char * const * const lists[] = { others, by_name, by_uid };
  g_autoptr(GError) error = NULL;

  g_test_summary ("The listener's own user may always send, listed or not");

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
      gint counter = 0;

      g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &counter);
      pipecom_pipe_set_allowed_users (pipe, lists[i]);
      g_assert_true (pipecom_pipe_listen (pipe, &error));
      g_assert_no_error (error);
      g_assert_true (pipecom_test_send (name, "me", 10, 0, &error));
      g_assert_no_error (error);
      g_assert_cmpint (counter, ==, 1);
      pipecom_test_stop_and_wait (pipe);
    }
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/credentials/claimed-pid", test_claimed_pid);
  g_test_add_func ("/credentials/same-user/in-process", test_same_user_in_process);
  g_test_add_func ("/credentials/same-user/child", test_same_user_child);
  g_test_add_func ("/credentials/same-user/shared", test_same_user_shared);
  g_test_add_func ("/credentials/claimed-pid/verified", test_claimed_pid_verified);
  g_test_add_data_func ("/credentials/authorize/refused", GINT_TO_POINTER (FALSE),
                        test_authorize_refused);
  g_test_add_data_func ("/credentials/authorize/refused-threaded", GINT_TO_POINTER (TRUE),
                        test_authorize_refused);
  g_test_add_func ("/credentials/authorize/once-per-connection",
                   test_authorize_once_per_connection);
  g_test_add_func ("/credentials/allowed-users/property", test_allowed_users_property);
  g_test_add_func ("/credentials/allowed-users/unknown", test_allowed_users_unknown);
  g_test_add_func ("/credentials/allowed-users/self", test_allowed_users_self);

  return g_test_run ();
}
