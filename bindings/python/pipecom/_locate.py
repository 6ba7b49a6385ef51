# _locate.py: finds the typelib, the library and the PyGObject overrides
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

"""Makes gi find PipeCom's files where meson installed them.

An installed package has a ``_config.py`` with the install directories;
they are taken relative to where the package sits, so a tree installed
with ``meson install --destdir`` (or moved as a whole) works too. In the
source tree there is none: the environment (GI_TYPELIB_PATH,
LD_LIBRARY_PATH, PYTHONPATH) says where the build tree is.
"""

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_TYPELIB = 'Pipecom-1.0.typelib'


def _install_dirs():
    """(prefix, libdir, typelibdir) of this installed package, or None."""
    try:
        from . import _config
    except ImportError:
        return None

    prefix = _config.PREFIX
    if not os.path.isabs(_config.SITEDIR):
        # <prefix>/<sitedir>/pipecom: the prefix is where the package sits
        root = _PACKAGE_DIR
        for _ in range(len(os.path.normpath(_config.SITEDIR).split(os.sep)) + 1):
            root = os.path.dirname(root)
        if os.path.isdir(os.path.join(root, _config.SITEDIR, 'pipecom')):
            prefix = root

    def under_prefix(path):
        return path if os.path.isabs(path) else os.path.join(prefix, path)

    return (prefix, under_prefix(_config.LIBDIR),
            under_prefix(_config.TYPELIBDIR))


def install_dirs():
    return _install_dirs()


def _typelib_in_environment():
    for directory in os.environ.get('GI_TYPELIB_PATH', '').split(os.pathsep):
        if directory and os.path.exists(os.path.join(directory, _TYPELIB)):
            return True
    return False


def _repository_prepend(typelibdir, libdir):
    import gi

    if gi.version_info >= (3, 51):
        # PyGObject uses libgirepository-2.0 (GIRepository 3.0) from 3.51 on
        gi.require_version('GIRepository', '3.0')
        from gi.repository import GIRepository
        repository = GIRepository.Repository.dup_default()
        repository.prepend_search_path(typelibdir)
        repository.prepend_library_path(libdir)
    else:
        gi.require_version('GIRepository', '2.0')
        from gi.repository import GIRepository
        GIRepository.Repository.prepend_search_path(typelibdir)
        GIRepository.Repository.prepend_library_path(libdir)


def overrides_dir():
    """The gi/overrides directory installed beside this package."""
    return os.path.join(os.path.dirname(_PACKAGE_DIR), 'gi', 'overrides')


def setup():
    """Points gi at PipeCom's typelib, library and overrides. A typelib
    found through GI_TYPELIB_PATH wins (a build tree, say)."""
    import gi.overrides

    overrides = overrides_dir()
    if (os.path.exists(os.path.join(overrides, 'Pipecom.py'))
            and overrides not in gi.overrides.__path__):
        # PyGObject's own overrides directory is an absolute path of its
        # installation; ours is under the prefix PipeCom was installed to.
        gi.overrides.__path__.append(overrides)

    dirs = _install_dirs()
    if dirs is None or _typelib_in_environment():
        return
    prefix, libdir, typelibdir = dirs
    if os.path.exists(os.path.join(typelibdir, _TYPELIB)):
        try:
            _repository_prepend(typelibdir, libdir)
        except (ImportError, ValueError, AttributeError) as error:
            print('pipecom: could not add %s to the typelib search path (%s): '
                  'set GI_TYPELIB_PATH=%s' % (typelibdir, error, typelibdir),
                  file=sys.stderr)


def missing_typelib_message():
    dirs = _install_dirs()
    where = ''
    if dirs is not None:
        where = ' (expected in %s)' % dirs[2]
    return ('The PipeCom typelib, %s, was not found%s. Install PipeCom with '
            'introspection (meson setup -Dintrospection=enabled; in a '
            'distribution, the package that ships Pipecom-1.0.typelib), or set '
            'GI_TYPELIB_PATH to the directory that holds it (a build tree: '
            'BUILDDIR/pipecom) and LD_LIBRARY_PATH to the one that holds '
            'libpipecom-1.0.so.0.' % (_TYPELIB, where))


def missing_library_message():
    dirs = _install_dirs()
    where = ''
    if dirs is not None:
        where = ' (installed in %s: run ldconfig, or add it to LD_LIBRARY_PATH)' % dirs[1]
    return ('The PipeCom library, libpipecom-1.0.so.0, could not be loaded%s. '
            'Set LD_LIBRARY_PATH to the directory that holds it (a build '
            'tree: BUILDDIR/pipecom), matching GI_TYPELIB_PATH.' % where)


def missing_overrides_message():
    return ('PipeCom\'s PyGObject overrides (gi/overrides/Pipecom.py) were not '
            'loaded, so gi.repository.Pipecom lacks Pipe(name, callback), '
            'send(), PipeError and the rest. They are installed with this '
            'package, in %s; put the directory above "gi" on PYTHONPATH '
            '(a source tree: SRCDIR/bindings/python), and import pipecom '
            'before anything imports gi.repository.Pipecom.'
            % overrides_dir())
