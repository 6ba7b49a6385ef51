/* helper-request.c: a C peer for the Python and GJS tests
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 *   helper-request [--send] NAME MESSAGE
 *
 * Sends MESSAGE to the pipe NAME as a request (or, with --send, as a plain
 * message) and prints the reply on standard output ("(none)" when the
 * handler gave none). On failure it prints "error DOMAIN CODE: MESSAGE" on
 * standard error and exits with status 1.
 */

#include <stdlib.h>

#include <pipecom.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  gboolean send_only = FALSE;
  const GOptionEntry entries[] = {
    { "send", 's', 0, G_OPTION_ARG_NONE, &send_only, "Send, do not request", NULL },
    { NULL }
  };

  context = g_option_context_new ("NAME MESSAGE");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 3)
    {
      g_printerr ("usage: helper-request [--send] NAME MESSAGE\n");
      return EXIT_FAILURE;
    }

  if (send_only)
    {
      if (!pipecom_send (argv[1], argv[2], 30, 0, &error))
        goto failed;
      g_print ("sent\n");
      return EXIT_SUCCESS;
    }

  reply = pipecom_request (argv[1], argv[2], 30, 0, &error);
  if (error != NULL)
    goto failed;
  g_print ("%s\n", reply != NULL ? reply : "(none)");
  return EXIT_SUCCESS;

failed:
  g_printerr ("error %s %d: %s\n", g_quark_to_string (error->domain), error->code, error->message);
  return EXIT_FAILURE;
}
