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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_DISPATCH 1
#endif

/* The first k-byte needle at or after ``from`` wholly inside data[0:len], or -1: memmem's answer. */
static Py_ssize_t find_plain(const unsigned char *data, Py_ssize_t len, Py_ssize_t from, const unsigned char *k,
                             Py_ssize_t klen) {
    const unsigned char *found;
    if (from < 0) from = 0;
    if (klen <= 0 || from > len - klen) return -1;
    found = memmem(data + from, (size_t)(len - from), k, (size_t)klen);
    return found == NULL ? -1 : (Py_ssize_t)(found - data);
}

/* The first of the candidate positions (bit i of mask: from + i) where the whole needle stands, or -1:
   what the SSE2 and AVX2 searches do with the positions their two-byte test leaves. */
static inline Py_ssize_t first_whole(const unsigned char *data, Py_ssize_t len, Py_ssize_t from, unsigned mask,
                                     const unsigned char *k, Py_ssize_t klen) {
    while (mask != 0) {
        Py_ssize_t at = from + __builtin_ctz(mask);
        if (at + klen <= len && memcmp(data + at, k, (size_t)klen) == 0) return at;
        mask &= mask - 1;
    }
    return -1;
}

/* find_plain, 16 positions at a time (SSE2: every x86-64), tested on two of the needle's bytes (its
   second and its second-to-last: inside the quotes of a JSON key, so not the frequent '"'); only the
   rare positions where both match are compared whole. */
static Py_ssize_t find_sse2(const unsigned char *data, Py_ssize_t len, Py_ssize_t from, const unsigned char *k,
                            Py_ssize_t klen) {
    if (from < 0) from = 0;
    if (klen <= 0 || from > len - klen) return -1;
#if defined(__SSE2__)
    if (klen >= 4) {
        const Py_ssize_t p1 = 1, p2 = klen - 2;
        const __m128i first = _mm_set1_epi8((char)k[p1]), second = _mm_set1_epi8((char)k[p2]);
        /* both loads lie inside data: from + p2 + 16 <= len */
        for (; from + p2 + 16 <= len; from += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(data + from + p1));
            __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(data + from + p2));
            unsigned mask =
                (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, first), _mm_cmpeq_epi8(y, second)));
            if (mask != 0) {
                Py_ssize_t at = first_whole(data, len, from, mask, k, klen);
                if (at >= 0) return at;
            }
        }
    }
#endif
    return find_plain(data, len, from, k, klen);
}

#if defined(HAVE_AVX2_DISPATCH)
/* find_sse2 with 32 positions at a time, for CPUs with AVX2 (checked at run time) */
__attribute__((target("avx2"))) static Py_ssize_t find_avx2(const unsigned char *data, Py_ssize_t len,
                                                            Py_ssize_t from, const unsigned char *k,
                                                            Py_ssize_t klen) {
    if (from < 0) from = 0;
    if (klen <= 0 || from > len - klen) return -1;
    if (klen >= 4) {
        const Py_ssize_t p1 = 1, p2 = klen - 2;
        const __m256i first = _mm256_set1_epi8((char)k[p1]), second = _mm256_set1_epi8((char)k[p2]);
        for (; from + p2 + 32 <= len; from += 32) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(data + from + p1));
            __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(data + from + p2));
            unsigned mask = (unsigned)_mm256_movemask_epi8(
                _mm256_and_si256(_mm256_cmpeq_epi8(x, first), _mm256_cmpeq_epi8(y, second)));
            if (mask != 0) {
                Py_ssize_t at = first_whole(data, len, from, mask, k, klen);
                if (at >= 0) return at;
            }
        }
    }
    return find_sse2(data, len, from, k, klen);
}
#endif

typedef Py_ssize_t (*finder)(const unsigned char *, Py_ssize_t, Py_ssize_t, const unsigned char *, Py_ssize_t);
static finder find = find_sse2; /* set at import (PyInit__hits), or by simd() */

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

/* scan.py's object_start for its two fast cases and _next_start: start, the '{' opening the object that
   holds the key at index (the key is its first member, or only flat, complete strings lie between the
   last '{' and the key), or -1: Python's exact backward scan must say. after: the next hit of the key
   after this one (-1: none in data); brace: the last '{' between the two (-1: none). */
static void locate_at(const unsigned char *data, Py_ssize_t len, Py_ssize_t index, Py_ssize_t floor,
                      const unsigned char *k, Py_ssize_t klen, Py_ssize_t *start, Py_ssize_t *after,
                      Py_ssize_t *brace) {
    Py_ssize_t i, lo, quotes = 0;
    *start = *after = *brace = -1;
    i = index - 1;
    while (i >= floor && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i--;
    if (i >= floor && data[i] == '{') {
        *start = i;
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
            if (flat && quotes % 2 == 0) *start = lo;
        }
    }
    if (klen > 0 && index + klen <= len) {
        *after = find(data, len, index + klen, k, klen);
        if (*after >= 0) {
            for (i = *after - 1; i >= index && data[i] != '{'; i--) {
            }
            *brace = i >= index ? i : -1;
        }
    }
}

/* next_wanted(buf, key, start, stop, done, codes, floor) -> (index, last, resume, wanted, begin, after, brace)
   index: the first hit at or after start and before stop that Python must look at (a wanted code, or a
   value read by its regex), or -1: none before stop; ``resume`` is then the first hit at or after stop
   (-1 if none). last: the last hit passed over, -1 if none. wanted: 1 when the hit at index is a wanted
   code as read here (Python need not read it again), 0 when Python must read it. Hits before ``done``
   (inside an object handed over) are passed over, as _find_hits does. ``codes``: a set of codes, or None
   for any Level II code. For a wanted hit, begin, after and brace are locate's (see locate_at), found
   in the same call (begin -1 otherwise; after then -1 too); a search may start again at ``after``. */
static PyObject *next_wanted(PyObject *self, PyObject *args) {
    Py_buffer buf, key;
    Py_ssize_t start, stop, done, floor, index = -1, last = -1, resume = -1, begin = -1, after = -1, brace = -1;
    int wanted = 0;
    PyObject *codes;
    const unsigned char *data, *k;
    Py_ssize_t len, klen, at;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*nnnOn", &buf, &key, &start, &stop, &done, &codes, &floor)) return NULL;
    if (codes == Py_None) {
        codes = NULL;
    } else if (!PyAnySet_Check(codes)) {
        PyErr_SetString(PyExc_TypeError, "codes: a set or None");
        goto fail;
    }
    data = (const unsigned char *)buf.buf;
    len = buf.len;
    k = (const unsigned char *)key.buf;
    klen = key.len;
    if (floor < 0 || floor > len) {
        PyErr_SetString(PyExc_IndexError, "floor out of the buffer");
        goto fail;
    }
    at = start < 0 ? 0 : start;
    while ((at = find(data, len, at, k, klen)) >= 0) {
        Py_ssize_t a = 0, b = 0;
        int got;
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
    if (wanted) locate_at(data, len, index, floor, k, klen, &begin, &after, &brace);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return Py_BuildValue("(nnninnn)", index, last, resume, wanted, begin, after, brace);
fail:
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return NULL;
}

/* locate(buf, index, floor, key) -> (start, after, brace): locate_at for a hit Python read itself. */
static PyObject *locate(PyObject *self, PyObject *args) {
    Py_buffer buf, key;
    Py_ssize_t index, floor, start, after, brace;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nny*", &buf, &index, &floor, &key)) return NULL;
    if (index < 0 || index > buf.len || floor < 0) {
        PyBuffer_Release(&buf);
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_IndexError, "index out of the buffer");
        return NULL;
    }
    locate_at((const unsigned char *)buf.buf, buf.len, index, floor, (const unsigned char *)key.buf, key.len,
              &start, &after, &brace);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return Py_BuildValue("(nnn)", start, after, brace);
}

/* count(buf, needle, start, stop) -> int: bytearray.count(needle, start, stop) (non-overlapping, the
   same clamping of start and stop), without the GIL: doc.py's items_seen over every byte of in_network,
   while the inflate thread may call back into Python. */
static PyObject *count(PyObject *self, PyObject *args) {
    Py_buffer buf, needle;
    Py_ssize_t start, stop, at, n = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*nn", &buf, &needle, &start, &stop)) return NULL;
    if (start < 0) start = start + buf.len < 0 ? 0 : start + buf.len;
    if (stop < 0) stop = stop + buf.len < 0 ? 0 : stop + buf.len;
    if (stop > buf.len) stop = buf.len;
    if (needle.len == 0) {
        n = start <= stop ? stop - start + 1 : 0;
    } else if (start < stop) {
        const unsigned char *data = (const unsigned char *)buf.buf, *k = (const unsigned char *)needle.buf;
        Py_BEGIN_ALLOW_THREADS
        at = start;
        while ((at = find(data + start, stop - start, at - start, k, needle.len)) >= 0) {
            n++;
            at += start + needle.len;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&needle);
    return PyLong_FromSsize_t(n);
}

/* the number of '{' less the number of '}' in data[0:n] */
static Py_ssize_t brace_depth(const unsigned char *data, Py_ssize_t n) {
    Py_ssize_t i = 0, depth = 0;
#if defined(__SSE2__)
    const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}'), zero = _mm_setzero_si128();
    while (n - i >= 16) {
        /* byte-wise tallies, folded every 255 blocks before a byte could wrap */
        __m128i opens = zero, closes = zero, sums;
        int blocks;
        for (blocks = 0; blocks < 255 && n - i >= 16; blocks++, i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
            opens = _mm_sub_epi8(opens, _mm_cmpeq_epi8(x, open));
            closes = _mm_sub_epi8(closes, _mm_cmpeq_epi8(x, close));
        }
        sums = _mm_sub_epi64(_mm_sad_epu8(opens, zero), _mm_sad_epu8(closes, zero));
        depth += (Py_ssize_t)_mm_cvtsi128_si32(sums) + (Py_ssize_t)_mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
    for (; i < n; i++) depth += (data[i] == '{') - (data[i] == '}');
    return depth;
}

static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* whole_end(buf, start, hint) -> int: split.py's whole_end in one call: the end of the object at
   buf[start] if the hint (the next object's start) is right, i.e. the hint less blanks and one comma,
   when the bytes up to there end in '}' (less blanks) with as many '{' as '}'; else -1. */
static PyObject *whole_end(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t start, hint, end, last, result = -1;
    const unsigned char *data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nn", &buf, &start, &hint)) return NULL;
    if (start < 0 || hint > buf.len) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_IndexError, "start or hint out of the buffer");
        return NULL;
    }
    data = (const unsigned char *)buf.buf;
    end = hint;
    while (end > start && is_blank(data[end - 1])) end--;
    if (end > start && data[end - 1] == ',') end--;
    last = end;
    while (last > start && is_blank(data[last - 1])) last--;
    if (last > start && data[last - 1] == '}' && brace_depth(data + start, last - start) == 0) result = end;
    PyBuffer_Release(&buf);
    return PyLong_FromSsize_t(result);
}

/* simd(level) -> int: the key search used from now on: 0 memmem, 1 SSE2, 2 AVX2, each as far as this
   build and CPU have it; returns the level in use. For tests, which run the same inputs through each. */
static PyObject *simd(PyObject *self, PyObject *args) {
    int level, used = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &level)) return NULL;
    find = find_plain;
#if defined(__SSE2__)
    if (level >= 1) {
        find = find_sse2;
        used = 1;
    }
#endif
#if defined(HAVE_AVX2_DISPATCH)
    if (level >= 2 && __builtin_cpu_supports("avx2")) {
        find = find_avx2;
        used = 2;
    }
#endif
    return PyLong_FromLong(used);
}

static PyMethodDef methods[] = {
    {"next_wanted", next_wanted, METH_VARARGS,
     "next_wanted(buf, key, start, stop, done, codes, floor) -> (index, last, resume, wanted, begin, after, brace)"},
    {"count", count, METH_VARARGS, "count(buf, needle, start, stop) -> int"},
    {"locate", locate, METH_VARARGS, "locate(buf, index, floor, key) -> (start, after, brace)"},
    {"whole_end", whole_end, METH_VARARGS, "whole_end(buf, start, hint) -> int"},
    {"simd", simd, METH_VARARGS, "simd(level) -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hits", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__hits(void) {
#if defined(HAVE_AVX2_DISPATCH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) find = find_avx2;
#endif
    return PyModule_Create(&module);
}
