/* A kept in_network item's bytes straight to the staged columns (see columns.py, ColumnCollector).

   Only the common, well-formed shape is handled here: pure ASCII, strings without escapes or control
   characters, non-negative rates without exponent, each field the typed decoder declares at most once,
   nesting up to MAX_DEPTH. Anything else returns None ("not mine") and the caller runs msgspec's typed
   decoder and the dict path on the item, which give the results, refusals and byte offsets. Values are
   appended to the caller's lists as they are read; on None, or when the item is not kept, the caller
   truncates its lists back (it knows their lengths before the call). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
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

typedef struct {
    PyObject *text[CACHE];
    int next;
} StrCache;

/* The str of an ASCII span; short values repeat (billing classes, dates), so they are shared. */
static PyObject *make_str(StrCache *cache, const Span *s) {
    PyObject *made;
    int i;
    if (s->n < 0) Py_RETURN_NONE;
    if (cache != NULL && s->n <= CACHE_LEN) {
        for (i = 0; i < CACHE; i++) {
            PyObject *t = cache->text[i];
            if (t != NULL && PyUnicode_GET_LENGTH(t) == s->n &&
                memcmp(PyUnicode_1BYTE_DATA(t), s->a, (size_t)s->n) == 0) {
                Py_INCREF(t);
                return t;
            }
        }
    }
    made = PyUnicode_New(s->n, 127);
    if (made == NULL) return NULL;
    memcpy(PyUnicode_1BYTE_DATA(made), s->a, (size_t)s->n);
    if (cache != NULL && s->n <= CACHE_LEN) {
        Py_XSETREF(cache->text[cache->next], Py_NewRef(made));
        cache->next = (cache->next + 1) % CACHE;
    }
    return made;
}

static void clear_cache(StrCache *cache) {
    int i;
    for (i = 0; i < CACHE; i++) Py_CLEAR(cache->text[i]);
}

typedef struct {
    Span text[CACHE];
    PyObject *id[CACHE];
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

/* The interned id of a code list's JSON text, from ``known`` (text -> id); a text not in it is
   appended as the bytes itself, for the caller to intern (*misses is set). */
static int append_list_id(PyObject *ids, PyObject *known, ListCache *cache, const Span *s, int *misses) {
    PyObject *key, *found;
    int i, rc;
    for (i = 0; i < CACHE; i++) {
        if (cache->id[i] != NULL && cache->text[i].n == s->n && memcmp(cache->text[i].a, s->a, (size_t)s->n) == 0)
            return PyList_Append(ids, cache->id[i]);
    }
    key = PyBytes_FromStringAndSize((const char *)s->a, s->n);
    if (key == NULL) return -1;
    found = PyDict_GetItemWithError(known, key);
    if (found == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(key);
            return -1;
        }
        *misses = 1;
        found = key;
    }
    rc = PyList_Append(ids, found);
    Py_XSETREF(cache->id[cache->next], Py_NewRef(found));
    cache->text[cache->next] = *s;
    cache->next = (cache->next + 1) % CACHE;
    Py_DECREF(key);
    return rc;
}

static const char *const PRICE_KEYS[N_SCALARS + 2] = {
    "negotiated_type", "negotiated_rate", "expiration_date", "billing_class",
    "setting", "additional_information", "service_code", "billing_code_modifier",
};
static const Span NULL_SPAN = {(const unsigned char *)"null", 4};

typedef struct {
    PyObject *columns[N_SCALARS];
    PyObject *ids;
    PyObject *known;
    StrCache strings[N_SCALARS];
    ListCache lists[2];
    int misses;
} Out;

/* One negotiated price object, appended to the columns. 1 done, 0 not mine, -1 Python error. */
static int price(Cursor *c, Out *out) {
    Span values[N_SCALARS + 2], key;
    unsigned seen = 0;
    int first = 1, k, got, i, plain;
    double rate = 0.0;
    PyObject *value;
    for (i = 0; i < N_SCALARS; i++) values[i].n = -1;
    values[N_SCALARS] = values[N_SCALARS + 1] = NULL_SPAN;
    if (c->s >= c->end || *c->s != '{') return 0;
    c->s++;
    while ((got = next_key(c, &first, &key)) == 1) {
        for (k = 0; k < N_SCALARS + 2 && !span_is(&key, PRICE_KEYS[k]); k++) {
        }
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
        memcpy(text, values[1].a, (size_t)values[1].n);
        text[values[1].n] = '\0';
        rate = PyOS_string_to_double(text, &stop, NULL);
        if (rate == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (stop == NULL || *stop != '\0' || !isfinite(rate)) return 0;
    }
    for (i = 0; i < N_SCALARS; i++) {
        if (i == 1)
            value = values[1].n >= 0 ? PyFloat_FromDouble(rate) : Py_NewRef(Py_None);
        else
            value = make_str(&out->strings[i], &values[i]);
        if (value == NULL) return -1;
        got = PyList_Append(out->columns[i], value);
        Py_DECREF(value);
        if (got < 0) return -1;
    }
    for (i = 0; i < 2; i++) {
        if (append_list_id(out->ids, out->known, &out->lists[i], &values[N_SCALARS + i], &out->misses) < 0)
            return -1;
    }
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

/* One negotiated rate; a rate with prices adds (groups text, references text, price count) to rates. */
static int rate(Cursor *c, Out *out, PyObject *rates) {
    Span groups = NULL_SPAN, references = NULL_SPAN, key;
    unsigned seen = 0;
    int first = 1, got, k;
    Py_ssize_t count = 0;
    PyObject *entry;
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
    entry = Py_BuildValue("(NNn)", span_bytes(&groups), span_bytes(&references), count);
    if (entry == NULL) return -1;
    got = PyList_Append(rates, entry);
    Py_DECREF(entry);
    return got < 0 ? -1 : 1;
}

static int rate_into(Cursor *c, Out *out, void *rates) { return rate(c, out, (PyObject *)rates); }

/* negotiated_rates: null (*rates stays NULL) or an array of rate objects. */
static int rates_of(Cursor *c, Out *out, PyObject **rates) {
    if (c->s < c->end && *c->s == 'n') return literal(c, "null", 4);
    if (c->s >= c->end || *c->s != '[') return 0;
    *rates = PyList_New(0);
    if (*rates == NULL) return -1;
    return array_of(c, out, rate_into, *rates);
}

static const char *const ITEM_KEYS[3] = {"billing_code", "billing_code_type", "negotiation_arrangement"};

static int item(Cursor *c, Out *out, Span head[3], PyObject **rates) {
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
            got = rates_of(c, out, rates);
            if (got <= 0) return got;
        }
    }
    if (got < 0) return 0;
    blanks(c);
    return c->s == c->end; /* exactly one object */
}

static PyObject *flatten(PyObject *self, PyObject *args) {
    Py_buffer data;
    PyObject *columns, *ids, *known, *rates = NULL, *result = NULL;
    Span head[3];
    Cursor c;
    Out out;
    int i, got;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!O!O!", &data, &PyList_Type, &columns, &PyList_Type, &ids, &PyDict_Type, &known))
        return NULL;
    if (PyList_GET_SIZE(columns) != N_SCALARS) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "columns: one list per scalar price field");
        return NULL;
    }
    memset(&out, 0, sizeof(out));
    for (i = 0; i < N_SCALARS; i++) {
        out.columns[i] = PyList_GET_ITEM(columns, i);
        if (!PyList_Check(out.columns[i])) {
            PyBuffer_Release(&data);
            PyErr_SetString(PyExc_TypeError, "columns: lists expected");
            return NULL;
        }
    }
    out.ids = ids;
    out.known = known;
    for (i = 0; i < 3; i++) head[i].n = -1;
    c.s = (const unsigned char *)data.buf;
    c.end = c.s + data.len;
    got = item(&c, &out, head, &rates);
    if (got > 0) {
        result = Py_BuildValue("(NNNOO)", make_str(NULL, &head[0]), make_str(NULL, &head[1]),
                               make_str(NULL, &head[2]), rates != NULL ? rates : Py_None,
                               out.misses ? Py_True : Py_False);
    } else if (got == 0) {
        result = Py_NewRef(Py_None);
    }
    Py_XDECREF(rates);
    for (i = 0; i < N_SCALARS; i++) clear_cache(&out.strings[i]);
    for (i = 0; i < 2; i++) {
        int j;
        for (j = 0; j < CACHE; j++) Py_CLEAR(out.lists[i].id[j]);
    }
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"flatten", flatten, METH_VARARGS,
     "flatten(data, columns, ids, known) -> (code, type, arrangement, rates, misses) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_flatten", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__flatten(void) {
    init_stop();
    return PyModule_Create(&module);
}
