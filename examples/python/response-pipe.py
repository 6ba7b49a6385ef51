#!/usr/bin/env python3
# response-pipe.py: the original README's "advanced usage with response pipe"
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# A task processor (custom timeout, max_messages=10, die code "SHUTDOWN",
# daemon=False) whose results are forwarded to a response pipe.

import os
import sys
import threading

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

responses_received = []
all_results = threading.Event()
TASKS = ['Generate report', 'Process data', 'Send email', 'Handle error case', 'Final task']


def task_processor(message):
    print(f'Processing task: {message}')
    if 'error' in message.lower():
        return f'ERROR: Failed to process {message}'
    return f'SUCCESS: Completed {message}'


def response_handler(message):
    responses_received.append(message)
    print(f'Result received: {message}')
    if len(responses_received) == len(TASKS):
        all_results.set()
    return f'Result acknowledged: {message}'


main_pipe_name = f'task_processor-{os.getpid()}'
response_pipe_name = f'task_results-{os.getpid()}'

response_pipe = Pipecom.Pipe(response_pipe_name, response_handler)
response_pipe.listen()

main_pipe = Pipecom.Pipe(
    pipe_name=main_pipe_name,
    callback=task_processor,
    timeout=30,                             # stop after 30 s without a message
    max_messages=10,                        # or after 10 messages
    die_code='SHUTDOWN',                    # or on "SHUTDOWN"
    daemon=False,                           # keep the process alive meanwhile
    response_pipe_name=response_pipe_name,  # forward the results there
)
main_pipe.listen()

for task in TASKS:
    try:
        success = Pipecom.send(main_pipe_name, task, timeout=5, max_attempts=3)
        print(f"Task '{task}': {'Submitted' if success else 'Failed'}")
    except Pipecom.PipeError as e:
        print(f"Error sending '{task}': {e.message}")

# No sleeping: wait until the last result arrived (at most 30 s)
if not all_results.wait(30):
    sys.exit('not all results arrived')

print(f'\nTasks sent: {len(TASKS)}, results received: {len(responses_received)}')
Pipecom.send(main_pipe_name, 'SHUTDOWN', timeout=5)
main_pipe.wait(30)
Pipecom.send(response_pipe_name, 'PIPECOM_DIE', timeout=5)
response_pipe.wait(30)
print('Demo completed!')
sys.exit(0 if len(responses_received) == len(TASKS) and
         responses_received[3].startswith('ERROR') else 1)
