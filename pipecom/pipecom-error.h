/* pipecom-error.h
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#if !defined(PIPECOM_INSIDE) && !defined(PIPECOM_COMPILATION)
# error "Only <pipecom.h> can be included directly."
#endif

#include <glib.h>

#include "pipecom-version-macros.h"

G_BEGIN_DECLS

/**
 * PIPECOM_ERROR:
 *
 * Error domain for PipeCom. Errors in this domain are from the
 * #PipecomError enumeration. Cancelled operations use
 * %G_IO_ERROR_CANCELLED in the %G_IO_ERROR domain instead.
 *
 * Since: 1.0
 */
#define PIPECOM_ERROR (pipecom_error_quark ())

/**
 * PipecomError:
 * @PIPECOM_ERROR_INVALID_PIPE: the pipe name is empty, too long or otherwise
 *   unusable, or the path's directory does not exist.
 * @PIPECOM_ERROR_CONNECTION_FAILED: no listener could be reached within the
 *   attempts or the timeout.
 * @PIPECOM_ERROR_PERMISSION_DENIED: the pipe, its directory or a file at its
 *   path belongs to someone else, is a symbolic link, or is not a FIFO; or
 *   the caller may not reach it (a directory on its path is closed to it);
 *   or another user sent the die code of a shared pipe.
 * @PIPECOM_ERROR_TIMEOUT: the operation did not complete within its timeout.
 * @PIPECOM_ERROR_UNKNOWN: an unexpected operating system error.
 * @PIPECOM_ERROR_ADDRESS_IN_USE: a live listener already owns the name.
 * @PIPECOM_ERROR_BUSY: the listener's queue of new connections is full and
 *   the attempts were used up.
 * @PIPECOM_ERROR_CLOSED: the peer went away or stopped mid-exchange; the
 *   message was not handled.
 * @PIPECOM_ERROR_PROTOCOL: the peer sent malformed or foreign data, or speaks
 *   another protocol version.
 * @PIPECOM_ERROR_MESSAGE_TOO_LARGE: the message is larger than the listener's
 *   #PipecomPipe:max-message-size.
 * @PIPECOM_ERROR_HANDLER_FAILED: the listener's handler answered the message
 *   with an error (see pipecom_message_reply_error()).
 *
 * Error codes in the %PIPECOM_ERROR domain.
 *
 * Since: 1.0
 */
typedef enum
{
  PIPECOM_ERROR_INVALID_PIPE,
  PIPECOM_ERROR_CONNECTION_FAILED,
  PIPECOM_ERROR_PERMISSION_DENIED,
  PIPECOM_ERROR_TIMEOUT,
  PIPECOM_ERROR_UNKNOWN,
  PIPECOM_ERROR_ADDRESS_IN_USE,
  PIPECOM_ERROR_BUSY,
  PIPECOM_ERROR_CLOSED,
  PIPECOM_ERROR_PROTOCOL,
  PIPECOM_ERROR_MESSAGE_TOO_LARGE,
  PIPECOM_ERROR_HANDLER_FAILED,
} PipecomError;

PIPECOM_AVAILABLE_IN_ALL
GQuark pipecom_error_quark (void);

G_END_DECLS
