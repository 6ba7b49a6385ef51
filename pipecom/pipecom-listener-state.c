/* pipecom-listener-state.c: the state machine of a listening pipe
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The one place the state of a pipe changes, and the transitions it
 * allows (drawn in pipecom-listener-private.h). Runs where
 * _pipecom_listener_set_state() is called: in the serving thread, or in
 * listen() and dispose when nobody serves the pipe. */

#include "config.h"

#include "pipecom-listener-private.h"

static const char *
state_name (PipecomListenerState state)
{
  static const char * const names[] = {
    "idle", "listening", "limited", "stopping", "draining", "closing", "flushing", "stopped",
  };

  return state < G_N_ELEMENTS (names) ? names[state] : "?";
}

/* Whether the state machine drawn in pipecom-listener-private.h goes
 * from @from to @to. */
static gboolean
is_transition (PipecomListenerState from,
               PipecomListenerState to)
{
  switch (to)
    {
    case PIPECOM_LISTENER_LISTENING:
      return from == PIPECOM_LISTENER_IDLE || from == PIPECOM_LISTENER_STOPPED;
    case PIPECOM_LISTENER_LIMITED:
    case PIPECOM_LISTENER_STOPPING:
      return from == PIPECOM_LISTENER_LISTENING;
    case PIPECOM_LISTENER_DRAINING:
      return from == PIPECOM_LISTENER_STOPPING;
    case PIPECOM_LISTENER_CLOSING:
      return from == PIPECOM_LISTENER_LIMITED || from == PIPECOM_LISTENER_DRAINING;
    case PIPECOM_LISTENER_FLUSHING:
      return from == PIPECOM_LISTENER_STOPPING || from == PIPECOM_LISTENER_DRAINING ||
             from == PIPECOM_LISTENER_CLOSING;
    case PIPECOM_LISTENER_STOPPED:
      return from != PIPECOM_LISTENER_IDLE && from != PIPECOM_LISTENER_STOPPED;
    case PIPECOM_LISTENER_IDLE:
    default:
      return FALSE;
    }
}

/* The one place the state of @self changes. */
void
_pipecom_listener_set_state (PipecomPipe          *self,
                             PipecomListenerState  state)
{
  PipecomListenerState from = _pipecom_listener_get_state (self);

  if (!is_transition (from, state))
    {
      g_critical ("Pipe “%s”: no transition from %s to %s",
                  self->name, state_name (from), state_name (state));
      return;
    }

  g_atomic_int_set (&self->state, state);
}
