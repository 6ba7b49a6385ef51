/* pipecom-message-pool-private.h: reusing the messages nobody kept
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * These functions own the one assumption PipeCom makes about GObject's
 * private layout: that a GObject's reference count and qdata list are the
 * ref_count and qdata members of the public GObject struct, with the
 * meaning GLib 2.74 gives them (tests/test-message-pool.c checks it
 * against g_object_ref(), g_object_unref() and g_object_set_qdata()).
 *
 * _pipecom_message_pool_enabled(), _pipecom_object_peek_ref_count() and
 * _pipecom_object_has_qdata() may be called from any thread; they take no
 * lock, run no callback and touch no main context. The two
 * _pipecom_message_pool_*_unreachable() checks are called by a listener's
 * serving thread on the messages it emitted, after their emission; a
 * thread holding a reference to the object may run meanwhile (see
 * pipecom-message-pool.c for the one race they accept). */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Whether messages are reused: TRUE unless the environment variable
 * PIPECOM_MESSAGE_REUSE is "0" (read once, at the first call). */
gboolean _pipecom_message_pool_enabled              (void);

/* GObject's reference count of @object, read without a lock. */
guint    _pipecom_object_peek_ref_count             (GObject *object);

/* Whether @object's qdata list holds anything (a GWeakRef, weak or
 * toggle reference, object data, a binding's wrapper...). */
gboolean _pipecom_object_has_qdata                  (GObject *object);

/* Whether nobody but its one holder can reach @object: no qdata, a
 * reference count of 1 and no handler of @signal_id, the only signal
 * the object has. */
gboolean _pipecom_message_pool_unreachable          (GObject *object,
                                                     guint    signal_id);

/* The cheap part of the check again, before a kept object is reused. */
gboolean _pipecom_message_pool_still_unreachable    (GObject *object);

G_END_DECLS
