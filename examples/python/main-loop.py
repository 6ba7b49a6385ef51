#!/usr/bin/env python3
# main-loop.py: a GTK-free program with a GLib main loop
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# The pipe serves in the main loop (no thread): handlers run in the main
# thread, and the asynchronous calls complete there too.

import os
import sys

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import GLib, Pipecom  # noqa: E402

name = f'main-loop-{os.getpid()}'
loop = GLib.MainLoop()
replies = []

pipe = Pipecom.Pipe(name=name)          # plain constructor: no thread
pipe.connect('message-received', lambda p, message: message.get_text().upper())
pipe.connect('stopped', lambda p, reason: loop.quit())
pipe.listen()


def request_done_cb(source, result, user_data):
    replies.append(Pipecom.request_finish(result))
    print(f'Reply: {replies[-1]}')
    if len(replies) == 3:
        pipe.stop()


for word in ('one', 'two', 'three'):
    Pipecom.request_async(name, word, 5, 0, None, request_done_cb, None)

GLib.timeout_add_seconds(30, lambda: sys.exit('timed out'))
loop.run()
sys.exit(0 if sorted(replies) == ['ONE', 'THREE', 'TWO'] else 1)
