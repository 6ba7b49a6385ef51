#!/usr/bin/env python3
# task-queue.py: the original README's JSON task queue, in Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# Tasks go in as JSON with Pipecom.request(); each reply is a JSON status.
# The processor stops after as many messages as there are tasks.

import json
import os
import sys
import time

import gi
gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

QUEUE = f'task_queue-{os.getpid()}'
tasks = [
    {'id': 1, 'name': 'Process data', 'duration': 0.2},
    {'id': 2, 'name': 'Generate report', 'duration': 0.1},
    {'id': 3, 'name': 'Send email', 'duration': 0.05},
    {'id': 4},      # no name: an error status
]


def task_processor(message):
    try:
        task = json.loads(message)
        print(f"Processing task: {task['name']}")
        time.sleep(task.get('duration', 1))     # simulates the work
        return json.dumps({'status': 'completed', 'task_id': task['id']})
    except Exception as e:
        return json.dumps({'status': 'error', 'error': repr(e)})


processor = Pipecom.Pipe(QUEUE, task_processor, max_messages=len(tasks))
processor.listen()

statuses = []
for task in tasks:
    result = json.loads(Pipecom.request(QUEUE, json.dumps(task), timeout=10))
    statuses.append(result['status'])
    print(f"Task {task['id']}: {result}")

processor.wait(30)
sys.exit(0 if statuses == ['completed'] * 3 + ['error'] else 1)
