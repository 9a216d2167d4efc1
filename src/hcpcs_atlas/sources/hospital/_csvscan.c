/* A tall CSV's data records picked in C: only records with a code cell that may hold a Level II code.
 *
 * scan(data, start, final, width, codes, picks, record, line, run, limit, items) reads the complete
 * records of data[start:] as the csv module reads them (excel dialect: ',' '"', doubled quotes, line ends
 * \r\n \r \n, line ends inside quoted fields counted as lines) and returns (kept, consumed, record, line,
 * run):
 *   kept      bytes: for each kept record "<k>,<line>,<run>,<first>" then ",<field>" for each field at a
 *             position where picks[position] is non-zero, as written (quoted or not), then "\n"; k = its
 *             record number - 1, line = the csv module's line_num after reading it. Fields where picks
 *             is 2 are the item's (a tall CSV repeats them on each payer's row): records whose item
 *             fields are written the same share a run (numbered from run + 1 on, in ``items``, a table
 *             from items() for one file, used by one call at a time); the first record of a run has
 *             first 1 and its item fields, the others first 0 and those fields empty;
 *   consumed  where the first record not read starts (it is not complete: the caller joins the next
 *             chunk to it; with final true it is len(data));
 *   record, line, run  the counts after the records read, to pass to the next call.
 * A record is kept when one of its cells at a position where codes[position] is non-zero holds an
 * ASCII letter A-V/a-v (or U+0131, U+017F in UTF-8: they upper-case to I and S) then four digits: the
 * superset that store/hospital_tall.py's _LEVEL2_CELL is.
 *
 * It returns False for a record of another width than the header's: the csv-module path (csvfile.py)
 * refuses it with its row (or, an empty record, skips it); DuckDB's reader takes a record with more
 * empty fields at its end than the header has columns, so the caller goes to the csv-module path.
 * It returns None ("not mine": the caller reads the whole file the pure-Python way, which refuses or reads
 * it exactly) on anything it does not read exactly as the csv module does, or as DuckDB's reader then
 * reads the kept records: a quote in an unquoted field after nothing but spaces and control characters
 * (DuckDB drops them and unquotes the field), anything but ',' or a line end after a closing
 * quote, a NUL byte, an empty line, a field longer (in bytes) than limit, data
 * ending inside a quoted field.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Out;

static int out_reserve(Out *out, size_t more) {
    if (more > ((size_t)-1) / 2 - out->len) {
        return -1;
    }
    size_t need = out->len + more;
    if (need <= out->cap) {
        return 0;
    }
    size_t cap = out->cap ? out->cap : 1 << 16;
    while (cap < need) {
        cap *= 2;
    }
    char *grown = realloc(out->data, cap);
    if (grown == NULL) {
        return -1;
    }
    out->data = grown;
    out->cap = cap;
    return 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A letter that upper-cases to A-V then four digits, somewhere in raw[0:n]. */
static int may_hold_code(const unsigned char *raw, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i + 4 < n; i++) {
        unsigned char c = raw[i];
        Py_ssize_t digits = -1;
        if ((c >= 'A' && c <= 'V') || (c >= 'a' && c <= 'v')) {
            digits = i + 1;
        } else if (i + 5 < n && ((c == 0xC4 && raw[i + 1] == 0xB1) || (c == 0xC5 && raw[i + 1] == 0xBF))) {
            digits = i + 2;
        }
        if (digits >= 0 && digits + 4 <= n && is_digit(raw[digits]) && is_digit(raw[digits + 1]) &&
            is_digit(raw[digits + 2]) && is_digit(raw[digits + 3])) {
            return 1;
        }
    }
    return 0;
}

/* Whether raw[0:n] has a byte other than ASCII spaces: a quote after one is text for both readers. */
static int text_before(const unsigned char *raw, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (raw[i] > ' ') {
            return 1;
        }
    }
    return 0;
}

typedef struct Items Items;

enum { DONE = 0, NOT_MINE = -1, NO_MEMORY = -2, WRONG_WIDTH = -3 };

typedef struct {
    const unsigned char *data;
    Py_ssize_t len;
    int final;
    Py_ssize_t width;
    const unsigned char *codes; /* width bytes */
    const unsigned char *picks; /* width bytes: the fields written for a kept record */
    Py_ssize_t limit;
    long long record;
    long long line;
    long long run;
    Py_ssize_t consumed;
    Items *items;
} Scan;

/* One record from data[at:]: its end (just past its line end), its line ends and whether it is kept.
 * 1: read; 0: not complete; NOT_MINE. */
/* The bytes that end or change a field's reading: in an unquoted field, and in a quoted one. */
static unsigned char UNQUOTED[256];
static unsigned char IN_QUOTES[256];

static void init_tables(void) {
    UNQUOTED[','] = UNQUOTED['\n'] = UNQUOTED['\r'] = UNQUOTED['"'] = UNQUOTED[0] = 1;
    IN_QUOTES['"'] = IN_QUOTES['\n'] = IN_QUOTES['\r'] = IN_QUOTES[0] = 1;
}

static int read_record(const Scan *s, Py_ssize_t at, Py_ssize_t *bounds, Py_ssize_t *next, long long *breaks,
                       int *keep) {
    const unsigned char *d = s->data;
    Py_ssize_t n = s->len, i = at, field = 0;
    *breaks = 0;
    *keep = 0;
    if (i < n && (d[i] == '\n' || d[i] == '\r')) {
        return NOT_MINE; /* an empty line: the csv module's empty record */
    }
    for (;;) {
        Py_ssize_t begin = i;
        if (field >= s->width) {
            return WRONG_WIDTH;
        }
        if (i < n && d[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) {
                    return s->final ? NOT_MINE : 0; /* ends inside a quoted field */
                }
                while (i < n && !IN_QUOTES[d[i]]) {
                    i++; /* the plain bytes of a quoted field */
                }
                if (i - begin > s->limit) {
                    return NOT_MINE; /* checked as it grows: a record carried to the next chunk stays bounded */
                }
                if (i >= n) {
                    continue;
                }
                unsigned char c = d[i];
                if (c == '"') {
                    if (i + 1 >= n) {
                        if (!s->final) {
                            return 0;
                        }
                        i++;
                        break;
                    }
                    if (d[i + 1] == '"') {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (c == 0) {
                    return NOT_MINE;
                }
                if (c == '\n') {
                    if (i == 0 || d[i - 1] != '\r') {
                        (*breaks)++;
                    }
                } else if (c == '\r') {
                    (*breaks)++;
                }
                i++;
            }
            if (i < n && d[i] != ',' && d[i] != '\n' && d[i] != '\r') {
                return NOT_MINE; /* text after the closing quote */
            }
        } else {
            int text = 0;
            while (i < n) {
                while (i < n && !UNQUOTED[d[i]]) {
                    i++; /* the plain bytes of an unquoted field */
                }
                if (i - begin > s->limit) {
                    return NOT_MINE;
                }
                if (i >= n) {
                    break;
                }
                unsigned char c = d[i];
                if (c == ',' || c == '\n' || c == '\r') {
                    break;
                }
                if (c == 0) {
                    return NOT_MINE;
                }
                if (c == '"' && !text) {
                    text = text_before(d + begin, i - begin); /* once a field: then it stays true */
                    if (!text) {
                        return NOT_MINE; /* DuckDB unquotes ' "b"', the csv module keeps it */
                    }
                }
                i++;
            }
            if (i >= n && !s->final) {
                return 0;
            }
        }
        if (i - begin > s->limit) {
            return NOT_MINE;
        }
        if (s->codes[field] && !*keep && may_hold_code(d + begin, i - begin)) {
            *keep = 1;
        }
        bounds[2 * field] = begin;
        bounds[2 * field + 1] = i;
        field++;
        if (i < n && d[i] == ',') {
            i++;
            continue;
        }
        /* a line end or the end of the data */
        if (field != s->width) {
            return WRONG_WIDTH;
        }
        if (i >= n) {
            *next = i; /* the last record, without a line end (final) */
        } else if (d[i] == '\n') {
            *next = i + 1;
        } else if (i + 1 < n) {
            *next = d[i + 1] == '\n' ? i + 2 : i + 1;
        } else if (s->final) {
            *next = i + 1;
        } else {
            return 0; /* a \r last: it may be a \r\n */
        }
        return 1;
    }
}

/* The items met so far in a file: their item fields as written -> their run. A tall CSV repeats an
 * item's fields on each payer's row, and the rows of one item are far apart when the file is ordered by
 * payer (UNC: 10.7 K items on 126 K kept records); an item's fields are written once, on its first
 * record. Open addressing; the keys (each field's length, then its bytes) in one arena. Past the
 * table's limit of bytes of keys it starts again empty (a file of unique items keeps memory flat): an
 * item met again after that is a new run, which the SQL puts together again by its values. */
#define ITEMS_CAPSULE "hcpcs_atlas.sources.hospital._csvscan.items"

typedef struct {
    unsigned long long hash;
    size_t off;
    size_t len;
    long long run; /* 0: an empty slot */
} Entry;

struct Items {
    Entry *slots;
    size_t cap; /* a power of two */
    size_t n;
    unsigned char *arena;
    size_t arena_len;
    size_t arena_cap;
    size_t limit;
};

static void items_free(Items *t) {
    if (t != NULL) {
        free(t->slots);
        free(t->arena);
        free(t);
    }
}

static void items_clear(Items *t) {
    memset(t->slots, 0, sizeof(Entry) * t->cap);
    t->n = 0;
    t->arena_len = 0;
}

static unsigned long long hash_bytes(const unsigned char *key, size_t len) {
    unsigned long long h = len * 0x9E3779B97F4A7C15ULL, word;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) { /* eight bytes a step: collisions are settled by memcmp */
        memcpy(&word, key + i, 8);
        h = (h ^ word) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    word = 0;
    memcpy(&word, key + i, len - i);
    h = (h ^ word) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 32);
}

static int items_grow(Items *t) {
    size_t cap = t->cap * 2;
    Entry *slots = calloc(cap, sizeof(Entry));
    if (slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].run) {
            size_t at = (size_t)t->slots[i].hash & (cap - 1);
            while (slots[at].run) {
                at = (at + 1) & (cap - 1);
            }
            slots[at] = t->slots[i];
        }
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* The run of the item whose key is key[0:len]: *run found (> 0), or a new one from *counter (*first). */
static int items_run(Items *t, const unsigned char *key, size_t len, long long *counter, long long *run, int *first) {
    unsigned long long h = hash_bytes(key, len);
    size_t at = (size_t)h & (t->cap - 1);
    while (t->slots[at].run) {
        Entry *e = &t->slots[at];
        if (e->hash == h && e->len == len && memcmp(t->arena + e->off, key, len) == 0) {
            *run = e->run;
            *first = 0;
            return 0;
        }
        at = (at + 1) & (t->cap - 1);
    }
    if (t->arena_len + len > t->limit) {
        items_clear(t);
        at = (size_t)h & (t->cap - 1);
    }
    if (t->arena_len + len > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
        while (cap < t->arena_len + len) {
            cap *= 2;
        }
        unsigned char *arena = realloc(t->arena, cap);
        if (arena == NULL) {
            return -1;
        }
        t->arena = arena;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, key, len);
    Entry e = {h, t->arena_len, len, ++*counter};
    t->arena_len += len;
    t->slots[at] = e;
    t->n++;
    *run = e.run;
    *first = 1;
    if (t->n * 2 > t->cap && items_grow(t) < 0) {
        return -1;
    }
    return 0;
}

static void items_capsule_free(PyObject *capsule) {
    items_free(PyCapsule_GetPointer(capsule, ITEMS_CAPSULE));
}

static PyObject *items(PyObject *self, PyObject *arg) {
    (void)self;
    Py_ssize_t limit = PyLong_AsSsize_t(arg);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "items: a limit of bytes, not negative");
        return NULL;
    }
    Items *t = calloc(1, sizeof(Items));
    if (t == NULL) {
        return PyErr_NoMemory();
    }
    t->limit = (size_t)limit;
    t->cap = 1 << 12;
    t->slots = calloc(t->cap, sizeof(Entry));
    if (t->slots == NULL) {
        items_free(t);
        return PyErr_NoMemory();
    }
    PyObject *capsule = PyCapsule_New(t, ITEMS_CAPSULE, items_capsule_free);
    if (capsule == NULL) {
        items_free(t);
    }
    return capsule;
}

/* The item key of the record at bounds b: each item field's length (4 bytes) and bytes, into key. */
static int item_key(const Scan *s, const Py_ssize_t *b, Out *key) {
    key->len = 0;
    for (Py_ssize_t f = 0; f < s->width; f++) {
        if (s->picks[f] == 2) {
            size_t n = (size_t)(b[2 * f + 1] - b[2 * f]);
            if (n > 0xFFFFFFFFu || out_reserve(key, n + 4) < 0) {
                return -1;
            }
            unsigned char size[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                     (unsigned char)n};
            memcpy(key->data + key->len, size, 4);
            memcpy(key->data + key->len + 4, s->data + b[2 * f], n);
            key->len += n + 4;
        }
    }
    return 0;
}

static int scan_records(Scan *s, Py_ssize_t start, Out *out) {
    Py_ssize_t at = start;
    char prefix[96];
    Py_ssize_t *cur = PyMem_RawMalloc(sizeof(Py_ssize_t) * 2 * (size_t)s->width);
    if (cur == NULL) {
        return NO_MEMORY;
    }
    Out key = {NULL, 0, 0};
    int status = DONE;
    while (at < s->len) {
        Py_ssize_t next = 0;
        long long breaks = 0;
        int keep = 0;
        int got = read_record(s, at, cur, &next, &breaks, &keep);
        if (got < 0) {
            status = got;
            break;
        }
        if (got == 0) {
            break;
        }
        long long line = s->line + breaks + 1;
        if (keep) {
            long long run = 0;
            int first = 0;
            if (item_key(s, cur, &key) < 0 ||
                items_run(s->items, (const unsigned char *)key.data, key.len, &s->run, &run, &first) < 0) {
                status = NO_MEMORY;
                break;
            }
            int size = snprintf(prefix, sizeof prefix, "%lld,%lld,%lld,%d", s->record, line, run, first);
            if (size <= 0 || (size_t)size >= sizeof prefix) {
                status = NOT_MINE;
                break;
            }
            /* at most the record's bytes, the prefix and a line end */
            if (out_reserve(out, (size_t)size + (size_t)(next - at) + 2) < 0) {
                status = NO_MEMORY;
                break;
            }
            memcpy(out->data + out->len, prefix, (size_t)size);
            out->len += (size_t)size;
            for (Py_ssize_t f = 0; f < s->width; f++) {
                if (s->picks[f]) {
                    out->data[out->len++] = ',';
                    if (s->picks[f] == 2 && !first) {
                        continue; /* the item's first record has it */
                    }
                    size_t field = (size_t)(cur[2 * f + 1] - cur[2 * f]);
                    memcpy(out->data + out->len, s->data + cur[2 * f], field);
                    out->len += field;
                }
            }
            out->data[out->len++] = '\n';
        }
        s->record++;
        s->line = line;
        at = next;
    }
    s->consumed = at;
    free(key.data);
    PyMem_RawFree(cur);
    return status;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, codes, picks;
    Py_ssize_t start, width, limit;
    int final;
    long long record, line, run;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "y*npny*y*LLLnO", &data, &start, &final, &width, &codes, &picks, &record, &line,
                          &run, &limit, &capsule)) {
        return NULL;
    }
    PyObject *result = NULL;
    Items *table = PyCapsule_GetPointer(capsule, ITEMS_CAPSULE);
    if (table == NULL) {
        goto done;
    }
    if (start < 0 || start > data.len || width < 1 || width > (1 << 20) || codes.len != width || picks.len != width || record < 0 || line < 0 || run < 0 ||
        limit < 0) {
        PyErr_SetString(PyExc_ValueError, "scan: arguments out of range");
        goto done;
    }
    Scan s = {(const unsigned char *)data.buf, data.len, final, width, (const unsigned char *)codes.buf,
              (const unsigned char *)picks.buf, limit, record, line, run, start, table};
    Out out = {NULL, 0, 0};
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = scan_records(&s, start, &out);
    Py_END_ALLOW_THREADS
    if (status == NO_MEMORY) {
        PyErr_NoMemory();
    } else if (status == NOT_MINE) {
        result = Py_NewRef(Py_None);
    } else if (status == WRONG_WIDTH) {
        result = Py_NewRef(Py_False);
    } else {
        PyObject *kept = PyBytes_FromStringAndSize(out.len ? out.data : "", (Py_ssize_t)out.len);
        if (kept != NULL) {
            result = Py_BuildValue("(NnLLL)", kept, s.consumed, s.record, s.line, s.run);
        }
    }
    free(out.data);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&picks);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "The kept records of a tall CSV's complete records, or None: not mine."},
    {"items", items, METH_O, "A new table of the items met in one file (at most limit bytes of keys), for scan."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csvscan", "A tall CSV's Level II records picked in C.", -1, methods,
    NULL,                  NULL,       NULL,                                          NULL,
};

PyMODINIT_FUNC PyInit__csvscan(void) {
    init_tables();
    return PyModule_Create(&module);
}
