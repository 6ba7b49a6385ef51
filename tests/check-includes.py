#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# Checks the layering of pipecom/ (issue 12, section 2):
#  - the #include "..." edges among the files of pipecom/ form no cycle,
#    neither between files nor between units (a unit is a .c file or a
#    private header, named by its stem without "-private"; the public
#    headers count as one unit, "public API");
#  - no file of pipecom/ outside pipecom/unix and pipecom/win32 tests
#    G_OS_UNIX or G_OS_WIN32: platform code sits behind pipecom-transport.h.
# Usage: check-includes.py [PIPECOM_SOURCE_DIR]; prints the edges with -v.

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PLATFORM = re.compile(r'^\s*#\s*(?:if|ifdef|ifndef|elif).*\bG_OS_(?:UNIX|WIN32)\b', re.M)


def find_cycle(graph):
    """Returns one cycle of @graph (a list of nodes) or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {node: WHITE for node in graph}
    stack = []

    def visit(node):
        colour[node] = GREY
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if colour.get(succ, WHITE) == GREY:
                return stack[stack.index(succ):] + [succ]
            if colour.get(succ, WHITE) == WHITE:
                found = visit(succ)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def unit_of(rel):
    name = os.path.basename(rel)
    if name.endswith('.h') and not name.endswith('-private.h') \
            and name not in ('pipecom-transport.h', 'pipecom-protocol.h'):
        return 'public API'
    stem = name[:-2]
    if stem.endswith('-private'):
        stem = stem[:-len('-private')]
    return stem


def main(argv):
    verbose = '-v' in argv
    args = [a for a in argv[1:] if a != '-v']
    top = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            os.pardir, 'pipecom')
    top = os.path.normpath(top)

    files = {}
    for root, _dirs, names in os.walk(top):
        for name in names:
            if name.endswith(('.c', '.h')):
                path = os.path.join(root, name)
                files[os.path.relpath(path, top)] = path

    failures = []
    file_graph = {rel: set() for rel in files}
    for rel, path in sorted(files.items()):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        subdir = os.path.dirname(rel)
        for inc in INCLUDE.findall(text):
            # The compiler's search order: the including file's directory,
            # then pipecom/ (the include directory); anything else (config.h,
            # generated headers) is not a file of pipecom/.
            for cand in (os.path.normpath(os.path.join(subdir, inc)), os.path.normpath(inc)):
                if cand in files:
                    file_graph[rel].add(cand)
                    break
        if subdir.split(os.sep)[0] not in ('unix', 'win32'):
            for m in PLATFORM.finditer(text):
                line = text.count('\n', 0, m.start()) + 1
                failures.append('%s:%d: platform #if outside pipecom/unix and pipecom/win32: %s'
                                % (rel, line, m.group(0).strip()))

    unit_graph = {}
    for rel, incs in file_graph.items():
        unit_graph.setdefault(unit_of(rel), set())
        for inc in incs:
            if unit_of(inc) != unit_of(rel):
                unit_graph[unit_of(rel)].add(unit_of(inc))

    if verbose:
        for unit in sorted(unit_graph):
            print('%s -> %s' % (unit, ', '.join(sorted(unit_graph[unit])) or '(nothing)'))

    cycle = find_cycle(file_graph)
    if cycle:
        failures.append('include cycle between files: ' + ' -> '.join(cycle))
    cycle = find_cycle(unit_graph)
    if cycle:
        failures.append('include cycle between units: ' + ' -> '.join(cycle))

    for failure in failures:
        print(failure, file=sys.stderr)
    if not failures:
        print('%d files, %d units: no include cycle, no platform #if outside the platform '
              'directories' % (len(files), len(unit_graph)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
