#!/usr/bin/env python3
# chat.py: the original README's simple chat, in Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# A chat server and three clients started 0.2 s apart, each sending three
# messages and retrying with an exponential backoff while the server is
# busy. The server stops after 9 messages (max_messages) or on "SHUTDOWN".

import os
import random
import sys
import threading

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

SERVER = f'simple_chat_server-{os.getpid()}'
CLIENTS = 3
MESSAGES = 3


def simple_chat_handler(message):
    print(f'Received message: {message}', flush=True)
    return f'ACK: {message}'


server_pipe = Pipecom.Pipe(pipe_name=SERVER, callback=simple_chat_handler,
                           timeout=30, max_messages=CLIENTS * MESSAGES,
                           die_code='SHUTDOWN')
server_pipe.listen()


def send_message(message, max_retries=5):
    """Sends with retries and an exponential backoff while the pipe is busy."""
    for attempt in range(max_retries):
        try:
            reply = Pipecom.request(SERVER, message, timeout=5, max_attempts=3)
            print(f'Message sent: {message} -> {reply}', flush=True)
            return True
        except Pipecom.PipeError as e:
            if e.matches(Pipecom.error_quark(), Pipecom.Error.BUSY) and attempt < max_retries - 1:
                wait_time = (2 ** attempt) * 0.1   # 0.1, 0.2, 0.4, 0.8 s
                print(f'Pipe busy, retrying in {wait_time:.1f}s...')
                threading.Event().wait(wait_time)
            else:
                print(f'Error sending message after {attempt + 1} attempts: {e.message}')
                return False
    return False


sent = []


def example_client(client_id):
    for i in range(MESSAGES):
        sent.append(send_message(f'Client {client_id} - Message {i + 1}'))
        threading.Event().wait(0.05 + random.uniform(0.0, 0.1))
    print(f'Client {client_id} finished', flush=True)


clients = []
for i in range(CLIENTS):
    # Staggered start: 0, 0.2 and 0.4 s
    timer = threading.Timer(i * 0.2, example_client, args=(i + 1,))
    timer.start()
    clients.append(timer)
for timer in clients:
    timer.join(30)

ok = server_pipe.wait(30) and all(sent) and len(sent) == CLIENTS * MESSAGES
print(f'Server stopped: {server_pipe.get_stop_reason().value_nick}, '
      f'{server_pipe.get_message_count()} message(s)')
sys.exit(0 if ok else 1)
