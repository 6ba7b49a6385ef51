/* pipecom-registry.c: the listeners served in this process
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-registry-private.h"

/* ---- Registry of listeners in this process ---- */

static GMutex registry_lock;
static GHashTable *registry;

void
_pipecom_registry_add (const char   *path,
                       GMainContext *context)
{
  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    g_atomic_pointer_set (&registry,
                          g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) g_main_context_unref));
  g_hash_table_replace (registry, g_strdup (path), g_main_context_ref (context));
  g_mutex_unlock (&registry_lock);
}

void
_pipecom_registry_remove (const char *path)
{
  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    {
      g_hash_table_remove (registry, path);
      if (g_hash_table_size (registry) == 0)
        {
          GHashTable *empty = registry;

          g_atomic_pointer_set (&registry, NULL);
          g_hash_table_unref (empty);
        }
    }
  g_mutex_unlock (&registry_lock);
}

GMainContext *
_pipecom_registry_lookup (const char *path)
{
  GMainContext *ret = NULL;

  /* No listener in this process (the common case for a client): no lock.
   * The table exists while it holds one; a listener added meanwhile by
   * another thread races this lookup as it would race the lock. */
  if (g_atomic_pointer_get (&registry) == NULL)
    return NULL;

  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    {
      GMainContext *context = g_hash_table_lookup (registry, path);
      if (context)
        ret = g_main_context_ref (context);
    }
  g_mutex_unlock (&registry_lock);

  return ret;
}
