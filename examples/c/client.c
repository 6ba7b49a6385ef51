/* client.c: a persistent connection with several requests in flight
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A tiny calculator service, and a PipecomClient that sends it several
 * requests at once over one connection. The replies are matched to their
 * requests, even when they come back out of order: the service answers
 * "slow" requests later, from a timeout, with pipecom_message_reply().
 *
 * Both sides run in the main thread's GMainLoop, with the asynchronous API.
 *
 *   client
 */

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <process.h>
# define getpid _getpid
#endif

#define DEADLINE_SECONDS 20

typedef struct
{
  const char *question;
  const char *answer;       /* the reply we expect, or NULL for an error */
} Request;

static const Request requests[] = {
  { "add 2 3", "5" },
  { "slow mul 6 7", "42" },   /* answered 300 ms later */
  { "sub 10 4", "6" },
  { "div 1 0", NULL },        /* answered with an error */
  { "slow add 1 1", "2" },    /* answered 300 ms later */
  { "mul 3 3", "9" },
};

typedef struct
{
  GMainLoop     *loop;
  PipecomClient *client;
  guint          n_pending;
  guint          deadline_id;
  int            status;
} Calculator;

typedef struct
{
  Calculator    *calculator;
  const Request *request;
} PendingRequest;

/* The service */

static char *
calculate (const char  *question,
           GError     **error)
{
  g_auto(GStrv) words = g_strsplit (question, " ", -1);
  gint64 a, b;

  if (g_strv_length (words) != 3 ||
      !g_ascii_string_to_signed (words[1], 10, G_MININT32, G_MAXINT32, &a, NULL) ||
      !g_ascii_string_to_signed (words[2], 10, G_MININT32, G_MAXINT32, &b, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "expected \"OPERATION A B\", got \"%s\"", question);
      return NULL;
    }

  if (g_str_equal (words[0], "add"))
    return g_strdup_printf ("%" G_GINT64_FORMAT, a + b);
  if (g_str_equal (words[0], "sub"))
    return g_strdup_printf ("%" G_GINT64_FORMAT, a - b);
  if (g_str_equal (words[0], "mul"))
    return g_strdup_printf ("%" G_GINT64_FORMAT, a * b);
  if (g_str_equal (words[0], "div") && b != 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT, a / b);

  if (g_str_equal (words[0], "div"))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "division by zero");
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "unknown operation \"%s\"", words[0]);
  return NULL;
}

static gboolean
slow_answer_cb (gpointer user_data)
{
  PipecomMessage *message = user_data;
  const char *question = pipecom_message_get_text (message) + strlen ("slow ");
  g_autoptr(GError) error = NULL;
  g_autofree char *result = calculate (question, &error);

  /* The delayed reply */
  if (result != NULL)
    pipecom_message_reply (message, result);
  else
    pipecom_message_reply_error (message, error);

  return G_SOURCE_REMOVE;
}

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  const char *text = pipecom_message_get_text (message);
  g_autoptr(GError) error = NULL;
  char *result;

  if (text == NULL)
    return NULL;

  g_print ("service: received \"%s\"\n", text);

  if (g_str_has_prefix (text, "slow "))
    {
      /* Reply later: keep a reference to the message and return NULL.
       * The sender waits for the reply; other requests go on meanwhile. */
      g_timeout_add_full (G_PRIORITY_DEFAULT, 300, slow_answer_cb,
                          g_object_ref (message), g_object_unref);
      return NULL;
    }

  /* Reply now: return the reply, or answer with an error (the sender gets
   * PIPECOM_ERROR_HANDLER_FAILED and the error's message). */
  result = calculate (text, &error);
  if (result == NULL)
    pipecom_message_reply_error (message, error);

  return result;
}

/* The client */

static void
request_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PendingRequest *pending = user_data;
  Calculator *calculator = pending->calculator;
  const Request *request = pending->request;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  reply = pipecom_client_request_finish (PIPECOM_CLIENT (object), result, &error);
  if (reply != NULL)
    g_print ("client: %s = %s\n", request->question, reply);
  else
    g_print ("client: %s failed: %s\n", request->question,
             error != NULL ? error->message : "no reply");

  if (request->answer != NULL ?
      g_strcmp0 (reply, request->answer) != 0 :
      !g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED))
    {
      g_print ("client: unexpected answer to %s\n", request->question);
      calculator->status = EXIT_FAILURE;
    }

  g_free (pending);

  if (--calculator->n_pending == 0)
    g_main_loop_quit (calculator->loop);
}

static gboolean
deadline_cb (gpointer user_data)
{
  Calculator *calculator = user_data;

  g_printerr ("The requests did not complete within %d seconds\n", DEADLINE_SECONDS);
  calculator->deadline_id = 0;
  calculator->status = EXIT_FAILURE;
  g_main_loop_quit (calculator->loop);

  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PipecomPipe) service = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  Calculator calculator = { 0, };

  setlocale (LC_ALL, "");

  /* A name of our own, so that several demos can run at once */
  name = g_strdup_printf ("calculator-%d", (int) getpid ());

  service = pipecom_pipe_new (name);
  g_signal_connect (service, "message-received",
                    G_CALLBACK (message_received_cb), NULL);
  if (!pipecom_pipe_listen (service, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", name, error->message);
      return EXIT_FAILURE;
    }

  /* One client, one connection, many requests. The client connects on
   * its first request; its timeout applies to each request. */
  client = pipecom_client_new (name);
  pipecom_client_set_timeout (client, 5);

  calculator.loop = loop;
  calculator.client = client;
  calculator.status = EXIT_SUCCESS;

  /* Send them all at once: they are all in flight together */
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      PendingRequest *pending = g_new0 (PendingRequest, 1);

      pending->calculator = &calculator;
      pending->request = &requests[i];
      calculator.n_pending++;
      g_print ("client: asking %s\n", requests[i].question);
      pipecom_client_request_async (client, requests[i].question, NULL,
                                    request_done_cb, pending);
    }

  calculator.deadline_id = g_timeout_add_seconds (DEADLINE_SECONDS, deadline_cb, &calculator);
  g_main_loop_run (loop);
  g_clear_handle_id (&calculator.deadline_id, g_source_remove);

  /* Done with the connection: close it, then stop the service */
  pipecom_client_close (client);
  pipecom_pipe_stop (service);

  g_print ("service: handled %u messages\n", pipecom_pipe_get_message_count (service));
  g_print ("%s\n", calculator.status == EXIT_SUCCESS ? "All answers are right" : "Some answers are wrong");

  return calculator.status;
}
