/* A kept in_network item's bytes straight to the staged columns (see columns.py, ColumnCollector).

   Only the common, well-formed shape is handled here: pure ASCII, strings without escapes or control
   characters, non-negative rates without exponent, each field the typed decoder declares at most once,
   nesting up to MAX_DEPTH. Anything else returns None ("not mine") and the caller runs msgspec's typed
   decoder and the dict path on the item, which give the results, refusals and byte offsets.

   keep() does all of a kept item's work: the prices go to a Batch (Arrow buffers: no Python object per
   price), the item's rule (type, wanted code) is applied, each rate's provider set is found by its text
   and the collector's batch lists and counts are appended to. Python is called back only for a provider
   set or a code list first met. Values are appended as they are read; when the item is not kept, not
   mine, or an exception is raised (in C or in a call back), everything is taken back before returning. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64
#define N_SCALARS 6
#define CACHE 8
#define CACHE_LEN 48

typedef struct {
    const unsigned char *s;
    const unsigned char *end;
} Cursor;

typedef struct {
    const unsigned char *a;
    Py_ssize_t n;
} Span;

static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void blanks(Cursor *c) {
    while (c->s < c->end && is_blank(*c->s)) c->s++;
}

/* Bytes that end the plain part of a string: the quote, a backslash, control and non-ASCII bytes. */
static unsigned char STOP[256];

static void init_stop(void) {
    int ch;
    for (ch = 0; ch < 256; ch++) STOP[ch] = ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x80;
}

/* A string token without escapes, control characters or non-ASCII bytes; its content in *out. */
static int string_span(Cursor *c, Span *out) {
    const unsigned char *p;
    if (c->s >= c->end || *c->s != '"') return 0;
    p = c->s + 1;
    /* eight plain bytes at a time (no quote, backslash, control or non-ASCII byte among them); the
       bytes of the first block that may hold one are then read one by one */
    while (c->end - p >= 8) {
        uint64_t x, quote, slash;
        memcpy(&x, p, 8);
        quote = x ^ 0x2222222222222222ULL;
        slash = x ^ 0x5c5c5c5c5c5c5c5cULL;
        if ((x | ((x - 0x2020202020202020ULL) & ~x) | ((quote - 0x0101010101010101ULL) & ~quote) |
             ((slash - 0x0101010101010101ULL) & ~slash)) & 0x8080808080808080ULL)
            break;
        p += 8;
    }
    while (p < c->end && !STOP[*p]) p++;
    if (p >= c->end || *p != '"') return 0;
    out->a = c->s + 1;
    out->n = p - (c->s + 1);
    c->s = p + 1;
    return 1;
}

static int digits(Cursor *c) {
    const unsigned char *start = c->s;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9') c->s++;
    return c->s > start;
}

/* A JSON number token (the grammar, nothing more); *plain: no sign, no exponent, at most 17 digits. */
static int number_span(Cursor *c, Span *out, int *plain) {
    const unsigned char *start = c->s;
    Py_ssize_t ndigits;
    int simple = 1;
    if (c->s < c->end && *c->s == '-') {
        c->s++;
        simple = 0;
    }
    if (c->s >= c->end) return 0;
    if (*c->s == '0') {
        c->s++;
    } else if (!digits(c)) {
        return 0;
    }
    ndigits = c->s - start;
    if (c->s < c->end && *c->s == '.') {
        const unsigned char *frac;
        c->s++;
        frac = c->s;
        if (!digits(c)) return 0;
        ndigits += c->s - frac;
    }
    if (c->s < c->end && (*c->s == 'e' || *c->s == 'E')) {
        simple = 0;
        c->s++;
        if (c->s < c->end && (*c->s == '+' || *c->s == '-')) c->s++;
        if (!digits(c)) return 0;
    }
    out->a = start;
    out->n = c->s - start;
    *plain = simple && ndigits <= 17;
    return 1;
}

static int literal(Cursor *c, const char *word, Py_ssize_t n) {
    if (c->end - c->s < n || memcmp(c->s, word, (size_t)n) != 0) return 0;
    c->s += n;
    return 1;
}

/* Any JSON value, validated and skipped without recursion; its exact span in *out. */
static int skip_value(Cursor *c, Span *out) {
    unsigned char stack[MAX_DEPTH];
    int depth = 0;
    const unsigned char *start = c->s;
    Span ignored;
    int plain;
    for (;;) {
        /* at a value */
        blanks(c);
        if (c->s >= c->end) return 0;
        switch (*c->s) {
            case '{':
                if (depth == MAX_DEPTH) return 0;
                stack[depth++] = '}';
                c->s++;
                blanks(c);
                if (c->s < c->end && *c->s == '}') {
                    c->s++;
                    depth--;
                    break;
                }
                if (!string_span(c, &ignored)) return 0;
                blanks(c);
                if (c->s >= c->end || *c->s != ':') return 0;
                c->s++;
                continue;
            case '[':
                if (depth == MAX_DEPTH) return 0;
                stack[depth++] = ']';
                c->s++;
                blanks(c);
                if (c->s < c->end && *c->s == ']') {
                    c->s++;
                    depth--;
                    break;
                }
                continue;
            case '"':
                if (!string_span(c, &ignored)) return 0;
                break;
            case 't':
                if (!literal(c, "true", 4)) return 0;
                break;
            case 'f':
                if (!literal(c, "false", 5)) return 0;
                break;
            case 'n':
                if (!literal(c, "null", 4)) return 0;
                break;
            default:
                if (!number_span(c, &ignored, &plain)) return 0;
        }
        /* after a value: close containers or go to the next element */
        for (;;) {
            if (depth == 0) {
                out->a = start;
                out->n = c->s - start;
                return 1;
            }
            blanks(c);
            if (c->s >= c->end) return 0;
            if (*c->s == stack[depth - 1]) {
                c->s++;
                depth--;
                continue;
            }
            if (*c->s != ',') return 0;
            c->s++;
            if (stack[depth - 1] == '}') {
                blanks(c);
                if (!string_span(c, &ignored)) return 0;
                blanks(c);
                if (c->s >= c->end || *c->s != ':') return 0;
                c->s++;
            }
            break;
        }
    }
}

static int span_is(const Span *s, const char *word) {
    size_t n = strlen(word);
    return (size_t)s->n == n && memcmp(s->a, word, n) == 0;
}

/* The index of a key among n words of the given lengths (n if none): lengths and first bytes first. */
static int key_index(const Span *key, const char *const *words, const Py_ssize_t *lengths, int n) {
    int k;
    for (k = 0; k < n; k++) {
        if (key->n == lengths[k] && key->a[0] == (unsigned char)words[k][0] &&
            memcmp(key->a, words[k], (size_t)key->n) == 0)
            return k;
    }
    return n;
}

/* Walks the members of an object: 1 with the next key in *key (the cursor at its value), 0 at the
   end (the cursor after '}'), -1 on bad syntax. *first is 1 before the first member. */
static int next_key(Cursor *c, int *first, Span *key) {
    blanks(c);
    if (c->s >= c->end) return -1;
    if (*c->s == '}') {
        c->s++;
        return 0;
    }
    if (!*first) {
        if (*c->s != ',') return -1;
        c->s++;
        blanks(c);
    }
    *first = 0;
    if (!string_span(c, key)) return -1;
    blanks(c);
    if (c->s >= c->end || *c->s != ':') return -1;
    c->s++;
    blanks(c);
    return 1;
}

/* The value of a field typed ``str | None``: 1 with the span (a->n == -1 for null), 0 otherwise. */
static int optional_string(Cursor *c, Span *out) {
    if (c->s < c->end && *c->s == 'n') {
        if (!literal(c, "null", 4)) return 0;
        out->a = NULL;
        out->n = -1;
        return 1;
    }
    return string_span(c, out);
}

/* ---- Batch: the staged columns of a batch of prices as Arrow buffers (no Python object per value) ---- */

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int reserve(Buf *b, Py_ssize_t extra) {
    Py_ssize_t cap;
    char *grown;
    if (extra > PY_SSIZE_T_MAX / 4 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    if (b->len + extra <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    grown = PyMem_Realloc(b->p, (size_t)cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = grown;
    b->cap = cap;
    return 0;
}

/* Room for item ``count`` of an array of ``size``-byte items holding ``*capacity`` (doubled when full,
   ``first`` at first): 0, or -1 with MemoryError (``*items`` then unchanged). */
static int room_for_one(void **items, Py_ssize_t count, Py_ssize_t *capacity, Py_ssize_t first, size_t size) {
    Py_ssize_t cap;
    void *grown;
    if (count < *capacity) return 0;
    cap = *capacity ? 2 * *capacity : first;
    if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)size) {
        PyErr_NoMemory();
        return -1;
    }
    grown = PyMem_Realloc(*items, (size_t)cap * size);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = grown;
    *capacity = cap;
    return 0;
}

static int put(Buf *b, const void *bytes, Py_ssize_t n) {
    if (reserve(b, n) < 0) return -1;
    if (n > 0) memcpy(b->p + b->len, bytes, (size_t)n);
    b->len += n;
    return 0;
}

#define RATE 1 /* the float64 column; the others are strings */

/* One column per scalar price field (PRICE_FIELDS in columns.py): a validity bitmap, int32 offsets
   (n + 1 of them) and the string bytes, or for the rate the float64 values; and per code list field
   the int32 ids, two per price. Appends write at index n and only then count the price, so taking a
   price back is setting n back (bits past n are written again before they count). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    Buf bits[N_SCALARS];
    Buf offsets[N_SCALARS];
    Buf data[N_SCALARS];
    Buf lists[2];
} Batch;

/* An emptied buffer grown past this is given back (one batch of long strings must not hold memory). */
#define KEEP_CAPACITY (1 << 22)

static void drop_large(Buf *b) {
    if (b->cap > KEEP_CAPACITY) {
        PyMem_Free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

static int batch_reset(Batch *b) {
    int i;
    const int32_t zero = 0;
    b->n = 0;
    for (i = 0; i < N_SCALARS; i++) {
        drop_large(&b->bits[i]);
        drop_large(&b->offsets[i]);
        drop_large(&b->data[i]);
        b->bits[i].len = b->data[i].len = b->offsets[i].len = 0;
        if (i != RATE && put(&b->offsets[i], &zero, 4) < 0) return -1;
    }
    b->lists[0].len = b->lists[1].len = 0;
    drop_large(&b->lists[0]);
    drop_large(&b->lists[1]);
    return 0;
}

/* Back to n prices (a price or an item not kept). */
static void batch_cut(Batch *b, Py_ssize_t n) {
    int i;
    int32_t end;
    if (n > b->n) return;
    b->n = n; /* n == b->n too: a price cut short by an error leaves values past n in some columns */
    for (i = 0; i < N_SCALARS; i++) {
        b->bits[i].len = (n + 7) / 8;
        if (i == RATE) {
            b->data[i].len = n * 8;
        } else {
            b->offsets[i].len = (n + 1) * 4;
            memcpy(&end, b->offsets[i].p + n * 4, 4);
            b->data[i].len = end;
        }
    }
    b->lists[0].len = b->lists[1].len = n * 4;
}

static int put_bit(Batch *b, int column, int valid) {
    Buf *bits = &b->bits[column];
    Py_ssize_t byte = b->n / 8;
    unsigned char mask = (unsigned char)(1u << (b->n % 8));
    if (bits->len <= byte) {
        if (reserve(bits, byte + 1 - bits->len) < 0) return -1;
        memset(bits->p + bits->len, 0, (size_t)(byte + 1 - bits->len));
        bits->len = byte + 1;
    }
    if (valid) bits->p[byte] = (char)((unsigned char)bits->p[byte] | mask);
    else bits->p[byte] = (char)((unsigned char)bits->p[byte] & (unsigned char)~mask);
    return 0;
}

/* A string value (n < 0: null) at index b->n of a string column. */
static int put_string(Batch *b, int column, const char *text, Py_ssize_t n) {
    Buf *data = &b->data[column];
    int32_t end;
    if (put_bit(b, column, n >= 0) < 0) return -1;
    if (n > 0) {
        if (n > INT32_MAX - data->len) {
            PyErr_SetString(PyExc_OverflowError, "more than 2 GB of one string field in a batch of prices");
            return -1;
        }
        if (put(data, text, n) < 0) return -1;
    }
    end = (int32_t)data->len;
    return put(&b->offsets[column], &end, 4);
}

static int put_rate(Batch *b, int valid, double rate) {
    if (put_bit(b, RATE, valid) < 0) return -1;
    if (!valid) rate = 0.0;
    return put(&b->data[RATE], &rate, 8);
}

static int put_list(Batch *b, int field, long id) {
    int32_t value;
    if (id < INT32_MIN || id > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a code list id out of int32");
        return -1;
    }
    value = (int32_t)id;
    return put(&b->lists[field], &value, 4);
}

static PyObject *Batch_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Batch *b;
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Batch() takes no arguments");
        return NULL;
    }
    b = (Batch *)type->tp_alloc(type, 0);
    if (b == NULL) return NULL;
    if (batch_reset(b) < 0) {
        Py_DECREF(b);
        return NULL;
    }
    return (PyObject *)b;
}

static void Batch_dealloc(Batch *b) {
    int i;
    for (i = 0; i < N_SCALARS; i++) {
        PyMem_Free(b->bits[i].p);
        PyMem_Free(b->offsets[i].p);
        PyMem_Free(b->data[i].p);
    }
    PyMem_Free(b->lists[0].p);
    PyMem_Free(b->lists[1].p);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static Py_ssize_t Batch_len(Batch *b) { return b->n; }

static PyObject *buf_bytes(const Buf *b) { return PyBytes_FromStringAndSize(b->len ? b->p : "", b->len); }

/* take() -> (n, [(bits, offsets | None, data) per scalar field], [ids per list field]); then empty. */
static PyObject *Batch_take(Batch *b, PyObject *unused) {
    PyObject *columns, *lists, *result;
    int i;
    (void)unused;
    columns = PyList_New(N_SCALARS);
    lists = PyList_New(2);
    if (columns == NULL || lists == NULL) goto fail;
    for (i = 0; i < N_SCALARS; i++) {
        PyObject *column = i == RATE ? Py_BuildValue("(NON)", buf_bytes(&b->bits[i]), Py_None, buf_bytes(&b->data[i]))
                                     : Py_BuildValue("(NNN)", buf_bytes(&b->bits[i]), buf_bytes(&b->offsets[i]),
                                                     buf_bytes(&b->data[i]));
        if (column == NULL) goto fail;
        PyList_SET_ITEM(columns, i, column);
    }
    for (i = 0; i < 2; i++) {
        PyObject *ids = buf_bytes(&b->lists[i]);
        if (ids == NULL) goto fail;
        PyList_SET_ITEM(lists, i, ids);
    }
    result = Py_BuildValue("(nNN)", b->n, columns, lists);
    if (result != NULL && batch_reset(b) < 0) Py_CLEAR(result);
    return result;
fail:
    Py_XDECREF(columns);
    Py_XDECREF(lists);
    return NULL;
}

/* nbytes() -> the bytes of the batch's strings (the caller writes a large batch out early). */
static PyObject *Batch_nbytes(Batch *b, PyObject *unused) {
    Py_ssize_t total = 0;
    int i;
    (void)unused;
    for (i = 0; i < N_SCALARS; i++) {
        if (i != RATE) total += b->data[i].len;
    }
    return PyLong_FromSsize_t(total);
}

/* extend(rows, ids): prices the typed decoder or the dict path made (a tuple of the fields in the
   order of PRICE_FIELDS per price, str/None and float/None) and their code list ids (two per price). */
static PyObject *Batch_extend(Batch *b, PyObject *args) {
    PyObject *rows, *ids;
    Py_ssize_t start = b->n, r;
    int i;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &rows, &PyList_Type, &ids)) return NULL;
    if (PyList_GET_SIZE(ids) != 2 * PyList_GET_SIZE(rows)) {
        PyErr_SetString(PyExc_ValueError, "two code list ids per price");
        return NULL;
    }
    for (r = 0; r < PyList_GET_SIZE(rows); r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < N_SCALARS) {
            PyErr_SetString(PyExc_TypeError, "a price: a tuple of its fields");
            goto fail;
        }
        for (i = 0; i < N_SCALARS; i++) {
            PyObject *value = PyTuple_GET_ITEM(row, i);
            int rc;
            if (i == RATE) {
                double rate = value == Py_None ? 0.0 : PyFloat_AsDouble(value);
                if (rate == -1.0 && PyErr_Occurred()) goto fail;
                rc = put_rate(b, value != Py_None, rate);
            } else if (value == Py_None) {
                rc = put_string(b, i, NULL, -1);
            } else if (PyUnicode_Check(value)) {
                Py_ssize_t n;
                const char *text = PyUnicode_AsUTF8AndSize(value, &n);
                rc = text == NULL ? -1 : put_string(b, i, text, n);
            } else {
                PyErr_SetString(PyExc_TypeError, "a price field: str or None");
                rc = -1;
            }
            if (rc < 0) goto fail;
        }
        for (i = 0; i < 2; i++) {
            long id = PyLong_AsLong(PyList_GET_ITEM(ids, 2 * r + i));
            if ((id == -1 && PyErr_Occurred()) || put_list(b, i, id) < 0) goto fail;
        }
        b->n++;
    }
    Py_RETURN_NONE;
fail:
    batch_cut(b, start);
    return NULL;
}

static PySequenceMethods Batch_sequence = {.sq_length = (lenfunc)Batch_len};

static PyMethodDef Batch_methods[] = {
    {"take", (PyCFunction)Batch_take, METH_NOARGS, "take() -> (n, columns, lists); the batch is then empty"},
    {"extend", (PyCFunction)Batch_extend, METH_VARARGS, "extend(rows, ids): prices made in Python"},
    {"nbytes", (PyCFunction)Batch_nbytes, METH_NOARGS, "nbytes() -> the bytes of the batch's strings"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hcpcs_atlas.sources.tic._flatten.Batch",
    .tp_basicsize = sizeof(Batch),
    .tp_dealloc = (destructor)Batch_dealloc,
    .tp_as_sequence = &Batch_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A batch of staged prices as Arrow buffers.",
    .tp_methods = Batch_methods,
    .tp_new = Batch_new,
};

typedef struct {
    Span text[CACHE];
    PyObject *id[CACHE]; /* an int, or the text's bytes when it was a miss */
    int next;
} ListCache;

/* A code list (an array) equal to one read before in this item: its span, without reading it again
   (an array's extent is fixed by its bytes, so equal bytes are the same complete value). */
static int cached_list(Cursor *c, const ListCache *cache, Span *out) {
    int i;
    for (i = 0; i < CACHE; i++) {
        const Span *t = &cache->text[i];
        if (cache->id[i] != NULL && t->n > 0 && t->a[0] == '[' && c->end - c->s >= t->n &&
            memcmp(t->a, c->s, (size_t)t->n) == 0) {
            out->a = c->s;
            out->n = t->n;
            c->s += t->n;
            return 1;
        }
    }
    return 0;
}

/* A code list not in ``known`` yet: where its id goes once Python has interned its text. */
typedef struct {
    int field;
    Py_ssize_t index;
    PyObject *text;
} Miss;

static const char *const PRICE_KEYS[N_SCALARS + 2] = {
    "negotiated_type", "negotiated_rate", "expiration_date", "billing_class",
    "setting", "additional_information", "service_code", "billing_code_modifier",
};
static Py_ssize_t PRICE_KEY_LENGTHS[N_SCALARS + 2]; /* set at import */
static const Span NULL_SPAN = {(const unsigned char *)"null", 4};

/* A rate with prices: its groups and references as JSON text (spans of the item) and its price count. */
typedef struct {
    Span groups;
    Span references;
    Py_ssize_t count;
} RateSpan;

typedef struct {
    Batch *batch;
    PyObject *known;
    ListCache lists[2];
    Miss *misses;
    Py_ssize_t nmisses, miss_capacity;
    int has_rates; /* negotiated_rates is an array (null or absent: the item holds no rates) */
    RateSpan *rates;
    Py_ssize_t nrates, capacity;
} Out;

/* The id of a code list's JSON text, from ``known`` (text -> id), into the batch; a text not in it is
   a miss, for Python to intern once the item's provider sets are known (as decoded does it). */
static int append_list_id(Out *out, int field, const Span *s) {
    ListCache *cache = &out->lists[field];
    PyObject *key, *found;
    long id = 0;
    int i;
    for (i = 0; i < CACHE; i++) {
        if (cache->id[i] != NULL && cache->text[i].n == s->n && memcmp(cache->text[i].a, s->a, (size_t)s->n) == 0) {
            found = cache->id[i];
            goto got;
        }
    }
    key = PyBytes_FromStringAndSize((const char *)s->a, s->n);
    if (key == NULL) return -1;
    found = PyDict_GetItemWithError(out->known, key);
    if (found == NULL && PyErr_Occurred()) {
        Py_DECREF(key);
        return -1;
    }
    Py_XSETREF(cache->id[cache->next], Py_NewRef(found != NULL ? found : key));
    Py_DECREF(key);
    cache->text[cache->next] = *s;
    found = cache->id[cache->next];
    cache->next = (cache->next + 1) % CACHE;
got:
    if (PyBytes_Check(found)) {
        void *misses = out->misses;
        if (room_for_one(&misses, out->nmisses, &out->miss_capacity, 8, sizeof(Miss)) < 0) return -1;
        out->misses = misses;
        out->misses[out->nmisses].field = field;
        out->misses[out->nmisses].index = out->batch->n;
        out->misses[out->nmisses].text = Py_NewRef(found);
        out->nmisses++;
    } else {
        id = PyLong_AsLong(found);
        if (id == -1 && PyErr_Occurred()) return -1;
    }
    return put_list(out->batch, field, id);
}

/* A plain rate of at most 15 digits (no sign, no exponent) as the correctly rounded double, without
   strtod: its digits as an integer below 2^53 and a power of ten up to 10^22 are both exact doubles, so
   one IEEE division rounds once, to the double nearest the decimal (Clinger's fast path). 0 otherwise. */
static int exact_rate(const Span *s, double *rate) {
    static const double TENS[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int64_t digits = 0;
    int count = 0, fraction = -1;
    Py_ssize_t i;
    for (i = 0; i < s->n; i++) {
        unsigned char ch = s->a[i];
        if (ch == '.') {
            if (fraction >= 0) return 0;
            fraction = 0;
            continue;
        }
        if (ch < '0' || ch > '9' || ++count > 15) return 0;
        digits = digits * 10 + (ch - '0');
        if (fraction >= 0) fraction++;
    }
    if (count == 0) return 0;
    *rate = fraction > 0 ? (double)digits / TENS[fraction] : (double)digits;
    return 1;
}

/* One negotiated price object, appended to the batch. 1 done, 0 not mine, -1 Python error. */
static int price(Cursor *c, Out *out) {
    Span values[N_SCALARS + 2], key;
    unsigned seen = 0;
    int first = 1, k, got, i, plain;
    double rate = 0.0;
    for (i = 0; i < N_SCALARS; i++) values[i].n = -1;
    values[N_SCALARS] = values[N_SCALARS + 1] = NULL_SPAN;
    if (c->s >= c->end || *c->s != '{') return 0;
    c->s++;
    while ((got = next_key(c, &first, &key)) == 1) {
        k = key_index(&key, PRICE_KEYS, PRICE_KEY_LENGTHS, N_SCALARS + 2);
        if (k == N_SCALARS + 2) {
            if (!skip_value(c, &key)) return 0;
            continue;
        }
        if (seen & (1u << k)) return 0; /* a repeated field: msgspec's rule, not guessed here */
        seen |= 1u << k;
        if (k == 1) {
            if (c->s < c->end && *c->s == 'n') {
                if (!literal(c, "null", 4)) return 0;
                continue;
            }
            if (!number_span(c, &values[1], &plain) || !plain) return 0;
        } else if (k < N_SCALARS) {
            if (!optional_string(c, &values[k])) return 0;
        } else if (!cached_list(c, &out->lists[k - N_SCALARS], &values[k]) && !skip_value(c, &values[k])) {
            return 0;
        }
    }
    if (got < 0) return 0;
    if (values[1].n >= 0) {
        char text[32];
        char *stop = NULL;
        if (values[1].n >= (Py_ssize_t)sizeof(text)) return 0;
        if (exact_rate(&values[1], &rate)) goto converted;
        memcpy(text, values[1].a, (size_t)values[1].n);
        text[values[1].n] = '\0';
        rate = PyOS_string_to_double(text, &stop, NULL);
        if (rate == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (stop == NULL || *stop != '\0' || !isfinite(rate)) return 0;
    }
converted:
    for (i = 0; i < N_SCALARS; i++) {
        got = i == RATE ? put_rate(out->batch, values[1].n >= 0, rate)
                        : put_string(out->batch, i, (const char *)values[i].a, values[i].n);
        if (got < 0) return -1;
    }
    for (i = 0; i < 2; i++) {
        if (append_list_id(out, i, &values[N_SCALARS + i]) < 0) return -1;
    }
    out->batch->n++;
    return 1;
}

/* An array whose elements element() reads, from its '['. 1: read; 0: not mine; -1: a Python error. */
static int array_of(Cursor *c, Out *out, int (*element)(Cursor *, Out *, void *), void *arg) {
    int got;
    if (c->s >= c->end || *c->s != '[') return 0;
    c->s++;
    blanks(c);
    if (c->s < c->end && *c->s == ']') {
        c->s++;
        return 1;
    }
    for (;;) {
        blanks(c);
        got = element(c, out, arg);
        if (got <= 0) return got;
        blanks(c);
        if (c->s >= c->end) return 0;
        if (*c->s == ']') {
            c->s++;
            return 1;
        }
        if (*c->s != ',') return 0;
        c->s++;
    }
}

static int counted_price(Cursor *c, Out *out, void *count) {
    int got = price(c, out);
    if (got > 0) ++*(Py_ssize_t *)count;
    return got;
}

/* negotiated_prices: null, or an array of price objects. *count: prices appended. */
static int prices(Cursor *c, Out *out, Py_ssize_t *count) {
    if (c->s < c->end && *c->s == 'n') return literal(c, "null", 4);
    return array_of(c, out, counted_price, count);
}

static PyObject *span_bytes(const Span *s) { return PyBytes_FromStringAndSize((const char *)s->a, s->n); }

/* One negotiated rate; a rate with prices is added to out->rates. */
static int rate(Cursor *c, Out *out) {
    Span groups = NULL_SPAN, references = NULL_SPAN, key;
    unsigned seen = 0;
    int first = 1, got, k;
    Py_ssize_t count = 0;
    if (c->s >= c->end || *c->s != '{') return 0;
    c->s++;
    while ((got = next_key(c, &first, &key)) == 1) {
        k = span_is(&key, "negotiated_prices") ? 0 : span_is(&key, "provider_references") ? 1
            : span_is(&key, "provider_groups") ? 2 : -1;
        if (k < 0) {
            if (!skip_value(c, &key)) return 0;
            continue;
        }
        if (seen & (1u << k)) return 0;
        seen |= 1u << k;
        if (k == 0) {
            got = prices(c, out, &count);
            if (got <= 0) return got;
        } else if (!skip_value(c, k == 1 ? &references : &groups)) {
            return 0;
        }
    }
    if (got < 0) return 0;
    if (count == 0) return 1;
    void *rates = out->rates;
    if (room_for_one(&rates, out->nrates, &out->capacity, 16, sizeof(RateSpan)) < 0) return -1;
    out->rates = rates;
    out->rates[out->nrates].groups = groups;
    out->rates[out->nrates].references = references;
    out->rates[out->nrates].count = count;
    out->nrates++;
    return 1;
}

static int rate_into(Cursor *c, Out *out, void *unused) {
    (void)unused;
    return rate(c, out);
}

/* negotiated_rates: null (out->has_rates stays 0) or an array of rate objects. */
static int rates_of(Cursor *c, Out *out) {
    if (c->s < c->end && *c->s == 'n') return literal(c, "null", 4);
    if (c->s >= c->end || *c->s != '[') return 0;
    out->has_rates = 1;
    return array_of(c, out, rate_into, NULL);
}

static const char *const ITEM_KEYS[3] = {"billing_code", "billing_code_type", "negotiation_arrangement"};

static int item(Cursor *c, Out *out, Span head[3]) {
    Span key;
    unsigned seen = 0;
    int first = 1, got, k;
    blanks(c);
    if (c->s >= c->end || *c->s != '{') return 0;
    c->s++;
    while ((got = next_key(c, &first, &key)) == 1) {
        for (k = 0; k < 3 && !span_is(&key, ITEM_KEYS[k]); k++) {
        }
        if (k == 3 && !span_is(&key, "negotiated_rates")) {
            if (!skip_value(c, &key)) return 0;
            continue;
        }
        if (seen & (1u << k)) return 0;
        seen |= 1u << k;
        if (k < 3) {
            if (!optional_string(c, &head[k])) return 0;
        } else {
            got = rates_of(c, out);
            if (got <= 0) return got;
        }
    }
    if (got < 0) return 0;
    blanks(c);
    return c->s == c->end; /* exactly one object */
}

static void close_out(Out *out) {
    Py_ssize_t i;
    int j;
    for (i = 0; i < 2; i++) {
        for (j = 0; j < CACHE; j++) Py_CLEAR(out->lists[i].id[j]);
    }
    for (i = 0; i < out->nmisses; i++) Py_CLEAR(out->misses[i].text);
    PyMem_Free(out->misses);
    PyMem_Free(out->rates);
    out->misses = NULL;
    out->rates = NULL;
}

/* Reads one item into ``out`` (the head in head[]): 1 read, 0 not mine, -1 a Python error. */
static int read_item(Py_buffer *data, Out *out, Span head[3]) {
    Cursor c;
    int i;
    for (i = 0; i < 3; i++) head[i].n = -1;
    c.s = (const unsigned char *)data->buf;
    c.end = c.s + data->len;
    return item(&c, out, head);
}

/* The str of an ASCII span (None for null). */
static PyObject *span_str(const Span *s) {
    PyObject *made;
    if (s->n < 0) Py_RETURN_NONE;
    made = PyUnicode_New(s->n, 127);
    if (made == NULL) return NULL;
    memcpy(PyUnicode_1BYTE_DATA(made), s->a, (size_t)s->n);
    return made;
}

/* ---- keep: the whole C path of a kept item (ColumnCollector._flattened) ---- */

enum {
    S_BATCH, S_KNOWN, S_PSET_TEXTS, S_RATE_ITEMS, S_RATE_PSETS, S_RATE_COUNTS, S_PSET_PRICES,
    S_ITEM_ROWS, S_BASE, S_TYPES, S_RULE, S_SIZE
};

static PyObject *str_kept, *str_pset_of, *str_intern_list, *str_empty, *one;

/* normalize_code (rows.py) of an ASCII span without control characters: str.strip() then removes
   spaces only, and str.upper() changes a-z only; null is "". */
static PyObject *normalized(const Span *s) {
    Py_ssize_t a = 0, b, i;
    PyObject *made;
    unsigned char *to;
    if (s->n < 0) return Py_NewRef(str_empty);
    b = s->n;
    while (a < b && s->a[a] == ' ') a++;
    while (b > a && s->a[b - 1] == ' ') b--;
    made = PyUnicode_New(b - a, 127);
    if (made == NULL) return NULL;
    to = PyUnicode_1BYTE_DATA(made);
    for (i = a; i < b; i++) {
        unsigned char ch = s->a[i];
        to[i - a] = (ch >= 'a' && ch <= 'z') ? (unsigned char)(ch - 'a' + 'A') : ch;
    }
    return made;
}

/* sources.is_level2 (^[A-V][0-9]{4}$) of a normalized ASCII code (no newline in it to match $ before). */
static int level2(PyObject *code) {
    const unsigned char *t = PyUnicode_1BYTE_DATA(code);
    int i;
    if (PyUnicode_GET_LENGTH(code) != 5 || t[0] < 'A' || t[0] > 'V') return 0;
    for (i = 1; i < 5; i++) {
        if (t[i] < '0' || t[i] > '9') return 0;
    }
    return 1;
}

/* keep_code(code) by the collector's rule: a set's membership, None for is_level2, else the callable. */
static int wanted(PyObject *rule, PyObject *code) {
    PyObject *verdict;
    int yes;
    if (rule == Py_None) return level2(code);
    if (PyAnySet_Check(rule)) return PySet_Contains(rule, code);
    verdict = PyObject_CallOneArg(rule, code);
    if (verdict == NULL) return -1;
    yes = PyObject_IsTrue(verdict);
    Py_DECREF(verdict);
    return yes;
}

static void cut_list(PyObject *list, Py_ssize_t size) {
    if (PyList_GET_SIZE(list) > size) (void)PyList_SetSlice(list, size, PyList_GET_SIZE(list), NULL);
}

/* The lists' lengths before the item, to take back what was appended for an item not kept. */
typedef struct {
    Batch *batch;
    Py_ssize_t prices;
    PyObject *lists[4];
    Py_ssize_t sizes[4];
    int n;
} Marks;

static void mark(Marks *m, PyObject *list) {
    m->lists[m->n] = list;
    m->sizes[m->n] = PyList_GET_SIZE(list);
    m->n++;
}

static void take_back(const Marks *m) {
    PyObject *type, *value, *traceback;
    int i;
    PyErr_Fetch(&type, &value, &traceback);
    batch_cut(m->batch, m->prices);
    for (i = 0; i < m->n; i++) cut_list(m->lists[i], m->sizes[i]);
    PyErr_Restore(type, value, traceback);
}

/* The provider set of each rate (new references in psets[]): from pset_texts, a miss through
   collector._pset_of((groups, references)) as Python does it. 0, or -1 with a Python error. */
static int rate_psets(const Out *out, PyObject *pset_texts, PyObject *collector, PyObject **psets) {
    Py_ssize_t r, q;
    for (r = 0; r < out->nrates; r++) {
        const RateSpan *now = &out->rates[r];
        PyObject *key, *found;
        psets[r] = NULL;
        for (q = r - 1; q >= 0 && q >= r - CACHE; q--) { /* rates of an item often share their set */
            const RateSpan *was = &out->rates[q];
            if (was->groups.n == now->groups.n && was->references.n == now->references.n &&
                memcmp(was->groups.a, now->groups.a, (size_t)now->groups.n) == 0 &&
                memcmp(was->references.a, now->references.a, (size_t)now->references.n) == 0) {
                psets[r] = Py_NewRef(psets[q]);
                break;
            }
        }
        if (psets[r] != NULL) continue;
        key = Py_BuildValue("(NN)", span_bytes(&now->groups), span_bytes(&now->references));
        if (key == NULL) return -1;
        found = PyDict_GetItemWithError(pset_texts, key);
        if (found != NULL) {
            psets[r] = Py_NewRef(found);
        } else if (!PyErr_Occurred()) {
            psets[r] = PyObject_CallMethodOneArg(collector, str_pset_of, key);
        }
        Py_DECREF(key);
        if (psets[r] == NULL) return -1;
        if (!PyLong_Check(psets[r])) {
            PyErr_SetString(PyExc_TypeError, "a provider set is an int");
            return -1;
        }
    }
    return 0;
}

/* pset_prices[at[r]] back to olds[r] for the first n rates, in reverse (a set counted twice gets its
   first value back); the pending Python error, if any, stays. */
static void put_back_counts(PyObject *pset_prices, const Py_ssize_t *at, PyObject **olds, Py_ssize_t n) {
    PyObject *type, *value, *traceback;
    Py_ssize_t r;
    PyErr_Fetch(&type, &value, &traceback);
    for (r = n - 1; r >= 0; r--) {
        PyList_SetItem(pset_prices, at[r], olds[r]); /* steals olds[r] */
        olds[r] = NULL;
    }
    PyErr_Restore(type, value, traceback);
}

/* Adds each rate's price count to pset_prices[pset - base]; on failure puts back what it changed. */
static int add_pset_prices(const Out *out, PyObject *pset_prices, PyObject *base, PyObject **psets, PyObject **olds,
                           Py_ssize_t *at) {
    Py_ssize_t r;
    for (r = 0; r < out->nrates; r++) {
        PyObject *offset = PyNumber_Subtract(psets[r], base), *count, *sum = NULL;
        Py_ssize_t index = offset != NULL ? PyLong_AsSsize_t(offset) : -1;
        Py_XDECREF(offset);
        if (index < 0 || index >= PyList_GET_SIZE(pset_prices)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_IndexError, "a provider set without its price count");
        } else {
            olds[r] = Py_NewRef(PyList_GET_ITEM(pset_prices, index));
            at[r] = index;
            count = PyLong_FromSsize_t(out->rates[r].count);
            if (count != NULL) {
                sum = PyNumber_Add(olds[r], count);
                Py_DECREF(count);
            }
            if (sum != NULL) {
                PyList_SetItem(pset_prices, index, sum); /* the list's old reference is dropped: olds[r] holds one */
                continue;
            }
            Py_CLEAR(olds[r]);
        }
        put_back_counts(pset_prices, at, olds, r);
        return -1;
    }
    return 0;
}

static PyObject *keep(PyObject *self, PyObject *args) {
    Py_buffer data;
    PyObject *state, *collector, *result = NULL, *code = NULL, *kind = NULL, *row = NULL, *index = NULL;
    PyObject *kept = NULL, *more = NULL, **psets = NULL, **olds = NULL;
    PyObject *items, *rate_ids, *counts, *pset_prices, *item_rows;
    Py_ssize_t *at = NULL, r;
    Span head[3];
    Out out;
    Marks marks;
    int got, changed = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!O", &data, &PyTuple_Type, &state, &collector)) return NULL;
    memset(&out, 0, sizeof(out));
    if (PyTuple_GET_SIZE(state) != S_SIZE) {
        PyErr_SetString(PyExc_ValueError, "state: a tuple of the collector's batch lists");
        goto done;
    }
    items = PyTuple_GET_ITEM(state, S_RATE_ITEMS);
    rate_ids = PyTuple_GET_ITEM(state, S_RATE_PSETS);
    counts = PyTuple_GET_ITEM(state, S_RATE_COUNTS);
    pset_prices = PyTuple_GET_ITEM(state, S_PSET_PRICES);
    item_rows = PyTuple_GET_ITEM(state, S_ITEM_ROWS);
    if (!PyObject_TypeCheck(PyTuple_GET_ITEM(state, S_BATCH), &BatchType) || !PyDict_Check(PyTuple_GET_ITEM(state, S_KNOWN)) ||
        !PyDict_Check(PyTuple_GET_ITEM(state, S_PSET_TEXTS)) || !PyList_Check(items) || !PyList_Check(rate_ids) ||
        !PyList_Check(counts) || !PyList_Check(pset_prices) || !PyList_Check(item_rows) ||
        !PyLong_Check(PyTuple_GET_ITEM(state, S_BASE)) || !PyAnySet_Check(PyTuple_GET_ITEM(state, S_TYPES))) {
        PyErr_SetString(PyExc_TypeError, "state: the collector's batch lists");
        goto done;
    }
    out.batch = (Batch *)PyTuple_GET_ITEM(state, S_BATCH);
    out.known = PyTuple_GET_ITEM(state, S_KNOWN);
    marks.n = 0;
    marks.batch = out.batch;
    marks.prices = out.batch->n;
    mark(&marks, items);
    mark(&marks, rate_ids);
    mark(&marks, counts);
    mark(&marks, item_rows);

    got = read_item(&data, &out, head);
    if (got <= 0) {
        if (got == 0) result = Py_NewRef(Py_None); /* msgspec reads it */
        goto back;
    }
    /* the rule of decoded(): rates, a matched type, a wanted code (keep_code called last, as there) */
    if (!out.has_rates) goto not_kept;
    kind = normalized(&head[1]);
    if (kind == NULL) goto back;
    got = PySet_Contains(PyTuple_GET_ITEM(state, S_TYPES), kind);
    Py_CLEAR(kind);
    if (got <= 0) goto not_kept_or_error;
    code = normalized(&head[0]);
    if (code == NULL) goto back;
    got = wanted(PyTuple_GET_ITEM(state, S_RULE), code);
    if (got <= 0) goto not_kept_or_error;

    /* in the order of decoded: provider sets, then the new code lists (1e400 raises there) */
    if (out.nrates > 0) {
        psets = PyMem_Calloc((size_t)out.nrates, sizeof(PyObject *));
        olds = PyMem_Calloc((size_t)out.nrates, sizeof(PyObject *));
        at = PyMem_Calloc((size_t)out.nrates, sizeof(Py_ssize_t));
        if (psets == NULL || olds == NULL || at == NULL) {
            PyErr_NoMemory();
            goto back;
        }
    }
    if (rate_psets(&out, PyTuple_GET_ITEM(state, S_PSET_TEXTS), collector, psets) < 0) goto back;
    for (r = 0; r < out.nmisses; r++) { /* in the order they were read, as _list_ids interns them */
        const Miss *miss = &out.misses[r];
        PyObject *found = PyObject_CallMethodOneArg(collector, str_intern_list, miss->text);
        long id = found == NULL ? -1 : PyLong_AsLong(found);
        int32_t value = (int32_t)id;
        Py_XDECREF(found);
        if (id == -1 && PyErr_Occurred()) goto back;
        if (id < INT32_MIN || id > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "a code list id out of int32");
            goto back;
        }
        if (miss->index >= out.batch->n) { /* a call back took the batch (none does): no stale write */
            PyErr_SetString(PyExc_RuntimeError, "the price batch was taken while an item was kept");
            goto back;
        }
        memcpy(out.batch->lists[miss->field].p + miss->index * 4, &value, 4);
    }

    /* kept: the item's row and its rates, then the price counts, then the collector's count */
    kind = span_str(&head[1]);
    row = kind == NULL ? NULL : Py_BuildValue("(OON)", code, kind, span_str(&head[2]));
    index = PyLong_FromSsize_t(PyList_GET_SIZE(item_rows));
    if (row == NULL || index == NULL || PyList_Append(item_rows, row) < 0) goto back;
    for (r = 0; r < out.nrates; r++) {
        PyObject *count = PyLong_FromSsize_t(out.rates[r].count);
        int failed = count == NULL || PyList_Append(items, index) < 0 || PyList_Append(rate_ids, psets[r]) < 0 ||
                     PyList_Append(counts, count) < 0;
        Py_XDECREF(count);
        if (failed) goto back;
    }
    if (add_pset_prices(&out, pset_prices, PyTuple_GET_ITEM(state, S_BASE), psets, olds, at) < 0) goto back;
    changed = 1;
    kept = PyObject_GetAttr(collector, str_kept);
    more = kept == NULL ? NULL : PyNumber_Add(kept, one);
    if (more == NULL || PyObject_SetAttr(collector, str_kept, more) < 0) goto back;
    changed = 0;
    result = Py_NewRef(Py_True);
    goto done;

not_kept_or_error:
    if (got < 0) goto back;
not_kept:
    result = Py_NewRef(Py_False);
back:
    if (changed) put_back_counts(pset_prices, at, olds, out.nrates); /* the price counts as they were */
    take_back(&marks);
done:
    if (psets != NULL) {
        for (r = 0; r < out.nrates; r++) Py_XDECREF(psets[r]);
    }
    if (olds != NULL) {
        for (r = 0; r < out.nrates; r++) Py_XDECREF(olds[r]);
    }
    PyMem_Free(psets);
    PyMem_Free(olds);
    PyMem_Free(at);
    Py_XDECREF(code);
    Py_XDECREF(kind);
    Py_XDECREF(row);
    Py_XDECREF(index);
    Py_XDECREF(kept);
    Py_XDECREF(more);
    close_out(&out);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"keep", keep, METH_VARARGS,
     "keep(data, state, collector) -> True (kept) | False (not kept) | None (not mine); see columns.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_flatten", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__flatten(void) {
    int k;
    init_stop();
    for (k = 0; k < N_SCALARS + 2; k++) PRICE_KEY_LENGTHS[k] = (Py_ssize_t)strlen(PRICE_KEYS[k]);
    str_kept = PyUnicode_InternFromString("_kept");
    str_pset_of = PyUnicode_InternFromString("_pset_of");
    str_intern_list = PyUnicode_InternFromString("_intern_list");
    str_empty = PyUnicode_InternFromString("");
    one = PyLong_FromLong(1);
    PyObject *made;
    if (str_kept == NULL || str_pset_of == NULL || str_intern_list == NULL || str_empty == NULL || one == NULL)
        return NULL;
    if (PyType_Ready(&BatchType) < 0) return NULL;
    made = PyModule_Create(&module);
    if (made != NULL && PyModule_AddObjectRef(made, "Batch", (PyObject *)&BatchType) < 0) Py_CLEAR(made);
    return made;
}
