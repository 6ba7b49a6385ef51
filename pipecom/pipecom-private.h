/* pipecom-private.h: the library's internal headers at once, for tests
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract: see each header included here; this
 * one declares nothing itself.
 *
 * No file of the library includes this header: each unit includes the
 * private headers of the units it uses (tests/check-includes.py checks
 * that they form no cycle). The tests, fuzzers and helper programs, which
 * reach into several units at once, include it instead. */

#pragma once

#include "pipecom.h"
#include "pipecom-protocol.h"
#include "pipecom-transport.h"
#include "pipecom-listener-private.h"
#include "pipecom-registry-private.h"
#include "pipecom-worker-private.h"
#include "pipecom-util-private.h"
