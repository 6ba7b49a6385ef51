#!/usr/bin/env python3
# gtk-monitor.py: a GTK 4 window that shows the messages of a pipe
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# Listens on the pipe NAME and shows each message in a list, with its time,
# size and the reply it got (--auto-reply, "Got it" by default). The line
# at the top tells whether the pipe listens, or why it stopped.
#
#   gtk-monitor.py [--auto-reply=TEXT] [--dump=FILE] NAME
#
# The rule for GUI programs: Pipe(name, callback) calls the callback in a
# thread of the pipe's own, where GTK must not be touched. Passing
# main_context=GLib.MainContext.default() makes the pipe serve in GTK's
# main context instead: the callback runs in the main thread, like any GTK
# signal handler, and may update widgets. (It must not block there.)
#
# --dump writes the list and the state to FILE after each change, once the
# window painted it: the automated test (tests/python/test_gtk_example.py)
# reads it.

import argparse
import os
import signal
import sys
import threading
import time

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Pipecom', '1.0')
from gi.repository import Gio, GLib, Gtk, Pipecom  # noqa: E402

STOP_REASONS = {
    Pipecom.StopReason.DIE_CODE: 'the die code arrived',
    Pipecom.StopReason.MAX_MESSAGES: 'the maximum number of messages was reached',
    Pipecom.StopReason.TIMEOUT: 'no message came within the timeout',
    Pipecom.StopReason.REQUESTED: 'stopped from this window',
    Pipecom.StopReason.ERROR: 'an error occurred',
}


class Monitor:
    def __init__(self, app, name, auto_reply, dump):
        self.app = app
        self.name = name
        self.auto_reply = auto_reply
        self.dump_path = dump
        self.rows = []
        self.threads = set()
        self.state = 'Not started'
        self.window = None
        self.pipe = None
        self.mapped = False
        app.connect('activate', self.activate_cb)
        app.connect('shutdown', self.shutdown_cb)

    def activate_cb(self, app):
        if self.window is not None:
            self.window.present()
            return
        self.window = Gtk.ApplicationWindow(application=app,
                                            title='PipeCom Monitor (Python) — ' + self.name)
        self.window.set_default_size(640, 360)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        for side in ('top', 'bottom', 'start', 'end'):
            getattr(box, 'set_margin_' + side)(12)
        self.state_label = Gtk.Label(xalign=0)
        self.list = Gtk.ListBox()
        self.list.set_selection_mode(Gtk.SelectionMode.NONE)
        scrolled = Gtk.ScrolledWindow(vexpand=True, child=self.list)
        box.append(self.state_label)
        box.append(scrolled)
        self.window.set_child(box)
        self.window.connect('map', self.map_cb)
        self.window.present()

        # The rule: serve in GTK's main context, so that message_cb() runs
        # in the main thread.
        self.pipe = Pipecom.Pipe(self.name, self.message_cb,
                                 main_context=GLib.MainContext.default())
        self.pipe.connect('stopped', self.stopped_cb)
        try:
            self.pipe.listen()
        except GLib.Error as error:
            self.set_state('Cannot listen: ' + error.message)
            return
        self.set_state('Listening on %s (%s)' % (self.name, self.pipe.get_path()))

    def message_cb(self, message):
        # In GTK's main thread: widgets may be touched here
        self.threads.add(threading.current_thread().name)
        size = len(message.encode() if isinstance(message, str) else message)
        text = message if isinstance(message, str) else repr(message)
        row = (time.strftime('%H:%M:%S'), '%d B' % size, text, self.auto_reply)
        self.rows.append(row)
        label = Gtk.Label(label='   '.join(row), xalign=0)
        self.list.append(label)
        self.changed()
        return self.auto_reply

    def stopped_cb(self, pipe, reason):
        self.set_state('Stopped: ' + STOP_REASONS.get(reason, 'not started'))

    def map_cb(self, window):
        self.mapped = True
        self.changed()

    def set_state(self, state):
        self.state = state
        self.state_label.set_text(state)
        self.changed()

    def changed(self):
        if self.dump_path is None:
            return
        clock = self.window.get_frame_clock() if self.mapped else None
        if clock is None:
            self.write_dump()
            return
        # Written once the window painted the change

        def painted_cb(clock):
            clock.disconnect(handler_id)
            self.write_dump()

        handler_id = clock.connect('after-paint', painted_cb)
        self.window.queue_draw()

    def write_dump(self):
        lines = ['state: %s' % self.state,
                 'window: %s' % ('mapped' if self.mapped else 'unmapped'),
                 'callback-threads: %s' % ' '.join(sorted(self.threads)),
                 'rows: %d' % len(self.rows)]
        lines += ['row: %s' % '\t'.join(row) for row in self.rows]
        tmp = self.dump_path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.replace(tmp, self.dump_path)

    def shutdown_cb(self, app):
        # Answers whoever still waits and removes the FIFO before the end
        if self.pipe is not None and self.pipe.get_listening():
            self.pipe.stop()
            context = GLib.MainContext.default()
            while self.pipe.get_listening():
                context.iteration(True)


def main():
    parser = argparse.ArgumentParser(description='Shows the messages of a pipe in a window')
    parser.add_argument('--auto-reply', default='Got it', help='the reply to every message')
    parser.add_argument('--dump', help='write the list and the state to this file')
    parser.add_argument('name', help='the pipe to listen on')
    args = parser.parse_args()

    app = Gtk.Application(application_id='org.pipecom.PythonMonitor',
                          flags=Gio.ApplicationFlags.NON_UNIQUE)
    Monitor(app, args.name, args.auto_reply, args.dump)
    for signum in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, lambda: app.quit() or True)
    return app.run([sys.argv[0]])


if __name__ == '__main__':
    sys.exit(main())
