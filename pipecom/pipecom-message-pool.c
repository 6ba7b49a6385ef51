/* pipecom-message-pool.c: reusing the messages nobody kept
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Creating and finalizing a GObject per message costs the listener more
 * than anything else it does for the message: about 2,800 instructions,
 * most of them in g_object_unref()'s clean-up (the notification queue it
 * freezes, qdata, signal handlers, weak references) and the allocations.
 * So when the emission is over and nobody but the pipe can reach the
 * message, the pipe keeps it, as its "spare", for the next message
 * instead of finalizing it (_pipecom_message_release()).
 *
 * Nobody can reach it when it was answered (nothing is owed to the
 * sender, which is all finalize() would do) and
 *  - its qdata is empty: no GWeakRef, g_object_weak_ref(), toggle
 *    reference, g_object_set_data(), watched closure, or PyGObject or GJS
 *    wrapper (GObject keeps all of these there, and frees the list when it
 *    empties); but for PyGObject's "instance data" (see qdata_is_clear());
 *  - its reference count is 1, the pipe's: no C reference, no reference
 *    held by a thread that will answer later, no binding's wrapper;
 *  - it has no signal handler (its only signal is "notify"), since
 *    finalizing would disconnect them.
 * Whatever a handler did to keep the message, in its thread or by handing
 * it to another one, happened before the emission returned, so these
 * checks see it, and the message is then finalized exactly as before. A
 * pipecom_message_hold() message not answered yet is not "answered".
 *
 * The qdata and the count are read twice, around the look for handlers.
 * A thread that holds a reference could still escape the checks by racing
 * them, if it made a GWeakRef and dropped its reference, turned the
 * GWeakRef into a reference again and cleared it, then made another one
 * and dropped that reference, each step between two of these loads;
 * GObject's own g_object_unref() (GLib 2.74) reads the count and the weak
 * references without a lock in the same way.
 *
 * The message is reused only by the pipe that kept it, in its serving
 * thread; meanwhile it holds no connection, pipe or payload.
 *
 * Setting PIPECOM_MESSAGE_REUSE=0 in the environment turns all of this
 * off: every message is then created and finalized as any GObject. */

#include "config.h"

#include "pipecom-message-pool-private.h"

gboolean
_pipecom_message_pool_enabled (void)
{
  static gsize enabled = 0;

  /* 1: off, 2: on (0 is g_once_init_enter()'s "not yet"). */
  if (g_once_init_enter (&enabled))
    {
      const char *value = g_getenv ("PIPECOM_MESSAGE_REUSE");

      g_once_init_leave (&enabled, g_strcmp0 (value, "0") == 0 ? 1 : 2);
    }

  return enabled == 2;
}

guint
_pipecom_object_peek_ref_count (GObject *object)
{
  return g_atomic_int_get (&object->ref_count);
}

gboolean
_pipecom_object_has_qdata (GObject *object)
{
  return g_atomic_pointer_get (&object->qdata) != NULL;
}

static void
count_qdata_cb (GQuark   key,
                gpointer data,
                gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* Whether the qdata of @object holds nothing, or PyGObject's instance data
 * only. PyGObject leaves that on every object that had a Python wrapper,
 * once the wrapper is gone (it makes it as it drops the wrapper): the
 * wrapper's class, the same for every message, and the closures Python
 * connected to the object, which would be signal handlers (checked
 * apart). It reaches nothing, and is right for the next message as well;
 * without this, no message that a Python handler saw was ever reused. A
 * live wrapper holds a reference (or a toggle reference, in the qdata). */
static gboolean
qdata_is_clear (GObject *object)
{
  static GQuark pygobject_data_quark;
  GQuark quark;
  guint count = 0;

  if (G_LIKELY (!_pipecom_object_has_qdata (object)))
    return TRUE;

  quark = g_atomic_int_get (&pygobject_data_quark);
  if (quark == 0)
    {
      quark = g_quark_try_string ("PyGObject::instance-data");
      if (quark == 0)
        return FALSE;
      g_atomic_int_set (&pygobject_data_quark, quark);
    }
  if (g_object_get_qdata (object, quark) == NULL)
    return FALSE;
  g_datalist_foreach (&object->qdata, count_qdata_cb, &count);
  return count == 1;
}

gboolean
_pipecom_message_pool_unreachable (GObject *object,
                                   guint    signal_id)
{
  return qdata_is_clear (object) &&
         _pipecom_object_peek_ref_count (object) == 1 &&
         g_signal_handler_find (object, G_SIGNAL_MATCH_ID, signal_id, 0,
                                NULL, NULL, NULL) == 0 &&
         qdata_is_clear (object) &&
         _pipecom_object_peek_ref_count (object) == 1;
}

gboolean
_pipecom_message_pool_still_unreachable (GObject *object)
{
  return _pipecom_object_peek_ref_count (object) == 1 &&
         qdata_is_clear (object);
}
