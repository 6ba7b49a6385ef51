#!/usr/bin/env python3
# quickstart-sender.py: the quick start's sender, in Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
#   quickstart-sender.py [--timeout=SECONDS] [--attempts=N] [NAME [MESSAGE]]

import argparse
import sys

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--timeout', type=int, default=5)
parser.add_argument('--attempts', type=int, default=0)
parser.add_argument('name', nargs='?', default='my_pipe')
parser.add_argument('message', nargs='?', default='Hello, World!')
args = parser.parse_args()

try:
    if Pipecom.send(args.name, args.message, timeout=args.timeout, max_attempts=args.attempts):
        print('Message sent successfully!')
except Pipecom.PipeError as e:
    print(f'Failed to send message: {e.message}', file=sys.stderr)
    sys.exit(1)
