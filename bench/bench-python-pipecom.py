#!/usr/bin/python3
# bench-python-pipecom.py: PipeCom from Python, the original library's way
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# The same command line and work items as the C peers (bench-common.c):
#   bench-python-pipecom.py listen|W1|W1r|W2|W3|W4|W5|W5idle PATH [COUNT [SIZE [PROCS]]]
# The listener is a Pipe(name, callback) of the PyGObject overrides, which
# serves in a thread of its own while the main thread waits, as a script
# written for the original Python library does; its callback answers every
# message with its tag. The client is a Pipecom.Client (W2: one
# Pipecom.request() per message). Messages are text (the original API's
# callback gets str and replies with str): the tag is 16 hex digits, so every
# reply is 16 bytes and W1r is the same exchange as W1.
#
# Needs the typelib and library of a build with introspection
# (GI_TYPELIB_PATH, LD_LIBRARY_PATH) and the overrides (PYTHONPATH), as
# bench/run sets them.

import os
import random
import resource
import signal
import string
import sys
import time

import gi

gi.require_version('Pipecom', '1.0')
from gi.repository import Pipecom  # noqa: E402

TAG = 16
handled = 0


def callback(message):
    global handled
    handled += 1
    return message[:TAG]


def listen(path):
    def term(signum, frame):
        sys.stdout.write("handled=%d\n" % handled)
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, term)
    pipe = Pipecom.Pipe(path, callback, max_message_size=64 << 20)
    pipe.listen()
    print("ready", flush=True)
    pipe.wait()


def message(body, client, seq):
    return "%08x%08x" % (client, seq) + body


def request(client, msg):
    if client.request(msg, None) != msg[:TAG]:
        sys.exit("error: got a reply that is not for this message")


def wait_for_go():
    print("mark", flush=True)
    if not sys.stdin.readline():
        sys.exit(1)


def new_client(path):
    client = Pipecom.Client.new(path)
    client.set_timeout(60)
    return client


def main():
    item, path = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    size = max(TAG, int(sys.argv[4]) if len(sys.argv) > 4 else 64)
    procs = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    if item == "listen":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        listen(path)
        return
    chunk = "".join(random.choice(string.ascii_letters) for _ in range(min(size, 4096)))
    body = (chunk * (size // len(chunk) + 1))[:size - TAG]

    if item in ("W1", "W1r", "W3", "W5"):
        client = new_client(path)
        times = []
        mark = 10000 if count >= 10000 else count // 100
        t0 = time.monotonic()
        for i in range(count):
            s = time.monotonic()
            request(client, message(body, 1, i))
            if item in ("W1", "W1r"):
                times.append(time.monotonic() - s)
            if item == "W5" and i + 1 == mark:
                wait_for_go()
        t1 = time.monotonic()
        if item == "W5":
            wait_for_go()
        client.close()
        us = (t1 - t0) * 1e6
        if item in ("W1", "W1r"):
            times.sort()
            print("p50_us=%.3f p99_us=%.3f mean_us=%.3f" % (
                times[count // 2] * 1e6, times[int(count * 0.99)] * 1e6, us / count))
        else:
            print("us_per_msg=%.3f mb_per_s=%.1f messages=%d" % (us / count, size * count / us, count))
    elif item == "W2":
        t0 = time.monotonic()
        for i in range(count):
            msg = message(body, 1, i)
            if Pipecom.request(path, msg, timeout=60) != msg[:TAG]:
                sys.exit("error: got a reply that is not for this message")
        print("us_per_msg=%.3f" % ((time.monotonic() - t0) * 1e6 / count))
    elif item == "W4":
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pids = []
        for p in range(procs):
            pid = os.fork()
            if pid == 0:
                os.close(ready_r)
                os.close(go_w)
                status = 1
                try:
                    try:
                        client = new_client(path)
                        client.connect(None)
                    except Exception:
                        # The parent must not wait for the others to get ready.
                        os.write(ready_w, b"f")
                        raise
                    os.write(ready_w, b"r")
                    os.read(go_r, 1)
                    for i in range(count):
                        request(client, message(body, p + 100, i))
                    client.close()
                    status = 0
                finally:
                    os._exit(status)
            pids.append(pid)
        os.close(ready_w)
        os.close(go_r)
        failed = False
        for p in range(procs):
            if os.read(ready_r, 1) != b"r":
                failed = True
                break
        t0 = time.monotonic()
        os.close(go_w)
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            failed = failed or status != 0
        t1 = time.monotonic()
        if failed:
            sys.exit("error: a client failed")
        print("msg_per_s=%.0f messages=%d" % (procs * count / (t1 - t0), procs * count))
    elif item == "W5idle":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        clients = []
        for i in range(count + 1):
            client = new_client(path)
            request(client, message(body, 1, i))
            clients.append(client)
            if i == 0:
                wait_for_go()
        wait_for_go()
        for client in clients:
            client.close()
        print("connections=%d" % count)
    else:
        sys.exit("unknown work item " + item)


if __name__ == "__main__":
    main()
