# pipecom: the original PipeCom Python API, on the C library
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

"""Inter-process communication over named pipes, as the original PipeCom
Python library did it, on the PipeCom C library::

    import pipecom

    def message_handler(message):
        print(f"Received: {message}")

    pipe = pipecom.Pipe("my_pipe", message_handler)
    pipe.listen()                       # serves in a thread of its own

    pipecom.send("my_pipe", "Hello, World!", timeout=5, max_attempts=3)

``Pipe``, ``send``, ``request``, ``Client`` and ``PipeError`` are those of
PyGObject's ``gi.repository.Pipecom`` with PipeCom's overrides; every other
name of ``gi.repository.Pipecom`` (``Pipecom.Error``, ``StopReason``,
``Message``, ``send_async``, ...) is here too. Errors are raised as
:class:`PipeError`, a subclass of ``GLib.Error``. See
docs/porting-from-python.md for what differs from the original.
"""

try:
    import gi
except ImportError as _error:
    raise ImportError(
        'pipecom needs PyGObject (the gi module): install python3-gi '
        '(Debian, Ubuntu), python3-gobject (Fedora) or PyGObject (pip), '
        'for this Python') from _error

from . import _locate

_locate.setup()

try:
    gi.require_version('GLib', '2.0')
    gi.require_version('Pipecom', '1.0')
except ValueError as _error:
    raise ImportError(_locate.missing_typelib_message()) from _error

try:
    from gi.repository import GLib, Pipecom as _Pipecom
except Exception as _error:
    # The overrides say so (ImportError); without them, gi fails with an
    # AssertionError or a TypeError
    if isinstance(_error, ImportError) and 'libpipecom' not in str(_error):
        raise
    raise ImportError(_locate.missing_library_message()) from _error

if not hasattr(_Pipecom, 'PipeError') or _Pipecom.Pipe.__module__ != 'gi.overrides.Pipecom':
    raise ImportError(_locate.missing_overrides_message())

Pipe = _Pipecom.Pipe
send = _Pipecom.send
request = _Pipecom.request
Client = _Pipecom.Client
PipeError = _Pipecom.PipeError
Error = _Pipecom.Error
StopReason = _Pipecom.StopReason
Message = _Pipecom.Message
error_quark = _Pipecom.error_quark
DEFAULT_DIE_CODE = _Pipecom.DEFAULT_DIE_CODE

__version__ = '%d.%d.%d' % (_Pipecom.MAJOR_VERSION, _Pipecom.MINOR_VERSION,
                            _Pipecom.MICRO_VERSION)

__all__ = ['Pipe', 'send', 'request', 'Client', 'PipeError', 'Error',
           'StopReason', 'Message', 'error_quark', 'DEFAULT_DIE_CODE']


# asyncio (pipecom.aio), imported when first used: importing asyncio costs
# what a script without it need not pay
_AIO_NAMES = ('arequest', 'asend')


def __getattr__(name):
    if name in _AIO_NAMES:
        from . import aio
        return getattr(aio, name)
    # Everything else of gi.repository.Pipecom
    try:
        return getattr(_Pipecom, name)
    except AttributeError:
        raise AttributeError("module 'pipecom' has no attribute %r" % name) from None


def __dir__():
    return sorted(set(globals()) | set(dir(_Pipecom)) | set(_AIO_NAMES))


del _locate
