# conftest.py: shared set-up of the Python tests
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# Runs with the typelib and library of the build tree (GI_TYPELIB_PATH,
# LD_LIBRARY_PATH, set by meson) and a private XDG_RUNTIME_DIR, set here
# before GLib reads it, so pipe names never collide with anything else.

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

if os.environ.get('PIPECOM_TEST_MACOS') == '1':
    # As on macOS (the "macOS semantics" stage of .ci/run, see
    # tests/test-utils.c): no XDG_RUNTIME_DIR, so GLib falls back to the
    # user cache directory, here a private one under $XDG_CACHE_HOME.
    _cache = os.environ.get('XDG_CACHE_HOME') or tempfile.gettempdir()
    os.makedirs(_cache, mode=0o700, exist_ok=True)
    _runtime_dir = tempfile.mkdtemp(prefix='pipecom-pytest-', dir=_cache)
    os.environ.pop('XDG_RUNTIME_DIR', None)
    os.environ['XDG_CACHE_HOME'] = _runtime_dir
else:
    _runtime_dir = tempfile.mkdtemp(prefix='pipecom-pytest-')
    os.environ['XDG_RUNTIME_DIR'] = _runtime_dir

import gi  # noqa: E402

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Pipecom', '1.0')
from gi.repository import GLib  # noqa: E402

# Whether the library verifies a sender's pid: on Linux through /proc,
# unless built with -Dlinux_specific=false (tests/python/meson.build).
LINUX_SPECIFIC = os.environ.get('PIPECOM_TEST_LINUX_SPECIFIC', '1') == '1'
PID_VERIFIED = sys.platform.startswith('linux') and LINUX_SPECIFIC

# Every wait of the suite is bounded by this many seconds: generous, since a
# passing test never waits for it.
DEADLINE = 30

_counter = itertools.count()


def pytest_sessionfinish(session, exitstatus):
    # Everything the pipes made must be gone by now: no FIFO left behind
    leftovers = []
    pipecom_dir = os.path.join(_runtime_dir, 'pipecom')
    if os.path.isdir(pipecom_dir):
        leftovers = [f for f in os.listdir(pipecom_dir)
                     if not f.startswith('.')]
    shutil.rmtree(_runtime_dir, ignore_errors=True)
    if leftovers and exitstatus == 0:
        print('error: files left in the pipe directory: %s' % leftovers,
              file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture
def name(request):
    """A pipe name unique to the test."""
    return 'py-%d-%s-%d' % (os.getpid(), request.node.name[:40], next(_counter))


@pytest.fixture
def make_name(request):
    def make(tag):
        return 'py-%d-%s-%d' % (os.getpid(), tag, next(_counter))
    return make


def iterate_until(condition, timeout=DEADLINE):
    """Iterates the thread-default main context until condition() holds;
    fails the test after @timeout seconds."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    timed_out = []

    def timeout_cb():
        timed_out.append(True)
        return GLib.SOURCE_REMOVE

    source_id = GLib.timeout_add(int(timeout * 1000), timeout_cb)
    # Some conditions change in other threads, with nothing to wake this
    # context up: look again every 10 ms
    tick_id = GLib.timeout_add(10, lambda: GLib.SOURCE_CONTINUE)
    try:
        while not condition():
            if timed_out or time.monotonic() > deadline:
                pytest.fail('timed out after %s s waiting for %s' % (timeout, condition))
            context.iteration(True)
    finally:
        GLib.source_remove(tick_id)
        if not timed_out:
            GLib.source_remove(source_id)


def run_peer(args, **kwargs):
    """Runs a peer process with a deadline; returns the CompletedProcess."""
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=DEADLINE, **kwargs)


def start_peer(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def env_path(var):
    path = os.environ.get(var)
    if not path:
        pytest.skip('%s is not set (run the tests with meson test)' % var)
    return path


def wait_stopped(pipe, timeout=DEADLINE):
    """Waits until a pipe that serves in another thread stopped. (Not
    pipecom_pipe_run(): once the pipe stopped, it would listen again.)"""
    import threading
    done = threading.Event()
    handler_id = pipe.connect('stopped', lambda *args: done.set())
    try:
        # The pipe clears "listening" before it emits "stopped"
        if pipe.get_listening() and not done.wait(timeout):
            pytest.fail('pipe %s did not stop within %s s' % (pipe.get_name(), timeout))
    finally:
        pipe.disconnect(handler_id)


def stop_and_wait(pipe, timeout=DEADLINE):
    pipe.stop()
    wait_stopped(pipe, timeout)
