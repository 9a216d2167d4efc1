/* The key search of scan.py's ObjectFinder._find_hits, hit after hit in C: a hit whose code is not
   wanted (the rule of rows.ItemCollector.want for a set of codes or for any Level II code) is passed
   over here; any other hit (a wanted code, or a value this code does not read exactly: a string with a
   backslash, non-ASCII text, a value cut by the buffer's end) goes back to Python, which reads it with
   its regex and ``want`` as before. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Python's \s for bytes patterns */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* The value token after the key at buf[at] (key of length k): 1 with its span, 0 when Python must read
   it (no ':' means no match at all: -1). */
static int token_at(const unsigned char *buf, Py_ssize_t len, Py_ssize_t at, Py_ssize_t k, Py_ssize_t *a,
                    Py_ssize_t *b) {
    Py_ssize_t i = at + k;
    while (i < len && is_space(buf[i])) i++;
    if (i >= len) return 0;
    if (buf[i] != ':') return -1;
    i++;
    while (i < len && is_space(buf[i])) i++;
    if (i >= len) return 0;
    *a = i;
    if (buf[i] == '"') {
        i++;
        while (i < len && buf[i] != '"') {
            if (buf[i] == '\\') return 0;
            i++;
        }
        if (i >= len) return 0;
        *b = i + 1;
        return 1;
    }
    while (i < len && !is_space(buf[i]) && buf[i] != ',' && buf[i] != '}' && buf[i] != ']') i++;
    if (i >= len) return 0; /* the run may go on past the buffer: the regex would read further */
    *b = i;
    return *b > *a ? 1 : -1;
}

/* str.strip()'s ASCII whitespace */
static int is_strip_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* The verdict of ItemCollector.want on a plain token (no backslash): 1 wanted, 0 not, -1 Python must
   say (non-ASCII text), -2 error. The code is the token's text, stripped and upper-cased; ``codes`` a
   set of codes, or NULL for "any Level II code" (a letter A-V and four digits, as sources.is_level2). */
static int verdict(const unsigned char *token, Py_ssize_t n, PyObject *codes) {
    char code[64];
    Py_ssize_t i, a = 0, b = n;
    PyObject *text;
    int found;
    if (n >= 2 && token[0] == '"') {
        a = 1;
        b = n - 1;
    }
    for (i = a; i < b; i++)
        if (token[i] >= 0x80) return -1;
    while (a < b && is_strip_space(token[a])) a++;
    while (b > a && is_strip_space(token[b - 1])) b--;
    if (codes == NULL) {
        unsigned char c0;
        if (b - a != 5) return 0;
        c0 = token[a];
        if (c0 >= 'a' && c0 <= 'z') c0 -= 32;
        if (c0 < 'A' || c0 > 'V') return 0;
        for (i = a + 1; i < b; i++)
            if (token[i] < '0' || token[i] > '9') return 0;
        return 1;
    }
    if (b - a > (Py_ssize_t)sizeof(code)) return -1;
    for (i = a; i < b; i++) {
        unsigned char c = token[i];
        code[i - a] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    text = PyUnicode_FromStringAndSize(code, b - a);
    if (text == NULL) return -2;
    found = PySet_Contains(codes, text);
    Py_DECREF(text);
    return found < 0 ? -2 : found;
}

/* next_hit(buf, key, start, stop, done, codes) -> (index, last, resume, wanted)
   index: the first hit at or after start and before stop that Python must look at (a wanted code, or a
   value read by its regex), or -1: none before stop; ``resume`` is then the first hit at or after stop
   (-1 if none). last: the last hit passed over, -1 if none. wanted: 1 when the hit at index is a wanted
   code as read here (Python need not read it again), 0 when Python must read it. Hits before ``done`` (inside an object
   handed over) are passed over, as _find_hits does. ``codes``: a set of codes, or None for any Level II
   code. */
static PyObject *next_hit(PyObject *self, PyObject *args) {
    Py_buffer buf, key;
    Py_ssize_t start, stop, done, index = -1, last = -1, resume = -1;
    int wanted = 0;
    PyObject *codes;
    const unsigned char *data, *k;
    Py_ssize_t len, klen, at;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*nnnO", &buf, &key, &start, &stop, &done, &codes)) return NULL;
    if (codes == Py_None) {
        codes = NULL;
    } else if (!PyAnySet_Check(codes)) {
        PyBuffer_Release(&buf);
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_TypeError, "codes: a set or None");
        return NULL;
    }
    data = (const unsigned char *)buf.buf;
    len = buf.len;
    k = (const unsigned char *)key.buf;
    klen = key.len;
    if (start < 0) start = 0;
    at = start;
    while (klen > 0 && at <= len - klen) {
        const unsigned char *found = memmem(data + at, (size_t)(len - at), k, (size_t)klen);
        Py_ssize_t a = 0, b = 0;
        int got;
        if (found == NULL) break;
        at = found - data;
        if (at >= stop) {
            resume = at;
            break;
        }
        if (at >= done) {
            got = token_at(data, len, at, klen, &a, &b);
            if (got == 0) {
                index = at;
                break;
            }
            if (got == 1) {
                got = verdict(data + a, b - a, codes);
                if (got == -2) goto fail;
                if (got != 0) {
                    index = at;
                    wanted = got == 1;
                    break;
                }
            }
        }
        last = at;
        at += klen;
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return Py_BuildValue("(nnni)", index, last, resume, wanted);
fail:
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return NULL;
}

/* locate(buf, index, floor, key) -> (start, after, brace)
   scan.py's object_start for its two fast cases and _next_start, in one call. start: the '{' opening
   the object that holds the key at index (the key is its first member, or only flat, complete strings
   lie between the last '{' and the key), or -1: Python's exact backward scan must say. after: the next
   hit of key after this one (-1: none in buf); brace: the last '{' between the two (-1: none). */
static PyObject *locate(PyObject *self, PyObject *args) {
    Py_buffer buf, key;
    Py_ssize_t index, floor, start = -1, after = -1, brace = -1, i, quotes = 0, lo;
    const unsigned char *data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nny*", &buf, &index, &floor, &key)) return NULL;
    data = (const unsigned char *)buf.buf;
    if (index < 0 || index > buf.len || floor < 0) {
        PyBuffer_Release(&buf);
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_IndexError, "index out of the buffer");
        return NULL;
    }
    i = index - 1;
    while (i >= floor && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i--;
    if (i >= floor && data[i] == '{') {
        start = i;
    } else {
        for (lo = index - 1; lo >= floor && data[lo] != '{'; lo--) {
        }
        if (lo >= floor) {
            int flat = 1;
            for (i = lo; i < index; i++) {
                unsigned char ch = data[i];
                if (ch == '"') quotes++;
                else if (ch == '\\' || ch == '[' || ch == ']' || ch == '}') {
                    flat = 0;
                    break;
                }
            }
            if (flat && quotes % 2 == 0) start = lo;
        }
    }
    if (key.len > 0 && index + key.len <= buf.len) {
        const unsigned char *found =
            memmem(data + index + key.len, (size_t)(buf.len - index - key.len), key.buf, (size_t)key.len);
        if (found != NULL) {
            after = found - data;
            for (i = after - 1; i >= index && data[i] != '{'; i--) {
            }
            brace = i >= index ? i : -1;
        }
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return Py_BuildValue("(nnn)", start, after, brace);
}

/* balanced(buf, start, stop) -> bool: as many '{' as '}' in buf[start:stop] (split.py's check that
   bytes handed to the helper hold one whole object), in one pass. */
static PyObject *balanced(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t start, stop, i, depth = 0;
    const unsigned char *data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nn", &buf, &start, &stop)) return NULL;
    data = (const unsigned char *)buf.buf;
    if (start < 0) start = 0;
    if (stop > buf.len) stop = buf.len;
    for (i = start; i < stop; i++) depth += (data[i] == '{') - (data[i] == '}');
    PyBuffer_Release(&buf);
    return PyBool_FromLong(depth == 0);
}

static PyMethodDef methods[] = {
    {"next_hit", next_hit, METH_VARARGS,
     "next_hit(buf, key, start, stop, done, codes) -> (index, last, resume, wanted)"},
    {"locate", locate, METH_VARARGS, "locate(buf, index, floor, key) -> (start, after, brace)"},
    {"balanced", balanced, METH_VARARGS, "balanced(buf, start, stop) -> bool"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hits", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__hits(void) { return PyModule_Create(&module); }
