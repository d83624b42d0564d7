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
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, strcmp, strlen

from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Document, _Element, elementFactory, import_lxml__etree

import_lxml__etree()

from qa_crawler.parsers import reader as _reader

cdef object Line = _reader.Line
cdef object attribute_kind_of = _reader._attribute_kind
cdef object holds_label = _reader.holds_label
cdef object link_target = _reader.link_target
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
    while a is not NULL:
        if a.ns is NULL and strcmp(<const char*>a.name, name) == 0:
            return _value(a)
        a = a.next
    return None


cdef inline str _value(tree.xmlAttr* a):
    """An attribute's value, as lxml gives it."""
    cdef tree.xmlNode* t = a.children
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


# The attributes reader.attribute_kind reads, in the order of its arguments.
cdef tuple _KIND_ATTRS = (b"class", b"id", b"role", b"style", b"hidden", b"aria-hidden")


cdef int _attribute_kind(tree.xmlNode* c) except -1:
    """reader.attribute_kind, reading the attributes it looks at in one pass over them (the
    first of a name counts, as for el.get: libxml2's xmlGetNoNsProp)."""
    cdef tree.xmlAttr* a = c.properties
    cdef list values = [None] * 6
    cdef bint any_ = False
    cdef int k
    while a is not NULL:
        if a.ns is NULL:
            for k in range(6):
                if values[k] is None and strcmp(<const char*>a.name,
                                                <const char*><bytes>_KIND_ATTRS[k]) == 0:
                    values[k] = _value(a)
                    any_ = True
                    break
        a = a.next
    if not any_:
        return 0
    return attribute_kind_of(*values)


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
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    int PyUnicode_4BYTE_KIND
    int PyUnicode_1BYTE_KIND
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)


cdef inline bint _is_space(Py_UCS4 ch):
    """A space to clean_text: what str.split() splits at, and the zero-width space and BOM."""
    return Py_UNICODE_ISSPACE(ch) or ch == 0x200b or ch == 0xfeff


# What Py_UNICODE_ISSPACE says of each code point below 256 (the characters of a 1-byte str).
cdef bint _SPACE1[256]
cdef int _k
for _k in range(256):
    _SPACE1[_k] = Py_UNICODE_ISSPACE(<Py_UCS4>_k)


cdef object _clean1(str text):
    """_clean of a str whose characters are all below 256 (PEP 393's 1-byte kind), read in
    place, in one pass: no character of that range is a zero-width space or a BOM."""
    cdef const unsigned char* data = <const unsigned char*>PyUnicode_DATA(text)
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(text), i, n = 0
    cdef bint gap = False, changed = False
    cdef unsigned char ch, high = 0
    cdef unsigned char small[512]
    cdef unsigned char* buf = small
    if size > 512:
        buf = <unsigned char*>malloc(size)
        if buf is NULL:
            raise MemoryError()
    try:
        for i in range(size):
            ch = data[i]
            if _SPACE1[ch]:
                # a space that stays is one " " after text, before more text
                if gap or ch != 32 or n == 0:
                    changed = True
                gap = n > 0
            else:
                if gap:
                    buf[n] = 32
                    n += 1
                    gap = False
                buf[n] = ch
                high |= ch
                n += 1
        if n == 0:
            return None
        if gap:
            changed = True  # trailing spaces
        if not changed:
            return text
        out = PyUnicode_New(n, 255 if high & 0x80 else 127)
        memcpy(PyUnicode_DATA(out), buf, n)
        return out
    finally:
        if buf is not small:
            free(buf)


cdef object _clean(str text):
    """normalize.clean_text in C: runs of spaces to one, none at the ends; None if no text. A
    text that is clean already is returned as it is."""
    if PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND:
        return _clean1(text)
    cdef Py_UCS4 ch
    cdef bint after_space = True, has_text = False, needs = False
    for ch in text:
        if _is_space(ch):
            if after_space or ch != 32:
                needs = True
            after_space = True
        else:
            after_space = False
            has_text = True
    if not has_text:
        return None
    if not needs and not after_space:
        return text
    cdef Py_UCS4* buf = <Py_UCS4*>malloc(len(text) * sizeof(Py_UCS4))
    if buf is NULL:
        raise MemoryError()
    cdef Py_ssize_t n = 0
    cdef bint gap = False
    try:
        for ch in text:
            if _is_space(ch):
                gap = n > 0
            else:
                if gap:
                    buf[n] = 32
                    n += 1
                    gap = False
                buf[n] = ch
                n += 1
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n)
    finally:
        free(buf)


cdef inline bint _visible(str text):
    """``text.strip()`` is not empty."""
    cdef const unsigned char* data
    cdef Py_ssize_t i
    if PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND:
        data = <const unsigned char*>PyUnicode_DATA(text)
        for i in range(PyUnicode_GET_LENGTH(text)):
            if not _SPACE1[data[i]]:
                return True
        return False
    cdef Py_UCS4 ch
    for ch in text:
        if not Py_UNICODE_ISSPACE(ch):
            return True
    return False


cdef extern from "Python.h":
    """
    #include "structmember.h"
    #include "descrobject.h"
    static Py_ssize_t __qa_slot_offset(PyObject* descr) {
        return ((PyMemberDescrObject*)descr)->d_member->offset;
    }
    static PyObject* __qa_new_instance(PyObject* cls) {
        PyTypeObject* t = (PyTypeObject*)cls;
        return t->tp_alloc(t, 0);
    }
    static void __qa_set_slot(PyObject* obj, Py_ssize_t offset, PyObject* value) {
        PyObject** slot = (PyObject**)((char*)obj + offset);
        PyObject* old = *slot;
        Py_INCREF(value);
        *slot = value;
        Py_XDECREF(old);
    }
    """
    Py_ssize_t __qa_slot_offset(object descr) except -1
    object __qa_new_instance(object cls)
    void __qa_set_slot(object obj, Py_ssize_t offset, object value)


# A Line is built as Line.__init__ would build it (it only stores its arguments in its
# __slots__): allocated by its type, each slot written where its member descriptor says.
if not (type(Line).__call__ is type.__call__ and Line.__new__ is object.__new__
        and Line.__slots__ == ("text", "links", "link_chars", "heading", "chrome", "times",
                               "_block", "_where")):
    raise ImportError("reader.Line is not the plain __slots__ class the line pass builds")
cdef Py_ssize_t _S_TEXT = __qa_slot_offset(Line.__dict__["text"])
cdef Py_ssize_t _S_LINKS = __qa_slot_offset(Line.__dict__["links"])
cdef Py_ssize_t _S_LINK_CHARS = __qa_slot_offset(Line.__dict__["link_chars"])
cdef Py_ssize_t _S_HEADING = __qa_slot_offset(Line.__dict__["heading"])
cdef Py_ssize_t _S_CHROME = __qa_slot_offset(Line.__dict__["chrome"])
cdef Py_ssize_t _S_TIMES = __qa_slot_offset(Line.__dict__["times"])
cdef Py_ssize_t _S_BLOCK = __qa_slot_offset(Line.__dict__["_block"])
cdef Py_ssize_t _S_WHERE = __qa_slot_offset(Line.__dict__["_where"])


cdef inline object _new_line():
    return __qa_new_instance(Line)


cdef inline void _set_slot(object line, Py_ssize_t offset, object value):
    __qa_set_slot(line, offset, value)


cdef class _Where:
    """Where a line's block element is: ``at(node)`` is the lxml element of a node of the
    document (held alive by this object while any of its lines is)."""
    cdef _Document doc

    def __cinit__(self, _Document doc):
        self.doc = doc

    def at(self, size_t node):
        return elementFactory(self.doc, <tree.xmlNode*>node)


cdef class _Builder:
    cdef str base_url
    cdef list lines, parts, part_chrome, links, times, open_links
    cdef int link_chars, heading, pre
    cdef list blocks  # block elements open (C nodes as ints), innermost last; 0: none
    cdef _Document doc
    cdef dict tags
    cdef _Where where
    cdef str origin, folder  # the base's (reader._origin, reader._folder)

    def __cinit__(self, str base_url, _Document doc):
        self.base_url = base_url
        self.origin = _reader._origin(base_url)
        self.folder = _reader._folder(base_url)
        self.doc = doc
        self.where = _Where(doc)
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
        self.tags = {}

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
            # len(text.replace(" ", "").replace("\xa0", "")), without the copies
            self.link_chars += len(text) - text.count(" ") - text.count("\xa0")
        if heading and _visible(text):
            self.heading = heading if not self.heading else min(self.heading, heading)

    cdef void flush(self) except *:
        cdef tree.xmlNode* top
        if not self.parts and not self.links and not self.heading and not self.times:
            return  # nothing read since the last line (most block boundaries)
        if self.parts:
            text = _clean("".join(self.parts))
            if text:
                # The line is chrome when every part with text is (and one has).
                any_visible, all_chrome = False, True
                for i in range(len(self.parts)):
                    if _visible(self.parts[i]):
                        any_visible = True
                        if not self.part_chrome[i]:
                            all_chrome = False
                            break
                # Line(...) without running its __init__ (which only stores its arguments);
                # the block element is made a Python proxy only when a reading asks for it.
                line = _new_line()
                _set_slot(line, _S_TEXT, text)
                _set_slot(line, _S_LINKS, self.links)
                _set_slot(line, _S_LINK_CHARS, self.link_chars)
                _set_slot(line, _S_HEADING, self.heading)
                _set_slot(line, _S_CHROME, any_visible and all_chrome)
                _set_slot(line, _S_TIMES, self.times)
                if self.blocks:
                    _set_slot(line, _S_BLOCK, self.blocks[-1])
                    _set_slot(line, _S_WHERE, self.where)
                else:
                    _set_slot(line, _S_BLOCK, None)
                    _set_slot(line, _S_WHERE, None)
                self.lines.append(line)
            elif self.times:
                return  # keep a <time> whose text is empty for the next line
        # (the parts are read into the same lists again; links and times went to the line)
        del self.parts[:], self.part_chrome[:]
        self.links, self.times = [], []
        self.link_chars, self.heading = 0, 0

    cdef inline bint pending(self):
        return bool(self.parts) or bool(self.links) or bool(self.times)


cdef enum:
    T_DROP = 1
    T_CHROME = 2
    T_BLOCK = 4
    T_BREAK = 8
    T_A = 16
    T_PRE = 32
    T_TIME = 64


cdef int _tag_kind(tree.xmlNode* c, dict cache) except -1:
    """What a tag is to the walk (T_* bits, heading level << 8), by name: the reference's sets,
    looked up once per name (libxml2 keeps one copy of each name of a document)."""
    key = <size_t>c.name
    kind = cache.get(key)
    if kind is not None:
        return kind
    tag = _text(c.name)
    cdef int k = 0
    if tag in DROP_TAGS:
        k |= T_DROP
    if tag in CHROME_TAGS:
        k |= T_CHROME
    if tag in BLOCK_TAGS:
        k |= T_BLOCK
    if tag == "br" or tag == "hr":
        k |= T_BREAK
    if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
        k |= int(tag[1]) << 8
    if tag == "a":
        k |= T_A
    elif tag == "pre":
        k |= T_PRE
    elif tag == "time":
        k |= T_TIME
    cache[key] = k
    return k


cdef int _start(_Builder b, tree.xmlNode* c, bint* chrome, int* in_link, int* heading) except -2:
    """The reference walker's "start" of an element: -1 skip it (dropped, hidden, <br>), else
    the flags of what its end must do; the context (chrome, link, heading) is updated."""
    cdef int tag = _tag_kind(c, b.tags)
    cdef int kind = _attribute_kind(c) if c.properties is not NULL else 0
    if tag & T_DROP or kind == HIDDEN:
        return -1
    if not chrome[0] and (tag & T_CHROME or kind == CHROME) and not holds_label(_string(c)):
        chrome[0] = True
    if tag & T_BLOCK and b.pending():
        b.flush()
    if tag & T_BREAK:
        return -1
    cdef int flags = 0
    if tag >> 8:
        heading[0] = tag >> 8
    if tag & T_A and _attr(c, "href") is not None:
        b.open_links.append([])
        in_link[0] += 1
        flags |= F_LINK
    if tag & T_PRE:
        b.pre += 1
        flags |= F_PRE
    elif tag & T_TIME:
        flags |= F_TIME
    if tag & T_BLOCK:
        b.blocks.append(<size_t>c)
        flags |= F_BLOCK
    return flags


# reader.link_target's results, by what each depends on: the href (stripped) and the base's
# origin (absolute and root-relative hrefs), its folder (relative paths) or the base itself
# (anything else), as reader.link_target and reader.safe_urljoin read them. The pages of a site
# repeat their menus', listings' and similar pages' links.
cdef dict _targets = {}
cdef object _RELATIVE_PATH_MATCH = _reader._RELATIVE_PATH.match


cdef object _link_target(_Builder b, str href):
    cdef str h = href.strip()
    if h.startswith(("http://", "https://")) or (h.startswith("/") and not h.startswith("//")):
        key = (b.origin, h)  # reader._by_origin
    elif _RELATIVE_PATH_MATCH(h) is not None:
        key = (b.folder, h)
    else:
        key = (b.base_url, h)
    target = _targets.get(key, _targets)
    if target is _targets:
        target = link_target(b.base_url, href)
        if len(_targets) >= 16384:
            _targets.clear()
        _targets[key] = target
    return target


cdef void _end(_Builder b, tree.xmlNode* c, int flags) except *:
    if flags & F_PRE:
        b.pre -= 1
    elif flags & F_TIME:
        b.times.append((_attr(c, "datetime"), _clean(_string(c)) or ""))
    if flags & F_LINK:  # reader.add_link
        parts = b.open_links.pop()
        target = _link_target(b, _attr(c, "href"))
        if target:
            b.links.append((_clean("".join(parts)) or "", target))
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


def clean_text(str text):
    """The line pass's own normalize.clean_text (for the tests that hold the two equal)."""
    return _clean(text)




cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)

# str.lower() of each character of a 1-byte str (each lower-cases to one character below U+0100).
cdef unsigned char _LOWER1[256]
for _k in range(256):
    _low = chr(_k).lower()
    assert len(_low) == 1 and ord(_low) < 256
    _LOWER1[_k] = ord(_low)


cdef object _lower(str text):
    """``text.lower()``: a 1-byte text lower-cased in C (ASCII eight characters at a time); no
    character below U+0100 lower-cases to more than one, nor across U+0080, so the result is
    of the text's own kind. Any other text: str.lower()."""
    if PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND:
        return text.lower()
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(text), i = 0, words
    cdef bint ascii = PyUnicode_IS_ASCII(text)
    out = PyUnicode_New(size, 127 if ascii else 255)
    cdef const unsigned char* src = <const unsigned char*>PyUnicode_DATA(text)
    cdef unsigned char* dst = <unsigned char*>PyUnicode_DATA(out)
    cdef unsigned long long x, upper
    if ascii:
        words = size // 8
        for i in range(words):
            memcpy(&x, src + 8 * i, 8)
            # bytes from "A" (0x41) to "Z" (0x5a): 0x80 set in (x + 0x3f) and clear in (x + 0x25)
            upper = (x + 0x3f3f3f3f3f3f3f3fULL) & ~(x + 0x2525252525252525ULL) & 0x8080808080808080ULL
            x |= upper >> 2
            memcpy(dst + 8 * i, &x, 8)
        i = words * 8
    while i < size:
        dst[i] = _LOWER1[src[i]]
        i += 1
    return out


def lower(str text):
    """The line pass's own str.lower() (for the tests that hold the two equal)."""
    return _lower(text)


def lower_texts(list lines):
    """``[line.text.lower() for line in lines]``, lower-cased by :func:`lower`."""
    return [_lower(line.text) for line in lines]
