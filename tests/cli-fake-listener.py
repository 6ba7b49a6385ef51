#!/usr/bin/env python3
# cli-fake-listener.py PATH: a listener of another protocol version, for
# the test of pipecom's exit status 10 (PIPECOM_ERROR_PROTOCOL).
#
# Creates the FIFO PATH, reads one announcement record (docs/protocol.md),
# answers on the sender's private channel with a HELLO frame of version 2,
# then removes PATH.

import os
import struct
import sys

path = sys.argv[1]
os.mkfifo(path, 0o600)
try:
    fd = os.open(path, os.O_RDWR)
    record = os.read(fd, 512)
    magic, version, kind, length, base_length, message_length = struct.unpack('<4sBBHHH', record[:12])
    if magic != b'PCOM':
        sys.exit('not a PipeCom record: %r' % record[:12])
    base = record[12:12 + base_length].decode()
    rep = os.open(base + '.rep', os.O_WRONLY)
    # header: length, type HELLO, flags, reserved, id; payload: version 2, reserved, max size
    os.write(rep, struct.pack('<IBBHI', 16, 1, 0, 0, 0) + struct.pack('<IIQ', 2, 0, 0))
    os.close(rep)
    os.close(fd)
finally:
    os.unlink(path)
