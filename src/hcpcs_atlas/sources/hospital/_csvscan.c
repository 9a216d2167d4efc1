/* A tall CSV's data records picked in C: only records with a code cell that may hold a Level II code.
 *
 * scan(data, start, final, width, codes, picks, record, line, run, limit) reads the complete records of
 * data[start:] as the csv module reads them (excel dialect: ',' '"', doubled quotes, line ends \r\n \r \n,
 * line ends inside quoted fields counted as lines) and returns (kept, consumed, record, line, run):
 *   kept      bytes: for each kept record "<k>,<line>,<run>,<first>" then ",<field>" for each field at a
 *             position where picks[position] is non-zero, as written (quoted or not), then "\n"; k = its
 *             record number - 1, line = the csv module's line_num after reading it. Fields where picks
 *             is 2 are the item's (a tall CSV repeats them on each payer's row): a kept record whose
 *             item fields are written as those of one of the last RING new items' first records is
 *             in its run (numbered from run + 1 on), with first 0 and those fields empty; otherwise
 *             it starts a new run, with first 1 and its item fields;
 *   consumed  where the first record not read starts (it is not complete: the caller joins the next
 *             chunk to it; with final true it is len(data));
 *   record, line, run  the counts after the records read, to pass to the next call (a run does not
 *             go on into the next call: one item may have several runs, as items far apart in the file).
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
} Scan;

/* One record from data[at:]: its end (just past its line end), its line ends and whether it is kept.
 * 1: read; 0: not complete; NOT_MINE. */
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
            while (i < n) {
                unsigned char c = d[i];
                if (c == ',' || c == '\n' || c == '\r') {
                    break;
                }
                if (c == 0) {
                    return NOT_MINE;
                }
                if (c == '"' && !text_before(d + begin, i - begin)) {
                    return NOT_MINE; /* DuckDB unquotes ' "b"', the csv module keeps it */
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

/* Whether the item fields (picks 2) of the records at bounds a and b are written the same. */
static int same_item(const Scan *s, const Py_ssize_t *a, const Py_ssize_t *b) {
    for (Py_ssize_t f = 0; f < s->width; f++) {
        if (s->picks[f] == 2) {
            Py_ssize_t n = a[2 * f + 1] - a[2 * f];
            if (n != b[2 * f + 1] - b[2 * f] || memcmp(s->data + a[2 * f], s->data + b[2 * f], (size_t)n) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

/* Kept records' items recently met: a tall CSV gives an item's rows together, often alternating
 * between two or three items (inpatient, outpatient), so a short ring finds most repeats. */
#define RING 8

static int scan_records(Scan *s, Py_ssize_t start, Out *out) {
    Py_ssize_t at = start;
    char prefix[96];
    size_t row = 2 * (size_t)s->width;
    Py_ssize_t *bounds = PyMem_RawMalloc(sizeof(Py_ssize_t) * row * (RING + 1));
    if (bounds == NULL) {
        return NO_MEMORY;
    }
    Py_ssize_t *cur = bounds;
    long long ring_run[RING];
    int ring_len = 0, ring_next = 0, status = DONE;
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
            long long run = -1;
            for (int back = 1; back <= ring_len && run < 0; back++) {
                int slot = (ring_next - back + RING) % RING;
                if (same_item(s, cur, bounds + row * (size_t)(slot + 1))) {
                    run = ring_run[slot];
                }
            }
            int first = run < 0;
            if (first) {
                run = ++s->run;
                memcpy(bounds + row * (size_t)(ring_next + 1), cur, sizeof(Py_ssize_t) * row);
                ring_run[ring_next] = run;
                ring_next = (ring_next + 1) % RING;
                ring_len += ring_len < RING;
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
                        continue; /* the run's first record has it */
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
    PyMem_RawFree(bounds);
    return status;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, codes, picks;
    Py_ssize_t start, width, limit;
    int final;
    long long record, line, run;
    if (!PyArg_ParseTuple(args, "y*npny*y*LLLn", &data, &start, &final, &width, &codes, &picks, &record, &line,
                          &run, &limit)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (start < 0 || start > data.len || width < 1 || width > (1 << 20) || codes.len != width || picks.len != width || record < 0 || line < 0 || run < 0 ||
        limit < 0) {
        PyErr_SetString(PyExc_ValueError, "scan: arguments out of range");
        goto done;
    }
    Scan s = {(const unsigned char *)data.buf, data.len, final, width, (const unsigned char *)codes.buf,
              (const unsigned char *)picks.buf, limit, record, line, run, start};
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
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csvscan", "A tall CSV's Level II records picked in C.", -1, methods,
    NULL,                  NULL,       NULL,                                          NULL,
};

PyMODINIT_FUNC PyInit__csvscan(void) { return PyModule_Create(&module); }
