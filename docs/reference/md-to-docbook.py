#!/usr/bin/env python3
# md-to-docbook.py: turns docs/protocol.md into a DocBook chapter
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
#   md-to-docbook.py ID INPUT.md OUTPUT.xml
#
# Handles the Markdown that protocol.md uses: headings, paragraphs,
# bulleted and numbered lists (with indented continuation lines), pipe
# tables, fenced code blocks, `code`, **strong**, *emphasis* and links
# to sections or web pages. Anything
# else stops the build, so the reference never shows a page half-converted.

import html
import re
import sys


chapter = None            # the chapter's id, the prefix of section ids


def link(match):
    text, target = match.group(1), match.group(2)
    if target.startswith('#'):
        return '<link linkend="%s-%s">%s</link>' % (chapter, target[1:], text)
    if re.match(r'https?://', target):
        return '<ulink url="%s">%s</ulink>' % (target, text)
    sys.exit('md-to-docbook: only links to sections and web pages are supported: %s' % target)


def inline(text):
    parts = re.split(r'(`[^`]*`)', text)
    out = []
    for part in parts:
        if part.startswith('`') and part.endswith('`') and len(part) >= 2:
            out.append('<literal>%s</literal>' % html.escape(part[1:-1], quote=False))
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r'\[([^\]]*)\]\(([^)]*)\)', link, part)
        part = re.sub(r'\*\*(.+?)\*\*', r'<emphasis role="strong">\1</emphasis>', part)
        part = re.sub(r'(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])', r'<emphasis>\1</emphasis>', part)
        out.append(part)
    return ''.join(out)


def table(rows):
    cells = [[c.strip() for c in row.strip().strip('|').split('|')] for row in rows]
    head, body = cells[0], cells[2:]
    if not all(re.fullmatch(r':?-+:?', c) for c in cells[1]):
        sys.exit('md-to-docbook: a table needs a |---| line: %s' % rows[1])
    out = ['<informaltable><tgroup cols="%d">' % len(head), '<thead><row>']
    out += ['<entry>%s</entry>' % inline(c) for c in head]
    out += ['</row></thead>', '<tbody>']
    for row in body:
        if len(row) != len(head):
            sys.exit('md-to-docbook: a table row has %d cells, not %d' % (len(row), len(head)))
        out.append('<row>' + ''.join('<entry>%s</entry>' % inline(c) for c in row) + '</row>')
    out.append('</tbody></tgroup></informaltable>')
    return '\n'.join(out)


def convert(chapter_id, lines):
    out = []
    sections = []          # levels of the open sections
    title = None
    i = 0

    def close_sections(level):
        while sections and sections[-1] >= level:
            out.append('</sect%d>' % (sections.pop() - 1))

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r'(#{1,4}) (.*)', line)
        if heading:
            level = len(heading.group(1))
            if level == 1:
                if title is not None:
                    sys.exit('md-to-docbook: more than one title')
                title = heading.group(2)
            else:
                close_sections(level)
                sections.append(level)
                anchor = re.sub(r'[^a-z0-9]+', '-', heading.group(2).lower()).strip('-')
                out.append('<sect%d id="%s-%s"><title>%s</title>'
                           % (level - 1, chapter_id, anchor, inline(heading.group(2))))
            i += 1
        elif line.startswith('```'):
            end = i + 1
            while end < len(lines) and not lines[end].startswith('```'):
                end += 1
            code = '\n'.join(lines[i + 1:end])
            out.append('<informalexample><programlisting><![CDATA[%s]]></programlisting></informalexample>' % code)
            i = end + 1
        elif line.startswith('|'):
            end = i
            while end < len(lines) and lines[end].startswith('|'):
                end += 1
            out.append(table(lines[i:end]))
            i = end
        elif re.match(r'(- |\d+\. )', line):
            ordered = bool(re.match(r'\d+\. ', line))
            items = []
            while i < len(lines) and (re.match(r'(- |\d+\. )', lines[i]) or
                                      (lines[i].startswith('  ') and items)):
                if lines[i].startswith('  '):
                    items[-1] += ' ' + lines[i].strip()
                else:
                    items.append(re.sub(r'^(- |\d+\. )', '', lines[i]))
                i += 1
            tag = 'orderedlist' if ordered else 'itemizedlist'
            out.append('<%s>' % tag)
            out += ['<listitem><para>%s</para></listitem>' % inline(item) for item in items]
            out.append('</%s>' % tag)
        else:
            para = []
            while (i < len(lines) and lines[i].strip() and
                   not re.match(r'(#{1,4} |```|\||- |\d+\. )', lines[i])):
                para.append(lines[i].strip())
                i += 1
            out.append('<para>%s</para>' % inline(' '.join(para)))
    close_sections(2)
    if title is None:
        sys.exit('md-to-docbook: no title')
    return ('<?xml version="1.0"?>\n'
            '<!DOCTYPE chapter PUBLIC "-//OASIS//DTD DocBook XML V4.3//EN"\n'
            '               "http://www.oasis-open.org/docbook/xml/4.3/docbookx.dtd">\n'
            '<!-- Generated from protocol.md by md-to-docbook.py: do not edit -->\n'
            '<chapter id="%s">\n<title>%s</title>\n%s\n</chapter>\n'
            % (chapter_id, inline(title), '\n'.join(out)))


chapter_id, source, output = sys.argv[1:]
chapter = chapter_id
with open(source, encoding='utf-8') as f:
    text = convert(chapter_id, f.read().splitlines())
with open(output, 'w', encoding='utf-8') as f:
    f.write(text)
