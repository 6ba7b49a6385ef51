/* quickstart-sender.c: the quick start's sender
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Sends one message to a pipe and says whether the listener received it.
 *
 *   quickstart-sender [--timeout=SECONDS] [--attempts=N] [NAME [MESSAGE]]
 *
 * NAME defaults to "my_pipe" and MESSAGE to "Hello, World!". Send
 * "PIPECOM_DIE" to stop the listener.
 */

#include <locale.h>
#include <stdlib.h>

#include <pipecom.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *name = "my_pipe";
  const char *message = "Hello, World!";
  int timeout = 5;
  int attempts = 0;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
      "Give up after SECONDS (default: 5; 0: never)", "SECONDS" },
    { "attempts", 'a', 0, G_OPTION_ARG_INT, &attempts,
      "Try to reach the listener at most N times (default: 0, as often as the timeout allows)", "N" },
    { NULL }
  };

  setlocale (LC_ALL, "");

  context = g_option_context_new ("[NAME [MESSAGE]] - send a message to a pipe");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      argc > 3 || timeout < 0 || attempts < 0)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "Usage: quickstart-sender [--timeout=SECONDS] [--attempts=N] [NAME [MESSAGE]]");
      return EXIT_FAILURE;
    }
  if (argc >= 2)
    name = argv[1];
  if (argc == 3)
    message = argv[2];

  /* Returns TRUE once the listener has handled the message */
  if (pipecom_send (name, message, timeout, attempts, &error))
    {
      g_print ("Message sent successfully!\n");
      return EXIT_SUCCESS;
    }
  else
    {
      g_print ("Failed to send message: %s\n", error->message);
      return EXIT_FAILURE;
    }
}
