#!/usr/bin/python3
# bench-python.py: Python's multiprocessing.connection over AF_UNIX
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# The same command line and work items as the C peers (bench-common.c):
#   bench-python.py listen|W1|W1r|W2|W3|W4|W5|W5idle ADDRESS [COUNT [SIZE [PROCS]]]
# The listener serves each connection in a thread of its own, as the
# standard library's documentation shows, and answers every message with
# its first reply_size() bytes (its 8-byte tag, or 16 bytes in W1r).

import os
import random
import resource
import signal
import struct
import sys
import threading
import time
from multiprocessing.connection import Client, Listener

handled = 0
handled_lock = threading.Lock()
WANT_ACK, WANT_TAG, WANT_REPLY = 0, 1, 2


def reply_size(msg):
    return 16 if msg[8] == WANT_REPLY else 8


def serve(conn):
    global handled
    try:
        while True:
            msg = conn.recv_bytes()
            with handled_lock:
                handled += 1
            conn.send_bytes(msg[:reply_size(msg)])
    except (EOFError, OSError):
        conn.close()


def listen(address):
    def term(signum, frame):
        sys.stdout.write("handled=%d\n" % handled)
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, term)
    if os.path.exists(address):
        os.unlink(address)
    listener = Listener(address, family="AF_UNIX", backlog=512)
    print("ready", flush=True)
    while True:
        conn = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def set_tag(msg, client, seq, want):
    struct.pack_into("<IIB", msg, 0, client, seq, want)


def request(conn, msg):
    conn.send_bytes(msg)
    reply = conn.recv_bytes()
    if reply != bytes(msg[:reply_size(msg)]):
        sys.exit("error: got a reply that is not for this message")


def wait_for_go():
    print("mark", flush=True)
    if not sys.stdin.readline():
        sys.exit(1)


def main():
    item, address = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    size = max(16, int(sys.argv[4]) if len(sys.argv) > 4 else 64)
    procs = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    if item == "listen":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        listen(address)
        return
    msg = bytearray(random.getrandbits(8) for _ in range(min(size, 4096)))
    msg = (msg * (size // len(msg) + 1))[:size]

    if item in ("W1", "W1r", "W3", "W5"):
        conn = Client(address, family="AF_UNIX")
        times = []
        mark = 10000 if count >= 10000 else count // 100
        t0 = time.monotonic()
        for i in range(count):
            s = time.monotonic()
            set_tag(msg, 1, i, WANT_REPLY if item == "W1r" else WANT_ACK)
            request(conn, msg)
            if item in ("W1", "W1r"):
                times.append(time.monotonic() - s)
            if item == "W5" and i + 1 == mark:
                wait_for_go()
        t1 = time.monotonic()
        if item == "W5":
            wait_for_go()
        conn.close()
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
            set_tag(msg, 1, i, WANT_ACK)
            conn = Client(address, family="AF_UNIX")
            request(conn, msg)
            conn.close()
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
                        conn = Client(address, family="AF_UNIX")
                    except OSError:
                        # The parent must not wait for the others to get ready.
                        os.write(ready_w, b"f")
                        raise
                    os.write(ready_w, b"r")
                    os.read(go_r, 1)
                    for i in range(count):
                        set_tag(msg, p + 100, i, WANT_TAG)
                        request(conn, msg)
                    conn.close()
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
        conns = []
        for i in range(count + 1):
            conn = Client(address, family="AF_UNIX")
            set_tag(msg, 1, i, WANT_ACK)
            request(conn, msg)
            conns.append(conn)
            if i == 0:
                wait_for_go()
        wait_for_go()
        for conn in conns:
            conn.close()
        print("connections=%d" % count)
    else:
        sys.exit("unknown work item " + item)


if __name__ == "__main__":
    main()
