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

typedef struct
{
  GMainContext *context;  /* (owned) */
  GThread      *thread;   /* (owned): the thread that listened */
} Entry;

static void
entry_free (Entry *entry)
{
  g_main_context_unref (entry->context);
  g_thread_unref (entry->thread);
  g_free (entry);
}

void
_pipecom_registry_add (const char   *path,
                       GMainContext *context)
{
  Entry *entry = g_new (Entry, 1);

  entry->context = g_main_context_ref (context);
  entry->thread = g_thread_ref (g_thread_self ());

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    g_atomic_pointer_set (&registry,
                          g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) entry_free));
  g_hash_table_replace (registry, g_strdup (path), entry);
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

gboolean
_pipecom_registry_is_empty (void)
{
  return g_atomic_pointer_get (&registry) == NULL;
}

GMainContext *
_pipecom_registry_lookup (const char *path,
                          gboolean   *listened_here)
{
  GMainContext *ret = NULL;

  *listened_here = FALSE;

  /* No listener in this process (the common case for a client): no lock.
   * The table exists while it holds one; a listener added meanwhile by
   * another thread races this lookup as it would race the lock. */
  if (g_atomic_pointer_get (&registry) == NULL)
    return NULL;

  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    {
      Entry *entry = g_hash_table_lookup (registry, path);
      if (entry)
        {
          ret = g_main_context_ref (entry->context);
          *listened_here = entry->thread == g_thread_self ();
        }
    }
  g_mutex_unlock (&registry_lock);

  return ret;
}
