/* pipecom-error.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-error.h"

/**
 * SECTION:pipecom-error
 * @title: Errors
 * @short_description: the PipeCom error domain
 *
 * Every PipeCom call that can fail reports a #GError in the %PIPECOM_ERROR
 * domain, with a message that names the pipe, its path and the operating
 * system error where there is one. Cancelled calls report
 * %G_IO_ERROR_CANCELLED instead.
 *
 * |[<!-- language="C" -->
 * g_autoptr(GError) error = NULL;
 *
 * if (!pipecom_send ("my_pipe", "Hello", 5, 3, &error))
 *   {
 *     if (g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED))
 *       g_printerr ("Nobody listens: %s\n", error->message);
 *   }
 * ]|
 *
 * From Python, every call raises `pipecom.PipeError`, a #GError subclass
 * with the original Python library's `error_code` and `context`
 * (docs/porting-from-python.md); from JavaScript, a `GLib.Error`:
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * try:
 *     pipecom.send("my_pipe", "Hello", timeout=5, max_attempts=3)
 * except pipecom.PipeError as e:
 *     if e.error_code in (pipecom.PipeError.CONNECTION_FAILED, pipecom.PipeError.TIMEOUT):
 *         print("Nobody listens:", e.context)
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {Pipecom} = imports.gi;
 *
 * try {
 *     Pipecom.send('my_pipe', 'Hello', 5, 3);
 * } catch (e) {
 *     if (e.matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED))
 *         printerr(`Nobody listens: ${e.message}`);
 * }
 * ]|
 */

/**
 * pipecom_error_quark:
 *
 * Gets the PipeCom error domain.
 *
 * Returns: the #GQuark of %PIPECOM_ERROR
 *
 * Since: 1.0
 */
GQuark
pipecom_error_quark (void)
{
  /* As G_DEFINE_QUARK(), with atomic accesses: senders in several threads
   * may make their first errors at once. */
  static gint quark = 0;
  GQuark q = (GQuark) g_atomic_int_get (&quark);

  if (G_UNLIKELY (q == 0))
    {
      q = g_quark_from_static_string ("pipecom-error-quark");
      g_atomic_int_set (&quark, (gint) q);
    }

  return q;
}
