/* pipecom.h
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#define PIPECOM_INSIDE
# include "pipecom-version.h"
# include "pipecom-version-macros.h"
# include "pipecom-enums.h"
# include "pipecom-error.h"
# include "pipecom-message.h"
# include "pipecom-pipe.h"
# include "pipecom-client.h"
# include "pipecom-send.h"
#undef PIPECOM_INSIDE
