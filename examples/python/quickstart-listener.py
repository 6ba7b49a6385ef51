#!/usr/bin/env python3
# quickstart-listener.py: the quick start's listener, in Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
#   quickstart-listener.py [--timeout=SECONDS] [NAME]
#
# Prints each message until "PIPECOM_DIE" arrives (or, with --timeout,
# until no message came for SECONDS). As in the original library,
# listen() serves in the background; daemon=False keeps the process alive
# until the pipe stops.

import argparse

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402


def message_handler(message):
    print(f'Received: {message}', flush=True)


parser = argparse.ArgumentParser()
parser.add_argument('--timeout', type=int, default=0)
parser.add_argument('name', nargs='?', default='my_pipe')
args = parser.parse_args()

pipe = Pipecom.Pipe(args.name, message_handler, timeout=args.timeout, daemon=False)
pipe.connect('stopped', lambda p, reason: print(f'Stopped ({reason.value_nick}) '
                                                 f'after {p.get_message_count()} message(s)'))
pipe.listen()
print(f'Listening on {args.name}. Send "PIPECOM_DIE" to stop.', flush=True)
