/* pipecom-connection-budget.c: the memory budget of a listener's connections
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-connection-private.h"

/* The memory budget (see pipecom-transport.h): what the connections of one
 * listener hold, partial frames and queued output, charged as they grow
 * and uncharged as they shrink (see pipecom-connection.c). The counters
 * are under the budget's lock; charging and dropping happen in the thread
 * that dispatches the connections. */

struct _PipecomBudget
{
  gatomicrefcount  ref_count;
  GMutex           lock;      /* protects what follows, and each holder's charged */
  guint64          limit;     /* 0: none */
  guint64          used;
  guint64          peak;
  GHashTable      *holders;   /* of PipecomConnection, those with a charge (unowned) */
};

PipecomBudget *
_pipecom_budget_new (guint64 limit)
{
  PipecomBudget *budget = g_new0 (PipecomBudget, 1);

  g_atomic_ref_count_init (&budget->ref_count);
  g_mutex_init (&budget->lock);
  budget->limit = limit;
  budget->holders = g_hash_table_new (NULL, NULL);
  return budget;
}

PipecomBudget *
_pipecom_budget_ref (PipecomBudget *budget)
{
  g_atomic_ref_count_inc (&budget->ref_count);
  return budget;
}

void
_pipecom_budget_unref (PipecomBudget *budget)
{
  if (!g_atomic_ref_count_dec (&budget->ref_count))
    return;

  /* Each holder has a reference: none is left. */
  g_assert (g_hash_table_size (budget->holders) == 0);
  g_hash_table_unref (budget->holders);
  g_mutex_clear (&budget->lock);
  g_free (budget);
}

guint64
_pipecom_budget_get_used (PipecomBudget *budget)
{
  guint64 used;

  g_mutex_lock (&budget->lock);
  used = budget->used;
  g_mutex_unlock (&budget->lock);
  return used;
}

guint64
_pipecom_budget_get_peak (PipecomBudget *budget)
{
  guint64 peak;

  g_mutex_lock (&budget->lock);
  peak = budget->peak;
  g_mutex_unlock (&budget->lock);
  return peak;
}

void
_pipecom_connection_uncharge (PipecomConnection *conn,
                              gsize              n)
{
  PipecomBudget *budget = conn->budget;

  if (budget == NULL || n == 0)
    return;

  g_mutex_lock (&budget->lock);
  n = MIN (n, conn->charged);
  budget->used -= n;
  conn->charged -= n;
  if (conn->charged == 0)
    g_hash_table_remove (budget->holders, conn);
  g_mutex_unlock (&budget->lock);
}

/* Drops @conn to give its memory back. @tell: the peer may be told why
 * with an ERROR frame (BUSY) answering message @id (0: the connection),
 * when it fits in the pipe now, no other frame being half written. */
static void
drop_over_budget (PipecomConnection *conn,
                  gboolean           tell,
                  guint32            id)
{
  g_autofree char *text =
    g_strdup_printf ("The listener's memory budget of %" G_GUINT64_FORMAT " bytes is used up: "
                     "dropping the connection that holds the most (%zu bytes)",
                     conn->budget->limit, conn->charged);

  if (tell && g_queue_is_empty (&conn->wqueue) && _pipecom_connection_io_can_write (conn))
    {
      g_autoptr(GBytes) payload = _pipecom_error_payload_new (PIPECOM_ERROR_BUSY, text);
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];
      gsize len;
      const guint8 *data = g_bytes_get_data (payload, &len);

      _pipecom_encode_frame_header (header, len, PIPECOM_FRAME_ERROR, id);
      _pipecom_connection_io_write_now (conn, header, data, len);
    }

  _pipecom_connection_fail (conn, g_error_new_literal (PIPECOM_ERROR, PIPECOM_ERROR_BUSY, text));
}

/* Charges @n more bytes of @conn to its budget. Over the budget, the
 * connection holding the most is dropped until the charge fits: another
 * one (ties included), or @conn itself, which then returns FALSE. */
gboolean
_pipecom_connection_charge_full (PipecomConnection *conn,
                                 gsize              n,
                                 gboolean           tell,
                                 guint32            id)
{
  PipecomBudget *budget = conn->budget;

  if (budget == NULL || n == 0)
    return TRUE;

  for (;;)
    {
      PipecomConnection *victim = NULL;
      GHashTableIter iter;
      gpointer key;
      gsize largest;

      g_mutex_lock (&budget->lock);
      if (budget->limit == 0 || (budget->used + n <= budget->limit && budget->used + n >= n))
        {
          budget->used += n;
          budget->peak = MAX (budget->peak, budget->used);
          if (conn->charged == 0)
            g_hash_table_add (budget->holders, conn);
          conn->charged += n;
          g_mutex_unlock (&budget->lock);
          return TRUE;
        }

      largest = conn->charged + n;
      g_hash_table_iter_init (&iter, budget->holders);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          PipecomConnection *other = key;

          if (other != conn && other->charged >= largest)
            {
              largest = other->charged;
              victim = other;
            }
        }
      if (victim != NULL)
        _pipecom_connection_ref (victim);
      g_mutex_unlock (&budget->lock);

      if (victim == NULL)
        {
          g_debug ("Memory budget: dropping a connection that wants %zu more bytes", n);
          drop_over_budget (conn, tell, id);
          return FALSE;
        }

      /* Closing it uncharges it: the loop then sees the room it left. */
      g_debug ("Memory budget: dropping the connection holding %zu bytes for one wanting %zu more",
               largest, n);
      drop_over_budget (victim, TRUE, victim->body != NULL ? victim->body_id : 0);
      _pipecom_connection_unref (victim);
    }
}

/* For a frame body growing (see _pipecom_connection_read_buffer()). */
gboolean
_pipecom_connection_charge (PipecomConnection *conn,
                            gsize              n)
{
  return _pipecom_connection_charge_full (conn, n, TRUE, conn->body_id);
}

/* Charges the partial frames and the queued output of @conn to @budget
 * from now on (a listener's connection, before it sent anything). */
void
_pipecom_connection_set_budget (PipecomConnection *conn,
                                PipecomBudget     *budget)
{
  g_return_if_fail (conn->budget == NULL);

  conn->budget = _pipecom_budget_ref (budget);
  g_mutex_lock (&budget->lock);
  conn->charged = conn->wqueued + (conn->body != NULL ? conn->body_cap : 0);
  budget->used += conn->charged;
  budget->peak = MAX (budget->peak, budget->used);
  if (conn->charged > 0)
    g_hash_table_add (budget->holders, conn);
  g_mutex_unlock (&budget->lock);
}
