#!/usr/bin/env python3
# credentials.py: who sent each message, and refusing other users, in Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
#   credentials.py [NAME]
#
# A listener that prints the user (and, where the system lets the listener
# verify it, the process) that sent each message, and refuses the senders
# of other users. It sends itself a message, then the die code, so that it
# runs on its own; send it more from elsewhere:
#
#   pipecom send NAME "Hello"

import os
import sys

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else f'credentials-py-{os.getpid()}'
my_uid = os.getuid()


# A callback that declares a parameter named "credentials" gets the
# sender's Gio.Credentials (message.get_credentials() in a message-received
# handler) (None if the sender is unknown); one that does
# not is called with the message only, as in the original library.
def show_sender(message, credentials=None):
    who = f'uid {credentials.get_unix_user()}' if credentials else 'an unknown sender'
    # The pid only when the listener verified it: on Linux, through /proc,
    # for senders it may look into (else get_unix_pid() gives -1)
    if credentials and credentials.get_unix_pid() > 0:
        who += f', pid {credentials.get_unix_pid()}'
    print(f'From {who}: {message}')


# A private pipe, as here, is reached by its own user only. One that other
# users may reach is named by a path, in a directory of the listener's,
# with access=Pipecom.Access.GROUP (or EVERYONE). For a fixed list of
# senders, allowed_users=['alice', '1001'] (names or uids; the pipe's own
# user is always allowed) needs no handler; for any other rule, connect to
# "authorize", asked once per connection before its first message.
pipe = Pipecom.Pipe(name, show_sender, daemon=False)


def authorize(pipe, credentials):
    allowed = credentials is not None and credentials.get_unix_user() == my_uid
    if not allowed:
        print('Refusing a sender of another user')
    return allowed  # False: the sender gets PipeError PERMISSION_DENIED


pipe.connect('authorize', authorize)
pipe.listen()
print(f'Listening on {name} ({pipe.props.path}).')

try:
    Pipecom.send(name, 'Hello from myself', timeout=10)
    Pipecom.send(name, Pipecom.DEFAULT_DIE_CODE, timeout=10)
except Pipecom.PipeError as e:
    print(f'Error: {e}', file=sys.stderr)
    pipe.stop()
    sys.exit(1)

if not pipe.wait(30):
    sys.exit('the pipe did not stop')
print('Stopped.')
