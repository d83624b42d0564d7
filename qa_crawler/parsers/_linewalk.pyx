# cython: language_level=3
"""The reference line reading (:func:`qa_crawler.parsers.reader.read_lines_reference`), compiled.

The same walk and the same line builder, statement for statement, over libxml2's nodes (the
tree lxml parsed) instead of lxml's Python proxies: an element's tag, attributes and text are
read from the C structs, and only the lines, their links and their block elements become Python
objects. Every rule that decides something (which attributes hide an element or make it chrome,
whether a chrome element holds a page label, what a link is) is the reference's own Python
function, called from here. ``tests/test_line_pass.py`` holds both readings equal on every saved
page and on the demo site's pages.
"""

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdlib cimport free, realloc
from libc.string cimport strcmp, strlen

from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Document, _Element, elementFactory, import_lxml__etree

import_lxml__etree()

from qa_crawler.parsers import reader as _reader
from qa_crawler.parsers.normalize import clean_text

cdef object Line = _reader.Line
cdef object attribute_kind_of = _reader._attribute_kind
cdef object holds_label = _reader.holds_label
cdef object add_link = _reader.add_link
cdef frozenset BLOCK_TAGS = _reader.BLOCK_TAGS
cdef frozenset DROP_TAGS = _reader.DROP_TAGS
cdef frozenset CHROME_TAGS = _reader.CHROME_TAGS | _reader.FOOTER_TAGS
cdef int HIDDEN = _reader.HIDDEN
cdef int CHROME = _reader.CHROME

cdef enum:
    F_BLOCK = 1
    F_LINK = 2
    F_PRE = 4
    F_TIME = 8


cdef struct Frame:
    tree.xmlNode* node
    int flags
    bint chrome  # the context outside the element (restored at its end)
    int in_link
    int heading


cdef inline str _text(const tree.xmlChar* s):
    return PyUnicode_DecodeUTF8(<const char*>s, strlen(<const char*>s), NULL)


cdef str _attr(tree.xmlNode* c, const char* name):
    """``el.get(name)``: the value of the attribute without namespace, else None."""
    cdef tree.xmlAttr* a = c.properties
    cdef tree.xmlNode* t
    while a is not NULL:
        if a.ns is NULL and strcmp(<const char*>a.name, name) == 0:
            t = a.children
            if t is NULL:
                return ""
            if t.next is NULL and t.content is not NULL:
                return _text(t.content)
            parts = []
            while t is not NULL:
                if t.content is not NULL:
                    parts.append(_text(t.content))
                t = t.next
            return "".join(parts)
        a = a.next
    return None


cdef int _attribute_kind(tree.xmlNode* c):
    """reader.attribute_kind, reading only the attributes it looks at."""
    cdef tree.xmlAttr* a = c.properties
    cdef bint any_ = False
    cdef const char* name
    while a is not NULL:
        if a.ns is NULL:
            name = <const char*>a.name
            if (strcmp(name, "class") == 0 or strcmp(name, "id") == 0
                    or strcmp(name, "role") == 0 or strcmp(name, "style") == 0
                    or strcmp(name, "hidden") == 0 or strcmp(name, "aria-hidden") == 0):
                any_ = True
                break
        a = a.next
    if not any_:
        return 0
    return attribute_kind_of(_attr(c, "class"), _attr(c, "id"), _attr(c, "role"),
                             _attr(c, "style"), _attr(c, "hidden"), _attr(c, "aria-hidden"))


cdef str _string(tree.xmlNode* top):
    """XPath ``string()`` of an element (and lxml's ``itertext()`` without comments): the text
    of every text node below it, in document order."""
    parts = []
    cdef tree.xmlNode* c = top.children
    while c is not NULL:
        if c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE:
            if c.content is not NULL:
                parts.append(_text(c.content))
        elif c.type == tree.XML_ELEMENT_NODE and c.children is not NULL:
            c = c.children
            continue
        while c.next is NULL:
            c = c.parent
            if c is top or c is NULL:
                return "".join(parts)
        c = c.next
    return "".join(parts)


cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)


cdef object _clean(str text):
    """``clean_text(text)``, in one pass in C for the common texts: all whitespace (None), or
    clean already (no space at its ends, no two in a row, no space but U+0020: itself)."""
    cdef Py_UCS4 ch
    cdef bint after_space = True, has_text = False, needs = False
    for ch in text:
        if Py_UNICODE_ISSPACE(ch) or ch == 0x200b or ch == 0xfeff:
            if after_space or ch != 32:
                needs = True
            after_space = True
        else:
            after_space = False
            has_text = True
    if not has_text:
        return None
    if needs or after_space:
        return clean_text(text)
    return text


cdef class _Builder:
    cdef str base_url
    cdef list lines, parts, part_chrome, links, times, open_links
    cdef int link_chars, heading, pre
    cdef list blocks  # block elements open (C nodes as ints), innermost last; 0: none
    cdef _Document doc

    def __cinit__(self, str base_url, _Document doc):
        self.base_url = base_url
        self.doc = doc
        self.lines = []
        self.parts = []
        self.part_chrome = []
        self.links = []
        self.times = []
        self.open_links = []
        self.link_chars = 0
        self.heading = 0
        self.pre = 0
        self.blocks = []

    cdef void add_text(self, str text, bint chrome, int in_link, int heading) except *:
        if not text:
            return
        if self.pre and "\n" in text:
            # Inside <pre> a newline is a visible line break.
            pieces = text.split("\n")
            self.add_text(pieces[0], chrome, in_link, heading)
            for piece in pieces[1:]:
                self.flush()
                self.add_text(piece, chrome, in_link, heading)
            return
        for acc in self.open_links:
            (<list>acc).append(text)
        self.parts.append(text)
        self.part_chrome.append(chrome)
        if in_link:
            self.link_chars += len(text.replace(" ", "").replace("\xa0", ""))
        if heading and text.strip():
            self.heading = heading if not self.heading else min(self.heading, heading)

    cdef void flush(self) except *:
        cdef tree.xmlNode* top
        if not self.parts and not self.links and not self.heading and not self.times:
            return  # nothing read since the last line (most block boundaries)
        if self.parts:
            text = _clean("".join(self.parts))
            if text:
                visible = [c for p, c in zip(self.parts, self.part_chrome) if (<str>p).strip()]
                block = None
                if self.blocks:
                    top = <tree.xmlNode*><size_t>self.blocks[-1]
                    block = elementFactory(self.doc, top)
                self.lines.append(
                    Line(text, self.links, self.link_chars, self.heading,
                         bool(visible) and all(visible), self.times, block)
                )
            elif self.times:
                return  # keep a <time> whose text is empty for the next line
        self.parts, self.part_chrome, self.links, self.times = [], [], [], []
        self.link_chars, self.heading = 0, 0

    cdef inline bint pending(self):
        return bool(self.parts) or bool(self.links) or bool(self.times)


cdef int _start(_Builder b, tree.xmlNode* c, bint* chrome, int* in_link, int* heading) except -2:
    """The reference walker's "start" of an element: -1 skip it (dropped, hidden, <br>), else
    the flags of what its end must do; the context (chrome, link, heading) is updated."""
    tag = _text(c.name)
    cdef int kind = _attribute_kind(c) if c.properties is not NULL else 0
    if tag in DROP_TAGS or kind == HIDDEN:
        return -1
    if not chrome[0] and (tag in CHROME_TAGS or kind == CHROME) and not holds_label(_string(c)):
        chrome[0] = True
    cdef bint block = tag in BLOCK_TAGS
    if block and b.pending():
        b.flush()
    if tag == "br" or tag == "hr":
        return -1
    cdef int flags = 0
    cdef const char* name = <const char*>c.name
    if strlen(name) == 2 and name[0] == 104 and 49 <= name[1] <= 54:  # h1 .. h6
        heading[0] = name[1] - 48
    if tag == "a" and _attr(c, "href") is not None:
        b.open_links.append([])
        in_link[0] += 1
        flags |= F_LINK
    if tag == "pre":
        b.pre += 1
        flags |= F_PRE
    elif tag == "time":
        flags |= F_TIME
    if block:
        b.blocks.append(<size_t>c)
        flags |= F_BLOCK
    return flags


cdef void _end(_Builder b, tree.xmlNode* c, int flags) except *:
    if flags & F_PRE:
        b.pre -= 1
    elif flags & F_TIME:
        b.times.append((_attr(c, "datetime"), clean_text(_string(c)) or ""))
    if flags & F_LINK:
        add_link(b.links, b.open_links.pop(), _attr(c, "href"), b.base_url)
    if flags & F_BLOCK:
        if b.pending():
            b.flush()
        b.blocks.pop()


def read_lines(_Element root, str base_url):
    """The visual lines of the ``<body>`` of a parsed lxml HTML document, in reading order."""
    body = root.find("body")
    if body is None:
        body = root
    cdef _Element walk_root = body
    cdef _Builder b = _Builder(base_url, walk_root._doc)
    cdef tree.xmlNode* top = walk_root._c_node
    cdef tree.xmlNode* c
    cdef Frame* frames = NULL
    cdef Frame* f
    cdef size_t depth = 0, room = 0
    cdef bint chrome = False
    cdef int in_link = 0, heading = 0, flags
    cdef bint outer_chrome
    cdef int outer_link, outer_heading
    try:
        c = top
        while True:
            if c is NULL:
                # The children of the innermost open element are read: its end.
                if depth == 0:
                    break
                depth -= 1
                f = &frames[depth]
                _end(b, f.node, f.flags)
                chrome, in_link, heading = f.chrome, f.in_link, f.heading
                if f.node is top:
                    break
                c = f.node.next
                continue
            if c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE:
                if c.content is not NULL:
                    b.add_text(_text(c.content), chrome, in_link, heading)
                c = c.next
                continue
            if c.type != tree.XML_ELEMENT_NODE:  # comments, PIs: only their tail is read
                if c is top:
                    break
                c = c.next
                continue
            outer_chrome, outer_link, outer_heading = chrome, in_link, heading
            flags = _start(b, c, &chrome, &in_link, &heading)
            if flags < 0:
                chrome, in_link, heading = outer_chrome, outer_link, outer_heading
                if c is top:
                    break
                c = c.next
                continue
            if depth == room:
                room = room * 2 + 64
                f = <Frame*>realloc(frames, room * sizeof(Frame))
                if f is NULL:
                    raise MemoryError()
                frames = f
            f = &frames[depth]
            f.node, f.flags = c, flags
            f.chrome, f.in_link, f.heading = outer_chrome, outer_link, outer_heading
            depth += 1
            c = c.children
        # The walk root's tail.
        c = top.next
        while c is not NULL and (c.type == tree.XML_TEXT_NODE
                                 or c.type == tree.XML_CDATA_SECTION_NODE):
            if c.content is not NULL:
                b.add_text(_text(c.content), False, 0, 0)
            c = c.next
    finally:
        free(frames)
    b.flush()
    return b.lines
