/* quickstart-listener.c: the quick start's listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Listens on a named pipe and prints every message it receives, until a
 * sender sends the die code ("PIPECOM_DIE"), the optional inactivity timeout
 * runs out, or you press Ctrl+C.
 *
 *   quickstart-listener [--timeout=SECONDS] [NAME]
 *
 * NAME defaults to "my_pipe". Try it with quickstart-sender in another
 * terminal:
 *
 *   ./build/examples/c/quickstart-listener my_pipe
 *   ./build/examples/c/quickstart-sender my_pipe "Hello, World!"
 */

#include <locale.h>
#include <stdlib.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <glib-unix.h>
#endif

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  const char *text = pipecom_message_get_text (message);

  if (text == NULL)
    {
      g_print ("Received %" G_GSIZE_FORMAT " bytes of binary data\n",
               pipecom_message_get_size (message));
      return NULL; /* NULL: acknowledge the message, with no reply */
    }

  g_print ("Received: %s\n", text);

  /* The string returned here is the reply: pipecom_request() returns it to
   * the sender. pipecom_send() only waits for the acknowledgement. */
  return g_utf8_strup (text, -1);
}

#ifdef G_OS_UNIX
static gboolean
interrupted_cb (gpointer user_data)
{
  PipecomPipe *pipe = user_data;

  g_print ("Interrupted, stopping\n");
  pipecom_pipe_stop (pipe);

  return G_SOURCE_REMOVE;
}
#endif

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GEnumClass) reasons = NULL;
  GEnumValue *reason;
  const char *name = "my_pipe";
  int timeout = 0;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
      "Stop after SECONDS without a message (0: never)", "SECONDS" },
    { NULL }
  };

  setlocale (LC_ALL, "");

  context = g_option_context_new ("[NAME] - print the messages sent to a pipe");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      argc > 2 || timeout < 0)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "Usage: quickstart-listener [--timeout=SECONDS] [NAME]");
      return EXIT_FAILURE;
    }
  if (argc == 2)
    name = argv[1];

  /* Create the pipe and say what to do with each message */
  pipe = pipecom_pipe_new (name);
  pipecom_pipe_set_timeout (pipe, timeout);
  g_signal_connect (pipe, "message-received",
                    G_CALLBACK (message_received_cb), NULL);

#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, interrupted_cb, pipe);
#endif

  /* Start listening now, so that we can say where the pipe lives */
  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", name, error->message);
      return EXIT_FAILURE;
    }

  g_print ("Listening on %s (%s). Send \"%s\" or press Ctrl+C to stop.\n",
           name, pipecom_pipe_get_path (pipe), pipecom_pipe_get_die_code (pipe));

  /* Serve until the pipe stops: die code, timeout, or Ctrl+C */
  if (!pipecom_pipe_run (pipe, &error))
    {
      g_printerr ("The listener failed: %s\n", error->message);
      return EXIT_FAILURE;
    }

  reasons = g_type_class_ref (PIPECOM_TYPE_STOP_REASON);
  reason = g_enum_get_value (reasons, pipecom_pipe_get_stop_reason (pipe));
  g_print ("Stopped (%s) after %u message(s)\n",
           reason != NULL ? reason->value_nick : "?",
           pipecom_pipe_get_message_count (pipe));

  return EXIT_SUCCESS;
}
