/* error-handling.c: what PipeCom's errors look like
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "Error Handling" section of the original PipeCom, plus a few more
 * errors. Every failure is a GError in the PIPECOM_ERROR domain whose
 * message says what went wrong and where:
 *
 *  - sending to a pipe nobody listens on: PIPECOM_ERROR_CONNECTION_FAILED
 *  - an unusable pipe name: PIPECOM_ERROR_INVALID_PIPE
 *  - a handler that answers with an error: PIPECOM_ERROR_HANDLER_FAILED
 *  - a message larger than the listener accepts: PIPECOM_ERROR_MESSAGE_TOO_LARGE
 *  - a handler slower than the sender's timeout: PIPECOM_ERROR_TIMEOUT
 *
 * The program exits with 0 when each error is the one expected.
 *
 *   error-handling
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

/* Prints an error the way the original README does, and checks its code */
static gboolean
report (const char   *what,
        const GError *error,
        PipecomError  expected)
{
  g_autoptr(GEnumClass) codes = g_type_class_ref (PIPECOM_TYPE_ERROR);
  GEnumValue *code;

  g_print ("%s\n", what);

  if (error == NULL)
    {
      g_print ("  Unexpected success\n\n");
      return FALSE;
    }

  code = error->domain == PIPECOM_ERROR ? g_enum_get_value (codes, error->code) : NULL;
  g_print ("  Error: %s\n", error->message);
  g_print ("  Error domain: %s\n", g_quark_to_string (error->domain));
  g_print ("  Error code: %s (%d)\n\n",
           code != NULL ? code->value_name : "not a PipecomError", error->code);

  return g_error_matches (error, PIPECOM_ERROR, expected);
}

/* The listener's handler. It runs in the listener's thread (the pipe is
 * "threaded"), so it may block. */
static char *
handler_cb (PipecomPipe    *pipe,
            PipecomMessage *message,
            gpointer        user_data)
{
  const char *text = pipecom_message_get_text (message);

  if (g_strcmp0 (text, "divide by zero") == 0)
    {
      g_autoptr(GError) error = NULL;

      /* Answer with an error: the sender gets PIPECOM_ERROR_HANDLER_FAILED
       * with this message. */
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot divide by zero");
      pipecom_message_reply_error (message, error);
      return NULL;
    }

  if (g_strcmp0 (text, "take your time") == 0)
    {
      /* Slower than the sender's one-second timeout */
      g_usleep (1500 * G_TIME_SPAN_MILLISECOND);
      return g_strdup ("done, but too late");
    }

  return g_strdup ("OK");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PipecomPipe) listener = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *missing_name = NULL;
  g_autofree char *listener_name = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *big = NULL;
  gboolean ok = TRUE;

  setlocale (LC_ALL, "");

  /* 1. Nobody listens: the three attempts fail at once (no listener to
   * wait for), and the error says so. */
  missing_name = g_strdup_printf ("nonexistent_pipe-%d", (int) getpid ());
  pipecom_send (missing_name, "test", 5, 3, &error);
  ok &= report ("Sending to a pipe nobody listens on:", error,
                PIPECOM_ERROR_CONNECTION_FAILED);
  g_clear_error (&error);

  /* 2. An unusable name */
  pipecom_send ("   ", "test", 5, 3, &error);
  ok &= report ("Sending to a pipe with a blank name:", error,
                PIPECOM_ERROR_INVALID_PIPE);
  g_clear_error (&error);

  /* A listener for the next cases, in a thread of its own, so that this
   * thread can use the blocking API. It refuses messages over 1 KiB. */
  listener_name = g_strdup_printf ("error_handling-%d", (int) getpid ());
  listener = g_object_new (PIPECOM_TYPE_PIPE,
                           "name", listener_name,
                           "max-message-size", 1024,
                           "threaded", TRUE,
                           NULL);
  g_signal_connect (listener, "message-received", G_CALLBACK (handler_cb), NULL);
  if (!pipecom_pipe_listen (listener, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", listener_name, error->message);
      return EXIT_FAILURE;
    }

  /* 3. The handler answers with an error */
  reply = pipecom_request (listener_name, "divide by zero", 5, 3, &error);
  ok &= report ("A handler that answers with an error:", error,
                PIPECOM_ERROR_HANDLER_FAILED);
  g_clear_error (&error);
  g_clear_pointer (&reply, g_free);

  /* 4. Too large: the listener refuses the message and keeps serving */
  big = g_strnfill (4096, 'x');
  pipecom_send (listener_name, big, 5, 3, &error);
  ok &= report ("A message larger than the listener accepts:", error,
                PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* 5. The handler takes longer than the timeout (1 second) */
  reply = pipecom_request (listener_name, "take your time", 1, 3, &error);
  ok &= report ("A handler slower than the sender's timeout:", error,
                PIPECOM_ERROR_TIMEOUT);
  g_clear_error (&error);
  g_clear_pointer (&reply, g_free);

  /* The listener still works */
  reply = pipecom_request (listener_name, "still there?", 5, 3, &error);
  if (reply == NULL || strcmp (reply, "OK") != 0)
    {
      g_print ("The listener stopped answering: %s\n",
               error != NULL ? error->message : "no reply");
      ok = FALSE;
    }
  g_clear_error (&error);

  /* Stop it with the die code */
  if (!pipecom_send (listener_name, PIPECOM_DEFAULT_DIE_CODE, 5, 3, &error))
    {
      g_print ("Could not stop the listener: %s\n", error->message);
      ok = FALSE;
    }

  g_print ("%s\n", ok ? "Every error was the one expected" : "Some errors were not the ones expected");

  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
