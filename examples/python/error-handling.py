#!/usr/bin/env python3
# error-handling.py: what PipeCom's errors look like from Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# Errors are GLib.Error (Pipecom.PipeError) in the Pipecom domain, with a
# code from Pipecom.Error.

import os
import sys

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

failures = 0

# A pipe with no listener
try:
    Pipecom.send(f'nonexistent_pipe-{os.getpid()}', 'test', timeout=2, max_attempts=2)
    failures += 1
except Pipecom.PipeError as e:
    print(f'Error: {e.message}')
    print(f'Error code: {Pipecom.Error(e.code).value_nick}')
    failures += not e.matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED)

# A handler that raises: the sender gets HANDLER_FAILED at once
name = f'failing-{os.getpid()}'
pipe = Pipecom.Pipe(name, lambda message: 1 / 0)
pipe.listen()
try:
    Pipecom.send(name, 'divide', timeout=5)
    failures += 1
except Pipecom.PipeError as e:
    print(f'Error: {e.message}')
    print(f'Error code: {Pipecom.Error(e.code).value_nick}')
    failures += not e.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)

sys.exit(1 if failures else 0)
