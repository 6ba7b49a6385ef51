/* pipecom-util-private.h: small helpers shared by the public shells
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * Pure helpers: any thread may call them; they take no lock, touch no
 * main context and run no callback. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A reply as a string, cut at its first NUL byte if any. Any thread. */
static inline char *
_pipecom_bytes_to_string (GBytes *bytes)
{
  gsize size;
  const char *data;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  return g_strndup (data ? data : "", size);
}

G_END_DECLS
