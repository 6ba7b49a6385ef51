/* test-credentials.c: who sent a message, and refusing senders
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/credentials/claimed-pid", test_claimed_pid);
  g_test_add_func ("/credentials/same-user/in-process", test_same_user_in_process);
  g_test_add_func ("/credentials/same-user/child", test_same_user_child);

  return g_test_run ();
}
