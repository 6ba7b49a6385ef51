#!/usr/bin/env python3
# check-warnings.py: fails when the build of the API reference warned
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
#   check-warnings.py LOG
#
# LOG is what the gtk-doc tools printed during the last build of the
# reference (see gtkdoc-tool.sh.in). Any line with "warning" or "error"
# fails the test.

import re
import sys

try:
    with open(sys.argv[1], encoding='utf-8', errors='replace') as f:
        lines = f.read().splitlines()
except FileNotFoundError:
    sys.exit('error: %s is missing: was the reference built?' % sys.argv[1])

bad = [line for line in lines if re.search(r'warning|error', line, re.IGNORECASE)]
for line in bad:
    print(line)
if bad:
    sys.exit('error: the docs build printed %d warning(s)' % len(bad))
print('the docs build printed no warning (%d line(s) of output)' % len(lines))
