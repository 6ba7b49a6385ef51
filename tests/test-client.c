/* test-client.c: PipecomClient, persistent connections
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <signal.h>
#include <string.h>

#include "test-utils.h"
#include "pipecom-private.h"

#ifdef G_OS_UNIX
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "unix/pipecom-unix-private.h"
#endif

static char *
echo_bytes_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  GBytes *bytes = pipecom_message_get_bytes (message);  /* (transfer none) */

  if (user_data != NULL)
    g_atomic_int_inc ((gint *) user_data);
  pipecom_message_reply_bytes (message, bytes);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Properties and connecting                                                */
/* ------------------------------------------------------------------------ */

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_properties (void)
{
  g_autoptr(PipecomClient) client = pipecom_client_new ("some-pipe");
  g_autofree char *pipe_name = NULL;
  guint timeout = 99, max_attempts = 99, notifies = 0;
  gboolean connected = TRUE;
  GParamSpec *pspec;

  g_test_summary ("Client defaults, notify only on change, construct-only pipe-name");

  g_assert_cmpstr (pipecom_client_get_pipe_name (client), ==, "some-pipe");
  g_assert_cmpuint (pipecom_client_get_timeout (client), ==, 0);
  g_assert_cmpuint (pipecom_client_get_max_attempts (client), ==, 0);
  g_assert_false (pipecom_client_get_connected (client));

  g_object_get (client, "pipe-name", &pipe_name, "timeout", &timeout,
                "max-attempts", &max_attempts, "connected", &connected, NULL);
  g_assert_cmpstr (pipe_name, ==, "some-pipe");
  g_assert_cmpuint (timeout, ==, 0);
  g_assert_cmpuint (max_attempts, ==, 0);
  g_assert_false (connected);

  g_signal_connect (client, "notify", G_CALLBACK (count_notify_cb), &notifies);
  pipecom_client_set_timeout (client, 7);
  pipecom_client_set_timeout (client, 7);
  g_assert_cmpuint (notifies, ==, 1);
  pipecom_client_set_max_attempts (client, 3);
  pipecom_client_set_max_attempts (client, 3);
  g_assert_cmpuint (notifies, ==, 2);
  g_assert_cmpuint (pipecom_client_get_timeout (client), ==, 7);
  g_assert_cmpuint (pipecom_client_get_max_attempts (client), ==, 3);

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (client), "pipe-name");
  g_assert_nonnull (pspec);
  g_assert_true (pspec->flags & G_PARAM_CONSTRUCT_ONLY);
}

static void
test_connect_sync (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-connect");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, TRUE, NULL);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;

  g_test_summary ("pipecom_client_connect() to a threaded listener, then a request");

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "client connect/request");
  g_assert_true (pipecom_client_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pipecom_client_get_connected (client));

  reply = pipecom_client_request (client, "hello", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:hello");
  g_assert_true (pipecom_client_send (client, "fire", NULL, &error));
  g_assert_no_error (error);
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 2);
  pipecom_client_close (client);
  g_assert_false (pipecom_client_get_connected (client));
  pipecom_test_stop_and_wait (pipe);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *res,
            gpointer      user_data)
{
  PipecomTestResult *result = user_data;

  result->ok = pipecom_client_connect_finish (PIPECOM_CLIENT (source), res, &result->error);
  result->done = TRUE;
}

static void
test_connect_async (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-connect-async");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, FALSE, NULL);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  PipecomTestResult result = { 0, };
  PipecomTestResult req = { 0, };

  g_test_summary ("pipecom_client_connect_async() to a listener on the same main context");

  pipecom_client_connect_async (client, NULL, connect_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_client_request_async (client, "async", NULL, pipecom_test_request_cb, &req);
  pipecom_test_wait_for (req.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (req.error);
  g_assert_cmpstr (req.text, ==, "ack:async");

  pipecom_test_result_clear (&result);
  pipecom_test_result_clear (&req);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_connect_no_listener (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-nobody");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  gint64 start;

  g_test_summary ("Connecting to a missing listener with max-attempts=2 fails quickly with "
                  "CONNECTION_FAILED; so does a request");

  pipecom_client_set_max_attempts (client, 2);
  start = g_get_monotonic_time ();
  g_assert_false (pipecom_client_connect (client, NULL, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_nonnull (strstr (error->message, name));
  g_clear_error (&error);
  g_assert_false (pipecom_client_get_connected (client));

  reply = pipecom_client_request (client, "x", NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

static void
test_request_sequential (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-seq");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  gint calls = 0;

  g_test_summary ("100 sequential requests on one connection each get their own reply");

  pipe = pipecom_test_listen_new (name, TRUE, &calls);
  pipecom_client_set_timeout (client, 30);

  watchdog = pipecom_test_watchdog_start (60, "100 sequential client requests");
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *payload = g_strdup_printf ("seq-%u-%s", i, i % 2 ? "odd" : "even");
      g_autofree char *expected = g_strconcat ("ack:", payload, NULL);
      g_autofree char *reply = pipecom_client_request (client, payload, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
      g_assert_true (pipecom_client_get_connected (client));
    }
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 100);
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 100);
  pipecom_test_stop_and_wait (pipe);
}

#define N_REVERSE 50

typedef struct
{
  GPtrArray *held;
  guint      replied;
} Reverse;

static char *
reverse_cb (PipecomPipe    *pipe,
            PipecomMessage *message,
            gpointer        user_data)
{
  Reverse *rev = user_data;

  g_ptr_array_add (rev->held, g_object_ref (message));
  if (rev->held->len == N_REVERSE)
    {
      for (guint i = N_REVERSE; i > 0; i--)
        {
          PipecomMessage *m = g_ptr_array_index (rev->held, i - 1);
          g_autofree char *reply = g_strconcat ("r:", pipecom_message_get_text (m), NULL);

          pipecom_message_reply (m, reply);
          rev->replied++;
        }
      g_ptr_array_set_size (rev->held, 0);
    }
  return NULL;
}

typedef struct
{
  PipecomTestResult result;
  guint             index;
  GArray           *order;
} Indexed;

static void
indexed_request_cb (GObject      *source,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  Indexed *item = user_data;

  pipecom_test_request_cb (source, res, &item->result);
  g_array_append_val (item->order, item->index);
}

static void
test_request_out_of_order (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-reverse");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;
  Indexed items[N_REVERSE];
  Reverse rev = { 0, };
  gboolean in_order = TRUE;

  g_test_summary ("50 async requests in flight on one client, answered in reverse order: "
                  "each gets its own reply");

  rev.held = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reverse_cb), &rev);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < N_REVERSE; i++)
    {
      g_autofree char *payload = g_strdup_printf ("p%u", i);

      memset (&items[i], 0, sizeof items[i]);
      items[i].index = i;
      items[i].order = order;
      pipecom_client_request_async (client, payload, NULL, indexed_request_cb, &items[i]);
    }

  pipecom_test_wait_for (order->len == N_REVERSE, PIPECOM_TEST_DEADLINE);
  g_assert_cmpuint (rev.replied, ==, N_REVERSE);

  for (guint i = 0; i < N_REVERSE; i++)
    {
      g_autofree char *expected = g_strdup_printf ("r:p%u", i);

      g_assert_no_error (items[i].result.error);
      g_assert_cmpstr (items[i].result.text, ==, expected);
      if (g_array_index (order, guint, i) != i)
        in_order = FALSE;
      pipecom_test_result_clear (&items[i].result);
    }
  /* The replies really came back in another order than the requests. */
  g_assert_false (in_order);

  g_ptr_array_unref (rev.held);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_send_variants (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-variants");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestResult send = { 0, }, send_bytes = { 0, }, req_bytes = { 0, };
  static const guint8 binary[] = { 0, 1, 0xff, 0xc3, 0x28, 0, 'z' };
  gint calls = 0;

  g_test_summary ("send_async, send_bytes_async and request_bytes_async on a client");

  payload = g_bytes_new_static (binary, sizeof binary);
  g_signal_connect (pipe, "message-received", G_CALLBACK (echo_bytes_cb), &calls);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_send_async (client, "text", NULL, pipecom_test_send_cb, &send);
  pipecom_client_send_bytes_async (client, payload, NULL, pipecom_test_send_bytes_cb, &send_bytes);
  pipecom_client_request_bytes_async (client, payload, NULL, pipecom_test_request_bytes_cb, &req_bytes);
  pipecom_test_wait_for (send.done && send_bytes.done && req_bytes.done, PIPECOM_TEST_DEADLINE);

  g_assert_no_error (send.error);
  g_assert_true (send.ok);
  g_assert_no_error (send_bytes.error);
  g_assert_true (send_bytes.ok);
  g_assert_no_error (req_bytes.error);
  g_assert_nonnull (req_bytes.bytes);
  g_assert_true (g_bytes_equal (req_bytes.bytes, payload));
  g_assert_cmpint (calls, ==, 3);

  pipecom_test_result_clear (&send);
  pipecom_test_result_clear (&send_bytes);
  pipecom_test_result_clear (&req_bytes);
  pipecom_test_stop_and_wait (pipe);
}

/* ------------------------------------------------------------------------ */
/* Closing, listener going away                                             */
/* ------------------------------------------------------------------------ */

static char *
hold_cb (PipecomPipe    *pipe,
         PipecomMessage *message,
         gpointer        user_data)
{
  PipecomMessage **held = user_data;

  if (g_strcmp0 (pipecom_message_get_text (message), "hold") == 0)
    {
      g_assert_null (*held);
      *held = g_object_ref (message);
      return NULL;
    }
  return g_strconcat ("ack:", pipecom_message_get_text (message), NULL);
}

static void
test_close (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-close");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomMessage *held = NULL;
  PipecomTestResult pending = { 0, };
  PipecomTestResult req = { 0, };
  g_autoptr(GError) error = NULL;

  g_test_summary ("close() fails requests in flight with CLOSED; the next call reconnects");

  pipe = pipecom_pipe_new (name);
  g_signal_connect (pipe, "message-received", G_CALLBACK (hold_cb), &held);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_request_async (client, "hold", NULL, pipecom_test_request_cb, &pending);
  pipecom_test_wait_for (held != NULL, PIPECOM_TEST_DEADLINE);
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_client_close (client);
  g_assert_false (pipecom_client_get_connected (client));
  pipecom_test_wait_for (pending.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (pending.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);

  /* The listener is not disturbed by the late answer to a closed connection. */
  pipecom_message_reply (held, "nobody hears this");
  g_clear_object (&held);

  pipecom_client_request_async (client, "again", NULL, pipecom_test_request_cb, &req);
  pipecom_test_wait_for (req.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (req.error);
  g_assert_cmpstr (req.text, ==, "ack:again");
  g_assert_true (pipecom_client_get_connected (client));
  g_assert_true (pipecom_pipe_get_listening (pipe));

  pipecom_test_result_clear (&pending);
  pipecom_test_result_clear (&req);
  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_listener_stopped (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-stopped");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, TRUE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;

  g_test_summary ("After the listener stopped, a send on a connected client fails with "
                  "CLOSED or CONNECTION_FAILED instead of hanging");

  pipecom_client_set_max_attempts (client, 2);
  pipecom_client_set_timeout (client, 10);
  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "client after listener stop");
  reply = pipecom_client_request (client, "before", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:before");

  pipecom_test_stop_and_wait (pipe);

  g_assert_false (pipecom_client_send (client, "after", NULL, &error));
  g_test_message ("send after stop: %s", error->message);
  g_assert_true (g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED) ||
                 g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED));
  g_clear_error (&error);

  /* And once more: now surely without connection. */
  g_assert_false (pipecom_client_send (client, "after", NULL, &error));
  g_assert_true (g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED) ||
                 g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED));
  pipecom_test_watchdog_stop (watchdog);
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);
}

#ifdef G_OS_UNIX
static void
test_listener_killed_sigpipe (void)
{
  g_autofree char *path = pipecom_test_make_path ("client-killed");
  g_autoptr(PipecomClient) client = pipecom_client_new (path);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GBytes) big = pipecom_test_random_bytes (8 * 1024 * 1024);
  PipecomTestResult blocked = { 0, };
  PipecomTestResult writing = { 0, };
  PipecomTestResult connected = { 0, };

  g_test_summary ("A listener killed while our client is blocked writing to it gives CLOSED "
                  "for everything in flight, and SIGPIPE does not kill us");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  pipecom_client_connect_async (client, NULL, connect_cb, &connected);
  pipecom_test_wait_for (connected.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (connected.error);

  pipecom_client_request_async (client, "block", NULL, pipecom_test_request_cb, &blocked);
  pipecom_test_child_expect_line (child, "GOT block");

  /* Freeze the child completely: nobody reads our channel any more. */
  pipecom_test_child_signal (child, SIGSTOP);
  pipecom_client_request_bytes_async (client, big, NULL, pipecom_test_request_bytes_cb, &writing);
  pipecom_test_iterate_for (300);
  g_assert_false (blocked.done);
  g_assert_false (writing.done);

  pipecom_test_child_kill (child);
  pipecom_test_wait_for (blocked.done && writing.done, 20);
  g_assert_error (blocked.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  g_assert_error (writing.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);

  pipecom_test_result_clear (&blocked);
  pipecom_test_result_clear (&writing);
  pipecom_test_result_clear (&connected);
}
#endif

/* ------------------------------------------------------------------------ */
/* Oversize, timeout, cancellation                                          */
/* ------------------------------------------------------------------------ */

static void
test_oversize (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-oversize");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GBytes) big = pipecom_test_random_bytes (2048);
  g_autoptr(GBytes) bigger = pipecom_test_random_bytes (200 * 1024);
  g_autoptr(GBytes) reply_bytes = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  gint calls = 0;

  g_test_summary ("A too-large message on a client fails with MESSAGE_TOO_LARGE and the "
                  "same connection stays usable");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE,
                       "max-message-size", 1024u, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "client oversize");
  g_assert_true (pipecom_client_connect (client, NULL, &error));
  g_assert_no_error (error);

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *reply = NULL;

      g_assert_false (pipecom_client_send_bytes (client, big, NULL, &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
      g_clear_error (&error);

      reply_bytes = pipecom_client_request_bytes (client, bigger, NULL, &error);
      g_assert_null (reply_bytes);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
      g_clear_error (&error);
      g_assert_true (pipecom_client_get_connected (client));

      reply = pipecom_client_request (client, "small", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, "ack:small");
    }
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 2);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_timeout (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-timeout");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomMessage *held = NULL;
  PipecomTestResult result = { 0, };
  gint64 start;
  double elapsed;

  g_test_summary ("A client request whose reply never comes fails with TIMEOUT after the "
                  "client's timeout");

  g_signal_connect (pipe, "message-received", G_CALLBACK (hold_cb), &held);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  pipecom_client_set_timeout (client, 1);

  start = g_get_monotonic_time ();
  pipecom_client_request_async (client, "hold", NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  elapsed = (result.finished_at - start) / (double) G_USEC_PER_SEC;
  g_test_message ("timed out after %.3f s", elapsed);
  g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT);
  g_assert_cmpfloat (elapsed, >=, 0.8);
  g_assert_cmpfloat (elapsed, <, 5.0);

  g_clear_object (&held);
  pipecom_test_result_clear (&result);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_cancel_one_of_many (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-cancel");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  PipecomMessage *held = NULL;
  PipecomTestResult hold = { 0, };
  PipecomTestResult others[5] = { { 0, }, };
  PipecomTestResult after = { 0, };
  gint64 cancelled_at;

  g_test_summary ("Cancelling one pending request on a client gives CANCELLED promptly while "
                  "the others on the same client complete; the client stays usable");

  g_signal_connect (pipe, "message-received", G_CALLBACK (hold_cb), &held);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_request_async (client, "hold", cancellable, pipecom_test_request_cb, &hold);
  pipecom_test_wait_for (held != NULL, PIPECOM_TEST_DEADLINE);

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autofree char *payload = g_strdup_printf ("other%u", i);

      pipecom_client_request_async (client, payload, NULL, pipecom_test_request_cb, &others[i]);
    }

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  pipecom_test_wait_for (hold.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (hold.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (hold.finished_at - cancelled_at, <, 2 * G_USEC_PER_SEC);

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autofree char *expected = g_strdup_printf ("ack:other%u", i);

      pipecom_test_wait_for (others[i].done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (others[i].error);
      g_assert_cmpstr (others[i].text, ==, expected);
      pipecom_test_result_clear (&others[i]);
    }

  /* The late answer to the cancelled request is ignored by the client. */
  pipecom_message_reply (held, "late");
  g_clear_object (&held);

  pipecom_client_request_async (client, "after", NULL, pipecom_test_request_cb, &after);
  pipecom_test_wait_for (after.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (after.error);
  g_assert_cmpstr (after.text, ==, "ack:after");
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_test_result_clear (&hold);
  pipecom_test_result_clear (&after);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_many_clients_one_context (void)
{
  g_autofree char *name = pipecom_test_make_name ("client-many");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomClient *clients[8];
  PipecomTestResult results[8][10];
  gint calls = 0;

  g_test_summary ("8 clients with 10 async requests each on one main context, listener "
                  "included: every reply reaches its own request");

  pipe = pipecom_test_listen_new (name, FALSE, &calls);
  memset (results, 0, sizeof results);

  for (guint c = 0; c < G_N_ELEMENTS (clients); c++)
    {
      clients[c] = pipecom_client_new (name);
      for (guint i = 0; i < 10; i++)
        {
          g_autofree char *payload = g_strdup_printf ("c%u-m%u", c, i);

          pipecom_client_request_async (clients[c], payload, NULL, pipecom_test_request_cb,
                                        &results[c][i]);
        }
    }

  for (guint c = 0; c < G_N_ELEMENTS (clients); c++)
    {
      for (guint i = 0; i < 10; i++)
        {
          g_autofree char *expected = g_strdup_printf ("ack:c%u-m%u", c, i);

          pipecom_test_wait_for (results[c][i].done, PIPECOM_TEST_DEADLINE);
          g_assert_no_error (results[c][i].error);
          g_assert_cmpstr (results[c][i].text, ==, expected);
          pipecom_test_result_clear (&results[c][i]);
        }
      g_object_unref (clients[c]);
    }
  g_assert_cmpint (calls, ==, 80);
  pipecom_test_stop_and_wait (pipe);
}

/* ------------------------------------------------------------------------ */
/* The synchronous fast path: a connected, idle client's sync calls do the   */
/* exchange in the calling thread                                           */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GMutex        lock;
  GPtrArray    *held;         /* messages kept and never answered */
  GCancellable *cancel_on;    /* cancelled when "cancel me" arrives */
} DirectListener;

static char *
direct_listener_cb (PipecomPipe    *pipe,
                    PipecomMessage *message,
                    gpointer        user_data)
{
  DirectListener *dl = user_data;
  const char *text = pipecom_message_get_text (message);

  if (g_strcmp0 (text, "hold") == 0 || g_strcmp0 (text, "cancel me") == 0)
    {
      g_mutex_lock (&dl->lock);
      g_ptr_array_add (dl->held, g_object_ref (message));
      g_mutex_unlock (&dl->lock);
      /* The caller is blocked in the sync call right now: cancel it from here. */
      if (g_strcmp0 (text, "cancel me") == 0)
        g_cancellable_cancel (dl->cancel_on);
      return NULL;
    }

  return g_strconcat ("ack:", text, NULL);
}

static PipecomPipe *
direct_listener_start (const char     *name,
                       DirectListener *dl)
{
  g_mutex_init (&dl->lock);
  dl->held = g_ptr_array_new_with_free_func (g_object_unref);
  dl->cancel_on = g_cancellable_new ();
  return pipecom_test_listen_with (name, TRUE, G_CALLBACK (direct_listener_cb), dl);
}

static void
direct_listener_clear (DirectListener *dl)
{
  g_mutex_lock (&dl->lock);
  g_clear_pointer (&dl->held, g_ptr_array_unref);
  g_mutex_unlock (&dl->lock);
  g_clear_object (&dl->cancel_on);
  g_mutex_clear (&dl->lock);
}

static void
assert_sync_request (PipecomClient *client,
                     const char    *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = pipecom_client_request (client, message, NULL, &error);
  g_autofree char *expected = g_strconcat ("ack:", message, NULL);

  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, expected);
}

static void
test_direct_timeout (void)
{
  g_autofree char *name = pipecom_test_make_name ("direct-timeout");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  DirectListener dl = { 0, };
  gint64 start;
  double elapsed;

  g_test_summary ("A sync request of a connected client (the direct path) whose reply "
                  "never comes fails with TIMEOUT after the client's timeout, and the "
                  "client goes on working");

  pipe = direct_listener_start (name, &dl);
  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "direct timeout");
  assert_sync_request (client, "warm up");
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_client_set_timeout (client, 1);
  start = g_get_monotonic_time ();
  reply = pipecom_client_request (client, "hold", NULL, &error);
  elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("timed out after %.3f s", elapsed);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT);
  g_assert_cmpfloat (elapsed, >=, 0.8);
  g_assert_cmpfloat (elapsed, <, 5.0);

  assert_sync_request (client, "after the timeout");
  pipecom_test_watchdog_stop (watchdog);

  direct_listener_clear (&dl);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_direct_cancelled (void)
{
  g_autofree char *name = pipecom_test_make_name ("direct-cancel");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  DirectListener dl = { 0, };

  g_test_summary ("A sync request of a connected client (the direct path) cancelled while "
                  "it waits gives CANCELLED at once, and the client goes on working");

  pipe = direct_listener_start (name, &dl);
  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "direct cancel");
  assert_sync_request (client, "warm up");

  reply = pipecom_client_request (client, "cancel me", dl.cancel_on, &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Already cancelled: fails before sending anything. */
  g_assert_false (pipecom_client_send (client, "not sent", dl.cancel_on, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  assert_sync_request (client, "after the cancellation");
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 3);
  direct_listener_clear (&dl);
  pipecom_test_stop_and_wait (pipe);
}

typedef struct
{
  PipecomTestChild *child;
} KillWhenBlocked;

static gpointer
kill_when_blocked_thread (gpointer data)
{
  KillWhenBlocked *kwb = data;

  pipecom_test_child_expect_line (kwb->child, "GOT block");
  pipecom_test_child_kill (kwb->child);
  return NULL;
}

static void
test_direct_listener_killed (void)
{
  g_autofree char *path = pipecom_test_make_path ("direct-killed");
  g_autoptr(PipecomClient) client = pipecom_client_new (path);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  KillWhenBlocked kwb;
  GThread *killer;

  g_test_summary ("A listener process killed while a sync request of a connected client "
                  "(the direct path) waits for its handler gives CLOSED, not a hang");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "direct killed");
  assert_sync_request (client, "warm up");

  kwb.child = child;
  killer = g_thread_new ("killer", kill_when_blocked_thread, &kwb);
  reply = pipecom_client_request (client, "block", NULL, &error);
  g_thread_join (killer);
  pipecom_test_watchdog_stop (watchdog);

  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);
}

#define MIXED_SYNC 200
#define MIXED_ASYNC 50

typedef struct
{
  PipecomClient *client;
  guint          failures;
} MixedSync;

static gpointer
mixed_sync_thread (gpointer data)
{
  MixedSync *ms = data;

  for (guint i = 0; i < MIXED_SYNC; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *message = g_strdup_printf ("sync %u", i);
      g_autofree char *expected = g_strdup_printf ("ack:sync %u", i);
      g_autofree char *reply = pipecom_client_request (ms->client, message, NULL, &error);

      if (error != NULL || g_strcmp0 (reply, expected) != 0)
        ms->failures++;
    }

  return NULL;
}

static guint
count_done (PipecomTestResult *results,
            guint              n)
{
  guint done = 0;

  for (guint i = 0; i < n; i++)
    done += results[i].done ? 1 : 0;
  return done;
}

static void
test_direct_mixed (void)
{
  g_autofree char *name = pipecom_test_make_name ("direct-mixed");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestResult results[MIXED_ASYNC] = { { 0, }, };
  MixedSync ms = { NULL, 0 };
  DirectListener dl = { 0, };
  GThread *thread;

  g_test_summary ("One client used at once by a thread doing sync requests (direct path "
                  "when idle) and by async requests on the main context: every request "
                  "gets its own reply");

  pipe = direct_listener_start (name, &dl);
  assert_sync_request (client, "warm up");

  ms.client = client;
  thread = g_thread_new ("sync", mixed_sync_thread, &ms);
  for (guint i = 0; i < MIXED_ASYNC; i++)
    {
      g_autofree char *message = g_strdup_printf ("async %u", i);
      pipecom_client_request_async (client, message, NULL, pipecom_test_request_cb, &results[i]);
    }

  pipecom_test_wait_for (count_done (results, MIXED_ASYNC) == MIXED_ASYNC, PIPECOM_TEST_DEADLINE);
  g_thread_join (thread);

  g_assert_cmpuint (ms.failures, ==, 0);
  for (guint i = 0; i < MIXED_ASYNC; i++)
    {
      g_autofree char *expected = g_strdup_printf ("ack:async %u", i);

      g_assert_no_error (results[i].error);
      g_assert_cmpstr (results[i].text, ==, expected);
      pipecom_test_result_clear (&results[i]);
    }
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 1 + MIXED_SYNC + MIXED_ASYNC);

  direct_listener_clear (&dl);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_direct_idle_notices_stop (void)
{
  g_autofree char *name = pipecom_test_make_name ("direct-idle-stop");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, TRUE, NULL);
  PipecomTestWatchdog *watchdog;

  g_test_summary ("A client left idle after sync requests (its connection stays on the "
                  "direct path) still notices, without any call, that the listener stopped");

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "direct idle stop");
  for (guint i = 0; i < 3; i++)
    assert_sync_request (client, "idle soon");
  pipecom_test_watchdog_stop (watchdog);
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_test_stop_and_wait (pipe);
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);
}

#ifdef G_OS_UNIX
#define FD_SCAN_MAX 1024

/* Which fds below FD_SCAN_MAX are open, in @open_fds. */
static void
scan_fds (gboolean *open_fds)
{
  for (int fd = 0; fd < FD_SCAN_MAX; fd++)
    open_fds[fd] = fcntl (fd, F_GETFD) >= 0;
}

/* The read end of a FIFO opened since @before: the client's reply channel
 * (the listener is another process). */
static int
find_new_fifo_reader (const gboolean *before)
{
  int found = -1;

  for (int fd = 0; fd < FD_SCAN_MAX; fd++)
    {
      struct stat st;
      int flags;

      if (before[fd] || fstat (fd, &st) != 0 || !S_ISFIFO (st.st_mode) ||
          (flags = fcntl (fd, F_GETFL)) < 0 || (flags & O_ACCMODE) != O_RDONLY)
        continue;
      g_assert_cmpint (found, ==, -1);
      found = fd;
    }

  g_assert_cmpint (found, >=, 0);
  return found;
}

static gboolean
fd_is_blocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  g_assert_cmpint (flags, >=, 0);
  return (flags & O_NONBLOCK) == 0;
}

static void
test_direct_read_waits (void)
{
  g_autofree char *path = pipecom_test_make_path ("direct-read-waits");
  g_autoptr(PipecomClient) client = pipecom_client_new (path);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = NULL;
  gboolean before[FD_SCAN_MAX];
  gboolean waits_in_read = _pipecom_transport_sees_unwatched_hangup ();
  PipecomTestResult req = { 0, };
  PipecomTestWatchdog *watchdog;
  int rep_fd;

  g_test_summary ("A sync request with no timeout and no cancellable waits in read() on a "
                  "blocking reply channel (where the connection stays direct between calls); "
                  "the worker gets the channel back non-blocking, and a request with a "
                  "timeout polls");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");
  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "direct read waits");

  scan_fds (before);
  /* The first request connects, through the worker; the next ones are
   * direct. */
  assert_sync_request (client, "first");
  rep_fd = find_new_fifo_reader (before);
  g_assert_false (fd_is_blocking (rep_fd));
  assert_sync_request (client, "second");
  g_assert_cmpint (fd_is_blocking (rep_fd), ==, waits_in_read);

  /* A reply of many reads, each one waited for in read(). */
  big = pipecom_client_request (client, "big:1000000", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (big), ==, 1000000);
  g_assert_cmpuint (strspn (big, "r"), ==, 1000000);

  /* The worker takes the connection back: it must never read a blocking fd. */
  pipecom_client_request_async (client, "async", NULL, pipecom_test_request_cb, &req);
  pipecom_test_wait_for (req.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (req.error);
  g_assert_cmpstr (req.text, ==, "ack:async");
  g_assert_false (fd_is_blocking (rep_fd));

  /* With a timeout, the direct path polls, on the non-blocking fd. */
  pipecom_client_set_timeout (client, PIPECOM_TEST_DEADLINE);
  assert_sync_request (client, "timed");
  g_assert_false (fd_is_blocking (rep_fd));

  pipecom_client_set_timeout (client, 0);
  assert_sync_request (client, "untimed again");
  g_assert_cmpint (fd_is_blocking (rep_fd), ==, waits_in_read);
  pipecom_test_watchdog_stop (watchdog);

  pipecom_test_result_clear (&req);
}
#endif

#ifdef G_OS_UNIX
/* ------------------------------------------------------------------------ */
/* Idle expiry: the listener's goodbye                                      */
/* ------------------------------------------------------------------------ */

/* The race of an idle expiry made deterministic: the listener, at idle
 * expiry, after its last read, tells the test it has paused and waits (in
 * poll(), on its input) until the client has written a request; only then
 * does it say goodbye and close. */
typedef struct
{
  GMutex  lock;
  GCond   cond;
  gint    armed;       /* the next expiry pauses */
  gboolean paused;     /* the listener waits for the client's request */
  gboolean written;    /* it saw the request's bytes before its goodbye */
  gint    handled;     /* atomic: messages "raced" handled */
  gint    all;         /* atomic: all messages handled */
} GoodbyeRace;

/* The hook is set once, in main(), before any listener thread runs; it
 * does nothing unless a test armed it. Static: zeroed locks need no init. */
static GoodbyeRace goodbye_race;

static void
goodbye_race_hook (PipecomConnection *conn)
{
  GoodbyeRace *race = &goodbye_race;
  struct pollfd pfd = { -1, POLLIN, 0 };
  int out_fd;

  if (!g_atomic_int_compare_and_exchange (&race->armed, TRUE, FALSE))
    return;

  g_mutex_lock (&race->lock);
  race->paused = TRUE;
  g_cond_broadcast (&race->cond);
  g_mutex_unlock (&race->lock);

  /* The request's bytes arriving, unread. */
  _pipecom_connection_get_poll_fds (conn, &pfd.fd, &out_fd);
  g_assert_cmpint (pfd.fd, >=, 0);
  while (poll (&pfd, 1, PIPECOM_TEST_DEADLINE * 1000) < 0)
    ;

  g_mutex_lock (&race->lock);
  race->written = (pfd.revents & POLLIN) != 0;
  g_mutex_unlock (&race->lock);
}

static char *
goodbye_race_message_cb (PipecomPipe    *pipe,
                         PipecomMessage *message,
                         gpointer        user_data)
{
  GoodbyeRace *race = user_data;
  const char *text = pipecom_message_get_text (message);

  g_atomic_int_inc (&race->all);
  if (g_strcmp0 (text, "raced") == 0)
    g_atomic_int_inc (&race->handled);
  return g_strconcat ("ack:", text, NULL);
}

static void
goodbye_race_wait_paused (GoodbyeRace *race)
{
  gint64 end = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;

  g_mutex_lock (&race->lock);
  while (!race->paused)
    if (!g_cond_wait_until (&race->cond, &race->lock, end))
      g_error ("The listener's idle expiry did not come within %d s", PIPECOM_TEST_DEADLINE);
  g_mutex_unlock (&race->lock);
}

static void
test_idle_goodbye_race (gconstpointer data)
{
  gboolean async = GPOINTER_TO_INT (data);
  g_autofree char *name = pipecom_test_make_name (async ? "goodbye-async" : "goodbye-sync");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  GoodbyeRace *race = &goodbye_race;

  g_test_summary (async ?
                  "A request written by an asynchronous call between an idle listener's last "
                  "read and its close is sent again on a new connection: it succeeds, handled "
                  "once" :
                  "A request written by a synchronous (direct) call between an idle listener's "
                  "last read and its close is sent again on a new connection: it succeeds, "
                  "handled once");

  g_mutex_lock (&race->lock);
  race->paused = race->written = FALSE;
  g_mutex_unlock (&race->lock);
  g_atomic_int_set (&race->handled, 0);
  g_atomic_int_set (&race->all, 0);

  /* 2 s: the test arms the hook well before the expiry, even under valgrind. */
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, "idle-timeout", 2, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (goodbye_race_message_cb), race);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_set_timeout (client, PIPECOM_TEST_DEADLINE);
  if (async)
    {
      PipecomTestResult result = { 0, };

      pipecom_client_request_async (client, "first", NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_cmpstr (result.text, ==, "ack:first");
      pipecom_test_result_clear (&result);

      g_atomic_int_set (&race->armed, TRUE);
      goodbye_race_wait_paused (race);

      pipecom_client_request_async (client, "raced", NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_cmpstr (result.text, ==, "ack:raced");
      pipecom_test_result_clear (&result);
    }
  else
    {
      assert_sync_request (client, "first");

      g_atomic_int_set (&race->armed, TRUE);
      goodbye_race_wait_paused (race);

      /* Connected and idle: the direct path writes it. */
      g_assert_true (pipecom_client_get_connected (client));
      reply = pipecom_client_request (client, "raced", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, "ack:raced");
    }

  g_mutex_lock (&race->lock);
  g_assert_true (race->written);
  g_mutex_unlock (&race->lock);
  g_assert_cmpint (g_atomic_int_get (&race->handled), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&race->all), ==, 2);
  g_assert_true (pipecom_client_get_connected (client));

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_idle_goodbye_reconnect (void)
{
  g_autofree char *name = pipecom_test_make_name ("goodbye-idle");
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestResult result = { 0, };
  gint counter = 0;

  g_test_summary ("An idle client that got the listener's goodbye with nothing pending is "
                  "just disconnected, and its next calls (sync and async) connect again");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, "idle-timeout", 1, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &counter);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_set_timeout (client, PIPECOM_TEST_DEADLINE);
  assert_sync_request (client, "first");
  g_assert_true (pipecom_client_get_connected (client));
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);

  assert_sync_request (client, "after goodbye");
  g_assert_true (pipecom_client_get_connected (client));
  pipecom_test_wait_for (!pipecom_client_get_connected (client), PIPECOM_TEST_DEADLINE);

  pipecom_client_request_async (client, "async after goodbye", NULL, pipecom_test_request_cb,
                                &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, "ack:async after goodbye");
  pipecom_test_result_clear (&result);
  g_assert_cmpint (g_atomic_int_get (&counter), ==, 3);

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
}

/* A listener written by hand, to close its ends in an order of the test's
 * choosing: the well-known FIFO and, once a client announced, its channel. */
typedef struct
{
  char *path;
  int   fifo_fd;
  int   req_fd;  /* we read the client's frames */
  int   rep_fd;  /* we write ours */
} FakeListener;

static void
fake_listener_init (FakeListener *fl,
                    const char   *tag)
{
  fl->path = pipecom_test_make_path (tag);
  g_assert_cmpint (mkfifo (fl->path, 0600), ==, 0);
  fl->fifo_fd = open (fl->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fl->fifo_fd, >=, 0);
  fl->req_fd = fl->rep_fd = -1;
}

static void
fake_listener_close_channel (FakeListener *fl)
{
  if (fl->req_fd >= 0)
    close (fl->req_fd);
  if (fl->rep_fd >= 0)
    close (fl->rep_fd);
  fl->req_fd = fl->rep_fd = -1;
}

static void
fake_listener_clear (FakeListener *fl)
{
  fake_listener_close_channel (fl);
  close (fl->fifo_fd);
  g_unlink (fl->path);
  g_clear_pointer (&fl->path, g_free);
}

/* Reads @len bytes from the non-blocking @fd, iterating the thread-default
 * context meanwhile (the client's callbacks run there). A call of @watch
 * (nullable) that fails meanwhile fails the test. */
static gboolean
fake_read (int                fd,
           guint8            *buf,
           gsize              len,
           PipecomTestResult *watch)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (PIPECOM_TEST_DEADLINE);
  gsize have = 0;

  while (have < len)
    {
      ssize_t n = read (fd, buf + have, len - have);

      /* 0: no writer yet (or any more); the deadline says when to stop. */
      if (n > 0)
        have += n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        break;
      else if (watch != NULL && watch->done)
        {
          g_assert_no_error (watch->error);
          g_error ("The call ended before the client wrote again");
        }
      else if (!pipecom_test_deadline_iterate (deadline))
        g_error ("The client wrote nothing within %d s", PIPECOM_TEST_DEADLINE);
    }
  pipecom_test_deadline_free (deadline);
  return have == len;
}

/* Returns whether it went out: the client may have closed its end. */
static gboolean
fake_write_frame (FakeListener *fl,
                  guint8        type,
                  guint32       id,
                  const void   *data,
                  gsize         len)
{
  g_autofree guint8 *frame = g_malloc (PIPECOM_FRAME_HEADER_SIZE + len);
  ssize_t n;

  _pipecom_encode_frame_header (frame, len, type, id);
  if (len > 0)
    memcpy (frame + PIPECOM_FRAME_HEADER_SIZE, data, len);
  n = write (fl->rep_fd, frame, PIPECOM_FRAME_HEADER_SIZE + len);
  if (n < 0 && errno == EPIPE)
    return FALSE;
  g_assert_cmpint (n, ==, PIPECOM_FRAME_HEADER_SIZE + len);
  return TRUE;
}

/* Serves the next CONNECT announcement up to the HELLO. */
static void
fake_listener_accept (FakeListener      *fl,
                      PipecomTestResult *watch)
{
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  guint8 hello[PIPECOM_HELLO_SIZE] = { 0, };
  g_autofree char *base = NULL;
  g_autofree char *req = NULL;
  g_autofree char *rep = NULL;
  gsize base_len;

  /* One atomic write: the header says how long. */
  g_assert_true (fake_read (fl->fifo_fd, record, PIPECOM_ANNOUNCE_HEADER_SIZE, watch));
  g_assert_cmpmem (record, 4, "PCOM", 4);
  g_assert_cmpint (record[5], ==, PIPECOM_ANNOUNCE_CONNECT);
  base_len = _pipecom_get_u16 (record + 8);
  g_assert_cmpuint (_pipecom_get_u16 (record + 6), ==, PIPECOM_ANNOUNCE_HEADER_SIZE + base_len);
  g_assert_true (fake_read (fl->fifo_fd, record + PIPECOM_ANNOUNCE_HEADER_SIZE, base_len, watch));
  base = g_strndup ((const char *) record + PIPECOM_ANNOUNCE_HEADER_SIZE, base_len);
  req = g_strconcat (base, ".req", NULL);
  rep = g_strconcat (base, ".rep", NULL);

  fl->req_fd = open (req, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fl->req_fd, >=, 0);
  fl->rep_fd = open (rep, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fl->rep_fd, >=, 0);
  _pipecom_put_u32 (hello, PIPECOM_PROTOCOL_VERSION);
  g_assert_true (fake_write_frame (fl, PIPECOM_FRAME_HELLO, 0, hello, sizeof hello));
}

static gboolean
worker_marker_cb (gpointer data)
{
  g_atomic_int_set ((gint *) data, TRUE);
  return G_SOURCE_REMOVE;
}

/* Returns once the client's worker ran what was queued to it so far. */
static void
wait_for_worker (void)
{
  GMainContext *worker = _pipecom_worker_ref ();
  GSource *source = g_idle_source_new ();
  gint done = FALSE;

  g_source_set_priority (source, G_PRIORITY_LOW);
  g_source_set_callback (source, worker_marker_cb, &done, NULL);
  g_source_attach (source, worker);
  g_source_unref (source);
  pipecom_test_wait_for (g_atomic_int_get (&done), PIPECOM_TEST_DEADLINE);
  _pipecom_worker_unref ();
}

static void
test_idle_goodbye_after_epipe (gconstpointer data)
{
  gboolean goodbye = GPOINTER_TO_INT (data);
  g_autoptr(PipecomClient) client = NULL;
  PipecomTestResult result = { 0, };
  FakeListener fl;
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  guint8 payload[64];
  guint8 byte;

  g_test_summary (goodbye ?
                  "A request whose write fails with EPIPE, the listener having closed after "
                  "its goodbye which the client had not read yet, is sent again on a new "
                  "connection" :
                  "A request whose write fails with EPIPE, the listener having closed without "
                  "a goodbye, fails with CLOSED and is never sent again");

  fake_listener_init (&fl, goodbye ? "epipe-goodbye" : "epipe-eof");
  client = pipecom_client_new (fl.path);
  pipecom_client_set_timeout (client, PIPECOM_TEST_DEADLINE);

  pipecom_client_connect_async (client, NULL, pipecom_test_send_cb, &result);
  fake_listener_accept (&fl, NULL);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  pipecom_test_result_clear (&result);

  /* The listener stops reading, its goodbye not written yet: the client's
   * request meets EPIPE, with the goodbye still to come. */
  close (g_steal_fd (&fl.req_fd));
  pipecom_client_request_async (client, "raced", NULL, pipecom_test_request_cb, &result);
  wait_for_worker ();
  if (goodbye)
    {
      g_autoptr(GBytes) bye = _pipecom_error_payload_new (PIPECOM_ERROR_CLOSED,
                                                          PIPECOM_GOODBYE_TEXT ": test");

      /* (Fails only if the client closed its end: it then reports CLOSED.) */
      fake_write_frame (&fl, PIPECOM_FRAME_ERROR, 0, g_bytes_get_data (bye, NULL),
                        g_bytes_get_size (bye));
    }
  fake_listener_close_channel (&fl);

  if (!goodbye)
    {
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
      /* Never announced again. */
      g_assert_cmpint (read (fl.fifo_fd, &byte, 1), <=, 0);
      pipecom_test_result_clear (&result);
      fake_listener_clear (&fl);
      return;
    }

  /* Sent again, once, on a new connection. */
  fake_listener_accept (&fl, &result);
  g_assert_true (fake_read (fl.req_fd, header, sizeof header, NULL));
  g_assert_cmpint (header[4], ==, PIPECOM_FRAME_MESSAGE);
  g_assert_cmpuint (_pipecom_get_u32 (header), ==, strlen ("raced"));
  g_assert_true (fake_read (fl.req_fd, payload, strlen ("raced"), NULL));
  g_assert_cmpmem (payload, strlen ("raced"), "raced", strlen ("raced"));
  g_assert_true (fake_write_frame (&fl, PIPECOM_FRAME_REPLY, _pipecom_get_u32 (header + 8),
                                   "ack:raced", 9));

  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, "ack:raced");
  pipecom_test_result_clear (&result);

  pipecom_client_close (client);
  g_assert_cmpint (read (fl.req_fd, &byte, 1), <=, 0);
  fake_listener_clear (&fl);
}
#endif

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/client/properties", test_properties);
  g_test_add_func ("/client/connect/sync", test_connect_sync);
  g_test_add_func ("/client/connect/async", test_connect_async);
  g_test_add_func ("/client/connect/no-listener", test_connect_no_listener);
  g_test_add_func ("/client/request/sequential", test_request_sequential);
  g_test_add_func ("/client/request/out-of-order", test_request_out_of_order);
  g_test_add_func ("/client/request/many-clients", test_many_clients_one_context);
  g_test_add_func ("/client/send/variants", test_send_variants);
  g_test_add_func ("/client/close", test_close);
  g_test_add_func ("/client/listener-stopped", test_listener_stopped);
#ifdef G_OS_UNIX
  g_test_add_func ("/client/listener-killed/sigpipe", test_listener_killed_sigpipe);
#endif
  g_test_add_func ("/client/oversize", test_oversize);
  g_test_add_func ("/client/request/timeout", test_timeout);
  g_test_add_func ("/client/request/cancelled", test_cancel_one_of_many);
  g_test_add_func ("/client/direct/timeout", test_direct_timeout);
  g_test_add_func ("/client/direct/cancelled", test_direct_cancelled);
  g_test_add_func ("/client/direct/listener-killed", test_direct_listener_killed);
  g_test_add_func ("/client/direct/mixed", test_direct_mixed);
  g_test_add_func ("/client/direct/idle-notices-stop", test_direct_idle_notices_stop);
#ifdef G_OS_UNIX
  g_test_add_func ("/client/direct/read-waits", test_direct_read_waits);
  _pipecom_idle_goodbye_hook = goodbye_race_hook;
  g_test_add_data_func ("/client/idle/goodbye/race-direct", GINT_TO_POINTER (FALSE),
                        test_idle_goodbye_race);
  g_test_add_data_func ("/client/idle/goodbye/race-async", GINT_TO_POINTER (TRUE),
                        test_idle_goodbye_race);
  g_test_add_func ("/client/idle/goodbye/reconnect", test_idle_goodbye_reconnect);
  g_test_add_data_func ("/client/idle/goodbye/after-epipe", GINT_TO_POINTER (TRUE),
                        test_idle_goodbye_after_epipe);
  g_test_add_data_func ("/client/idle/epipe-without-goodbye", GINT_TO_POINTER (FALSE),
                        test_idle_goodbye_after_epipe);
#endif

  return g_test_run ();
}
