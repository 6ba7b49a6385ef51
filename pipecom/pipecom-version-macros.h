/* pipecom-version-macros.h
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

#ifndef _PIPECOM_EXTERN
# if defined(_WIN32) && defined(PIPECOM_COMPILATION) && !defined(PIPECOM_STATIC_COMPILATION)
#  define _PIPECOM_EXTERN __declspec(dllexport) extern
# elif defined(_WIN32) && !defined(PIPECOM_STATIC_COMPILATION)
#  define _PIPECOM_EXTERN __declspec(dllimport) extern
# else
#  define _PIPECOM_EXTERN __attribute__((visibility("default"))) extern
# endif
#endif

#define PIPECOM_AVAILABLE_IN_ALL _PIPECOM_EXTERN
