# test_gtk_example.py: runs examples/python/gtk-monitor.py for real, in a
# window on a virtual X server (Xvfb), as examples/gtk/test-monitor.sh does
# for the C one: sends it three requests, checks what the application
# shows and that its callback ran in GTK's main thread, and saves
# screenshots in $PIPECOM_TEST_ARTEFACT_DIR (python-gtk-monitor.png,
# python-gtk-monitor-stopped.png).
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from gi.repository import Pipecom

from conftest import DEADLINE

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       '..', '..', 'examples', 'python', 'gtk-monitor.py')


def _missing():
    for tool in ('Xvfb', 'import', 'identify'):
        if shutil.which(tool) is None:
            return '%s is not installed (Debian: xvfb, imagemagick)' % tool
    check = subprocess.run([sys.executable, '-c',
                            "import gi; gi.require_version('Gtk', '4.0')"],
                           capture_output=True)
    if check.returncode != 0:
        return 'no GTK 4 for PyGObject (Debian: gir1.2-gtk-4.0)'
    return None


@pytest.fixture
def display(tmp_path):
    """A virtual X server of the test's own; its display name."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(['Xvfb', '-displayfd', str(write_fd), '-screen', '0',
                               '800x600x24', '-nolisten', 'tcp'],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / 'xvfb.log', 'w'))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        assert number, 'Xvfb did not start: %s' % (tmp_path / 'xvfb.log').read_text()
        yield ':' + number
    finally:
        server.terminate()
        server.wait(DEADLINE)


def _wait_until(condition, what):
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail('timed out waiting for %s' % what)
        time.sleep(0.05)


def test_gtk_example(name, display, tmp_path):
    artefacts = os.environ.get('PIPECOM_TEST_ARTEFACT_DIR', str(tmp_path))
    dump = str(tmp_path / 'dump')
    env = dict(os.environ, DISPLAY=display, GDK_BACKEND='x11', GSK_RENDERER='cairo',
               GTK_A11Y='none', NO_AT_BRIDGE='1')
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    env.pop('WAYLAND_DISPLAY', None)

    def lines():
        try:
            with open(dump) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def screenshot(file):
        shot = str(tmp_path / 'shot.png')
        subprocess.run(['import', '-window', 'root', shot], env=env, check=True,
                       timeout=DEADLINE)
        colours = subprocess.run(['identify', '-format', '%k', shot], check=True,
                                 capture_output=True, text=True, timeout=DEADLINE).stdout
        # A window has many colours, a bare X root one or two
        assert int(colours) > 8, 'the screenshot is blank'
        shutil.move(shot, os.path.join(artefacts, file))

    app = subprocess.Popen([sys.executable, EXAMPLE, '--auto-reply', 'Got it', '--dump', dump,
                            name], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        _wait_until(lambda: any(line.startswith('state: Listening on %s ' % name)
                                for line in lines()), 'the application to listen')
        _wait_until(lambda: 'window: mapped' in lines(), 'the window to be mapped')
        for i in (1, 2, 3):
            reply = Pipecom.request(name, 'message number %d' % i, timeout=DEADLINE)
            assert reply == 'Got it'
        _wait_until(lambda: 'rows: 3' in lines(), 'three rows')
        rows = [line.split('\t') for line in lines() if line.startswith('row: ')]
        assert [row[1:] for row in rows] == [
            ['16 B', 'message number %d' % i, 'Got it'] for i in (1, 2, 3)]
        # The rule: with main_context=, the callback runs in GTK's main thread
        assert 'callback-threads: MainThread' in lines()
        screenshot('python-gtk-monitor.png')

        # The user cache directory where XDG_RUNTIME_DIR is unset (macOS)
        runtime_dir = (os.environ.get('XDG_RUNTIME_DIR') or
                       os.environ['XDG_CACHE_HOME'])
        path = os.path.join(runtime_dir, 'pipecom', name)
        assert os.path.exists(path)
        assert Pipecom.send(name, 'PIPECOM_DIE', timeout=DEADLINE)
        _wait_until(lambda: 'state: Stopped: the die code arrived' in lines(),
                    'the window to say why the pipe stopped')
        screenshot('python-gtk-monitor-stopped.png')
        assert not os.path.exists(path)

        app.send_signal(signal.SIGTERM)
        out, err = app.communicate(timeout=DEADLINE)
    finally:
        app.kill()
        app.wait()
    assert app.returncode == 0, err
    # No GTK warning ("Source ID ... was not found", widgets touched from
    # another thread, ...)
    assert err == '', err
