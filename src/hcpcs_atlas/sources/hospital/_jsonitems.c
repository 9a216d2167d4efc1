/* The item search of a JSON hospital file (jsonfile.py), in C.
 *
 * find_items() does, over one buffer of the stream, exactly what the pure-Python path does per item:
 * the regex search for "code_information": [...] (ITEM_CODES, LEVEL2_ITEMS or the --codes pattern, whose
 * re.IGNORECASE also applies to the key),
 * the candidate codes of that array (_CANDIDATE.findall) looked up in the reader's verdict cache, the
 * fast path of tic.scan.object_start (the last '{' before the key with flat strings between), and the
 * end hint of ObjectFinder._next_start with tic.scan.hinted_end. It only finds positions: Python parses
 * each wanted item with orjson on exactly the slice the pure path would parse first. Whatever is not
 * the common case (a candidate code not in the cache, a key whose object start needs the exact scan, no
 * next key in the buffer) comes back as -1 / None and Python runs its own path on that item, which
 * gives the exact result or refusal. No error of its own: a bad buffer or argument is a TypeError or
 * ValueError from the argument parsing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static const char KEY[] = "\"code_information\"";
#define KEY_LEN ((Py_ssize_t)(sizeof(KEY) - 1))

enum { MODE_ANY = 0, MODE_LEVEL2 = 1, MODE_CODES = 2 };

/* Python's bytes-regex \s: space, \t, \n, \r, \f, \v. */
static int is_re_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* tic.scan._BLANKS / WHITESPACE: space, \t, \n, \r. */
static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static unsigned char upper(unsigned char c) { return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c; }

static Py_ssize_t find_key(const unsigned char *buf, Py_ssize_t from, Py_ssize_t size) {
    if (from < 0 || size - from < KEY_LEN)
        return -1;
    const unsigned char *hit = memmem(buf + from, (size_t)(size - from), KEY, (size_t)KEY_LEN);
    return hit == NULL ? -1 : (Py_ssize_t)(hit - buf);
}

/* The key in any letter case, as the --codes regex (re.IGNORECASE) finds it: its '_' is the same in every
 * case, and as quick to find as the whole key is by memmem. */
static Py_ssize_t find_key_nocase(const unsigned char *buf, Py_ssize_t from, Py_ssize_t size) {
    Py_ssize_t at = from + 5; /* KEY[5] is the '_' */
    while (from >= 0 && at < size) {
        const unsigned char *u = memchr(buf + at, '_', (size_t)(size - at));
        if (u == NULL)
            return -1;
        Py_ssize_t h = (Py_ssize_t)(u - buf) - 5, k = 0;
        if (size - h >= KEY_LEN)
            for (k = 0; k < KEY_LEN && upper(buf[h + k]) == upper((unsigned char)KEY[k]); k++)
                ;
        if (k == KEY_LEN)
            return h;
        at = (Py_ssize_t)(u - buf) + 1;
    }
    return -1;
}

/* The codes of MODE_CODES: ASCII letters and digits only (checked in Python). */
typedef struct {
    const unsigned char *text;
    Py_ssize_t len;
} Code;

/* '"' \s* <code> \s* '"' at buf[p], all before end (the pattern's inner part). */
static int code_at(const unsigned char *buf, Py_ssize_t p, Py_ssize_t end, int mode, const Code *codes,
                   Py_ssize_t n_codes) {
    Py_ssize_t q = p + 1;
    while (q < end && is_re_space(buf[q]))
        q++;
    if (mode == MODE_LEVEL2) {
        if (end - q < 5)
            return 0;
        unsigned char c = buf[q];
        if (!((c >= 'A' && c <= 'V') || (c >= 'a' && c <= 'v')))
            return 0;
        for (Py_ssize_t k = 1; k < 5; k++)
            if (!is_digit(buf[q + k]))
                return 0;
        q += 5;
        while (q < end && is_re_space(buf[q]))
            q++;
        return q < end && buf[q] == '"';
    }
    for (Py_ssize_t i = 0; i < n_codes; i++) { /* any alternative that matches (regex backtracking) */
        Py_ssize_t len = codes[i].len, r = q, k;
        if (len <= 0 || end - r < len)
            continue;
        for (k = 0; k < len && upper(buf[r + k]) == upper(codes[i].text[k]); k++)
            ;
        if (k < len)
            continue;
        r += len;
        while (r < end && is_re_space(buf[r]))
            r++;
        if (r < end && buf[r] == '"')
            return 1;
    }
    return 0;
}

/* The regex at the key found at buf[h]: the array token's [open, close] (close is the first ']'), or 0. */
static int match_at(const unsigned char *buf, Py_ssize_t size, Py_ssize_t h, int mode, const Code *codes,
                    Py_ssize_t n_codes, Py_ssize_t *no_close, Py_ssize_t *open, Py_ssize_t *close) {
    Py_ssize_t j = h + KEY_LEN;
    while (j < size && is_re_space(buf[j]))
        j++;
    if (j >= size || buf[j] != ':')
        return 0;
    j++;
    while (j < size && is_re_space(buf[j]))
        j++;
    if (j >= size || buf[j] != '[')
        return 0;
    if (j + 1 >= *no_close)
        return 0;
    const unsigned char *end = memchr(buf + j + 1, ']', (size_t)(size - j - 1));
    if (end == NULL) { /* none further on either: later keys need not look again */
        *no_close = j + 1;
        return 0;
    }
    Py_ssize_t e = (Py_ssize_t)(end - buf);
    if (mode != MODE_ANY) {
        int found = 0;
        for (Py_ssize_t p = j + 1; p < e && !found; p++)
            if (buf[p] == '"')
                found = code_at(buf, p, e, mode, codes, n_codes);
        if (!found)
            return 0;
    }
    *open = j;
    *close = e;
    return 1;
}

/* tic.scan.object_start's fast path: the last '{' in [floor, pos) with an even number of quotes and
 * none of \ [ ] } between; -1 when that does not hold (Python then does the exact scan). */
static Py_ssize_t fast_start(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t floor) {
    Py_ssize_t quotes = 0;
    for (Py_ssize_t i = pos - 1; i >= floor; i--) {
        unsigned char c = buf[i];
        if (c == '{')
            return (quotes % 2 == 0) ? i : -1;
        if (c == '"')
            quotes++;
        else if (c == '\\' || c == '[' || c == ']' || c == '}')
            return -1;
    }
    return -1;
}

/* ObjectFinder._next_start, then hinted_end: where the pure path's first parse of this object ends;
 * -1 when it has no hint. */
static Py_ssize_t hinted_end(const unsigned char *buf, Py_ssize_t size, Py_ssize_t index, Py_ssize_t start) {
    Py_ssize_t after = find_key(buf, index + KEY_LEN, size);
    if (after < 0)
        return -1;
    Py_ssize_t hint = -1;
    for (Py_ssize_t i = after - 1; i >= index; i--)
        if (buf[i] == '{') {
            hint = i;
            break;
        }
    if (hint < 0)
        return -1;
    Py_ssize_t end = hint;
    while (end > start && is_blank(buf[end - 1]))
        end--;
    if (end > start && buf[end - 1] == ',')
        end--;
    return end;
}

typedef struct {
    Py_ssize_t index, match_end, open;
} Hit;

/* Every match of the search regex from pos, like finditer: the matches starting before limit, and the
 * start of the first match at or after it (-1: none in the buffer). Pure C (the GIL is released). */
static int collect(const unsigned char *buf, Py_ssize_t size, Py_ssize_t pos, Py_ssize_t limit, int mode,
                   const Code *codes, Py_ssize_t n_codes, Hit **hits, Py_ssize_t *n_hits, Py_ssize_t *resume) {
    Py_ssize_t (*search)(const unsigned char *, Py_ssize_t, Py_ssize_t) =
        mode == MODE_CODES ? find_key_nocase : find_key;
    Py_ssize_t cap = 0, n = 0, no_close = size, h = search(buf, pos, size);
    Hit *out = NULL;
    *resume = -1;
    while (h >= 0) {
        Py_ssize_t open, close;
        if (!match_at(buf, size, h, mode, codes, n_codes, &no_close, &open, &close)) {
            h = search(buf, h + 1, size);
            continue;
        }
        if (h >= limit) {
            *resume = h;
            break;
        }
        if (n == cap) {
            Py_ssize_t grown = cap ? cap * 2 : 256;
            Hit *bigger = (grown > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Hit))
                              ? NULL
                              : realloc(out, (size_t)grown * sizeof(Hit));
            if (bigger == NULL) {
                free(out);
                return -1;
            }
            cap = grown;
            out = bigger;
        }
        Hit *hit = &out[n++];
        hit->index = h;
        hit->match_end = close + 1;
        hit->open = open;
        h = search(buf, close + 1, size);
    }
    *hits = out;
    *n_hits = n;
    return 0;
}

/* The kept codes of one array token as _want computes them from the verdict cache (raw candidate ->
 * upper-cased code, "" when not kept): a new list, Py_None when a candidate is not cached, NULL on error. */
static PyObject *kept_codes(const unsigned char *buf, Py_ssize_t open, Py_ssize_t end, PyObject *verdicts) {
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    Py_ssize_t q = open;
    while (q < end) {
        if (buf[q] != '"') {
            q++;
            continue;
        }
        Py_ssize_t r = q + 1;
        while (r < end && is_re_space(buf[r]))
            r++;
        Py_ssize_t first = r, k = 0;
        while (k < 5 && r < end && is_alnum(buf[r])) {
            r++;
            k++;
        }
        Py_ssize_t after = r;
        while (r < end && is_re_space(buf[r]))
            r++;
        if (k < 5 || r >= end || buf[r] != '"') {
            q++;
            continue;
        }
        PyObject *raw = PyBytes_FromStringAndSize((const char *)buf + first, after - first);
        if (raw == NULL)
            goto fail;
        PyObject *code = PyDict_GetItemWithError(verdicts, raw); /* borrowed */
        Py_DECREF(raw);
        if (code == NULL) {
            if (PyErr_Occurred())
                goto fail;
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        if (!PyUnicode_Check(code)) {
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        if (PyUnicode_GET_LENGTH(code) > 0) {
            int seen = PySequence_Contains(kept, code);
            if (seen < 0 || (!seen && PyList_Append(kept, code) < 0))
                goto fail;
        }
        q = r + 1;
    }
    return kept;
fail:
    Py_DECREF(kept);
    return NULL;
}

static PyObject *find_items(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t pos, limit, floor;
    int mode;
    PyObject *code_seq, *verdicts;
    if (!PyArg_ParseTuple(args, "y*nnniOO!", &view, &pos, &limit, &floor, &mode, &code_seq, &PyDict_Type,
                          &verdicts))
        return NULL;
    PyObject *result = NULL, *list = NULL, *fast = NULL;
    Code *codes = NULL;
    Hit *hits = NULL;
    Py_ssize_t n_codes = 0, n_hits = 0, resume = -1, size = view.len;
    const unsigned char *buf = (const unsigned char *)view.buf;
    if (mode < MODE_ANY || mode > MODE_CODES || pos < 0 || floor < 0 || floor > size) {
        PyErr_SetString(PyExc_ValueError, "find_items: bad mode or position");
        goto done;
    }
    if (mode == MODE_CODES) {
        fast = PySequence_Fast(code_seq, "find_items: codes must be a sequence of bytes");
        if (fast == NULL)
            goto done;
        n_codes = PySequence_Fast_GET_SIZE(fast);
        codes = PyMem_Calloc((size_t)(n_codes ? n_codes : 1), sizeof(Code));
        if (codes == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n_codes; i++) {
            PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
            if (!PyBytes_Check(item)) {
                PyErr_SetString(PyExc_TypeError, "find_items: codes must be bytes");
                goto done;
            }
            codes[i].text = (const unsigned char *)PyBytes_AS_STRING(item);
            codes[i].len = PyBytes_GET_SIZE(item);
        }
    }
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = collect(buf, size, pos, limit, mode, codes, n_codes, &hits, &n_hits, &resume);
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    list = PyList_New(0);
    if (list == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n_hits; i++) {
        Hit *h = &hits[i];
        PyObject *kept = kept_codes(buf, h->open, h->match_end, verdicts);
        if (kept == NULL)
            goto done;
        if (kept != Py_None && PyList_GET_SIZE(kept) == 0) { /* not wanted: Python would skip it too */
            Py_DECREF(kept);
            continue;
        }
        /* only for the wanted items: most items of a file are not */
        Py_ssize_t start = fast_start(buf, h->index, floor);
        Py_ssize_t end = start >= 0 ? hinted_end(buf, size, h->index, start) : -1;
        PyObject *row = PyTuple_New(6);
        if (row == NULL) {
            Py_DECREF(kept);
            goto done;
        }
        PyTuple_SET_ITEM(row, 5, kept);
        Py_ssize_t fields[5] = {h->index, h->match_end, h->open, start, end};
        for (int k = 0; k < 5; k++) {
            PyObject *position = PyLong_FromSsize_t(fields[k]);
            if (position == NULL) {
                Py_DECREF(row);
                goto done;
            }
            PyTuple_SET_ITEM(row, k, position);
        }
        int appended = PyList_Append(list, row);
        Py_DECREF(row);
        if (appended < 0)
            goto done;
    }
    result = Py_BuildValue("(On)", list, resume);
done:
    Py_XDECREF(list);
    Py_XDECREF(fast);
    PyMem_Free(codes);
    free(hits);
    PyBuffer_Release(&view);
    return result;
}

/* ---- item_parts: jsonfile.item_parts for the common types, None for anything else ---------------- */

/* A sentinel for "not mine": the value's type is one the C rules do not cover (Python's rules then run
 * on the whole item). Never returned to Python. */
static PyObject NOT_MINE_OBJECT;
#define NOT_MINE (&NOT_MINE_OBJECT)

/* str.strip() of an exact str (a new reference; the same object when there is nothing to strip). */
static PyObject *strip(PyObject *text) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0 || (!Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, 0)) &&
                   !Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, n - 1)))) {
        Py_INCREF(text);
        return text;
    }
    return PyObject_CallMethod(text, "strip", NULL);
}

/* (v.strip() or None) for a str, None for None (what _text and the inlined str cases give): a new
 * reference, NOT_MINE for other types, NULL on error. */
static PyObject *text_or_none(PyObject *value) {
    if (value == NULL || value == Py_None)
        Py_RETURN_NONE;
    if (!PyUnicode_CheckExact(value))
        return NOT_MINE;
    PyObject *out = strip(value);
    if (out != NULL && PyUnicode_GET_LENGTH(out) == 0) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

/* _number for a float, an int (not bool) a double holds, None or "": a new reference, NOT_MINE for
 * anything else (a text amount: Python's rules), NULL on error. */
static PyObject *number(PyObject *value) {
    if (value == NULL || value == Py_None)
        Py_RETURN_NONE;
    if (PyFloat_CheckExact(value)) {
        Py_INCREF(value);
        return value;
    }
    if (PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) == 0)
        Py_RETURN_NONE;
    if (PyLong_CheckExact(value)) {
        double d = PyLong_AsDouble(value);
        if (d == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return NULL;
            PyErr_Clear(); /* float() would raise it: Python's rules say how */
            return NOT_MINE;
        }
        return PyFloat_FromDouble(d);
    }
    return NOT_MINE;
}

/* ``x or []`` / ``x or {}`` where x must be a list / dict: a borrowed reference, NULL for empty/falsy,
 * NOT_MINE for a truthy value of another type. */
static PyObject *list_or_empty(PyObject *value) {
    if (value == NULL || value == Py_None)
        return NULL;
    if (PyList_CheckExact(value))
        return PyList_GET_SIZE(value) ? value : NULL;
    int truth = PyObject_IsTrue(value);
    if (truth < 0) {
        PyErr_Clear();
        return NOT_MINE;
    }
    return truth ? NOT_MINE : NULL;
}

static PyObject *dict_or_empty(PyObject *value) {
    if (value == NULL || value == Py_None)
        return NULL;
    if (PyDict_CheckExact(value))
        return PyDict_GET_SIZE(value) ? value : NULL;
    int truth = PyObject_IsTrue(value);
    if (truth < 0) {
        PyErr_Clear();
        return NOT_MINE;
    }
    return truth ? NOT_MINE : NULL;
}

/* dict.get(key) as a borrowed reference (NULL when missing); the key is an interned str. */
static PyObject *get(PyObject *dict, PyObject *key) { return PyDict_GetItemWithError(dict, key); }

static PyObject *K_CODE_INFORMATION, *K_CODE, *K_TYPE, *K_DESCRIPTION, *K_DRUG_INFORMATION, *K_UNIT,
    *K_STANDARD_CHARGES, *K_BILLING_CLASS, *K_SETTING, *K_MODIFIER_CODE, *K_GROSS_CHARGE, *K_DISCOUNTED_CASH,
    *K_MINIMUM, *K_MAXIMUM, *K_PAYERS_INFORMATION, *K_PAYER_NAME, *K_PLAN_NAME, *K_STANDARD_CHARGE_DOLLAR,
    *K_STANDARD_CHARGE_PERCENTAGE, *K_STANDARD_CHARGE_ALGORITHM, *K_METHODOLOGY, *EMPTY_STR;

/* Fill a tuple slot from a converter's result: 0, or -1 (error: NULL; not mine: NOT_MINE). */
static int put(PyObject *tuple, Py_ssize_t i, PyObject *value, int *mine) {
    if (value == NULL)
        return -1;
    if (value == NOT_MINE) {
        *mine = 0;
        return -1;
    }
    PyTuple_SET_ITEM(tuple, i, value);
    return 0;
}

/* The (code, type) pairs of code_information: a new tuple, NOT_MINE or NULL. */
static PyObject *code_pairs(PyObject *item, int *mine) {
    PyObject *infos = list_or_empty(get(item, K_CODE_INFORMATION));
    if (PyErr_Occurred())
        return NULL;
    if (infos == NOT_MINE)
        return NOT_MINE;
    Py_ssize_t n = infos ? PyList_GET_SIZE(infos) : 0, kept = 0;
    PyObject *pairs = PyTuple_New(n);
    if (pairs == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *info = PyList_GET_ITEM(infos, i);
        if (!PyDict_CheckExact(info))
            goto not_mine;
        PyObject *code = get(info, K_CODE);
        if (code == NULL && PyErr_Occurred())
            goto fail;
        if (code == NULL || code == Py_None || (PyUnicode_CheckExact(code) && PyUnicode_GET_LENGTH(code) == 0))
            continue; /* `if code:` */
        PyObject *kind = get(info, K_TYPE);
        if (kind == NULL && PyErr_Occurred())
            goto fail;
        if (kind == NULL)
            kind = EMPTY_STR;
        if (!PyUnicode_CheckExact(code) || !PyUnicode_CheckExact(kind))
            goto not_mine;
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL)
            goto fail;
        PyTuple_SET_ITEM(pairs, kept++, pair);
        PyObject *a = strip(code), *b = a ? strip(kind) : NULL;
        if (a)
            PyTuple_SET_ITEM(pair, 0, a);
        if (b)
            PyTuple_SET_ITEM(pair, 1, b);
        if (b == NULL)
            goto fail;
    }
    if (kept < n && _PyTuple_Resize(&pairs, kept) < 0)
        return NULL;
    return pairs;
not_mine:
    *mine = 0;
fail:
    Py_DECREF(pairs);
    return *mine ? NULL : NOT_MINE;
}

/* One payer's (payer_name, plan_name, dollar, percentage, algorithm, methodology): 0 or -1. */
static PyObject *payer_tuple(PyObject *p, int *mine) {
    if (!PyDict_CheckExact(p)) {
        *mine = 0;
        return NULL;
    }
    PyObject *row = PyTuple_New(6);
    if (row == NULL)
        return NULL;
    PyObject *keys[6] = {K_PAYER_NAME, K_PLAN_NAME, K_STANDARD_CHARGE_DOLLAR, K_STANDARD_CHARGE_PERCENTAGE,
                         K_STANDARD_CHARGE_ALGORITHM, K_METHODOLOGY};
    for (int i = 0; i < 6; i++) {
        PyObject *value = get(p, keys[i]);
        if (value == NULL && PyErr_Occurred())
            goto fail;
        if (put(row, i, (i == 2 || i == 3) ? number(value) : text_or_none(value), mine) < 0)
            goto fail;
    }
    return row;
fail:
    Py_DECREF(row);
    return NULL;
}

/* One standard charge's (head, payers) given the item's shared fields: a new tuple or NULL. */
static PyObject *charge_parts(PyObject *sc, PyObject *codes, PyObject *description, PyObject *unit,
                              PyObject *unit_type, int *mine) {
    if (!PyDict_CheckExact(sc)) {
        *mine = 0;
        return NULL;
    }
    PyObject *mods = get(sc, K_MODIFIER_CODE);
    if (mods == NULL && PyErr_Occurred())
        return NULL;
    if (mods != NULL) {
        int truth = PyObject_IsTrue(mods);
        if (truth != 0) { /* modifiers (rare): Python's rules; an error there is Python's to report */
            PyErr_Clear();
            *mine = 0;
            return NULL;
        }
    }
    PyObject *head = PyTuple_New(11), *payers = NULL, *pair = NULL;
    if (head == NULL)
        return NULL;
    Py_INCREF(codes);
    PyTuple_SET_ITEM(head, 0, codes);
    Py_INCREF(description);
    PyTuple_SET_ITEM(head, 1, description);
    Py_INCREF(unit);
    PyTuple_SET_ITEM(head, 4, unit);
    Py_INCREF(unit_type);
    PyTuple_SET_ITEM(head, 5, unit_type);
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        goto fail;
    PyTuple_SET_ITEM(head, 6, empty);
    PyObject *value = get(sc, K_BILLING_CLASS);
    if ((value == NULL && PyErr_Occurred()) || put(head, 2, text_or_none(value), mine) < 0)
        goto fail;
    value = get(sc, K_SETTING);
    if ((value == NULL && PyErr_Occurred()) || put(head, 3, text_or_none(value), mine) < 0)
        goto fail;
    PyObject *amounts[4] = {K_GROSS_CHARGE, K_DISCOUNTED_CASH, K_MINIMUM, K_MAXIMUM};
    for (int i = 0; i < 4; i++) {
        value = get(sc, amounts[i]);
        if ((value == NULL && PyErr_Occurred()) || put(head, 7 + i, number(value), mine) < 0)
            goto fail;
    }
    PyObject *infos = list_or_empty(get(sc, K_PAYERS_INFORMATION));
    if (PyErr_Occurred())
        goto fail;
    if (infos == NOT_MINE) {
        *mine = 0;
        goto fail;
    }
    Py_ssize_t n = infos ? PyList_GET_SIZE(infos) : 0;
    payers = PyList_New(n ? n : 1);
    if (payers == NULL)
        goto fail;
    if (n == 0) { /* payers or [_NO_PAYER] */
        PyObject *none_payer = Py_BuildValue("(OOOOOO)", Py_None, Py_None, Py_None, Py_None, Py_None, Py_None);
        if (none_payer == NULL)
            goto fail;
        PyList_SET_ITEM(payers, 0, none_payer);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = payer_tuple(PyList_GET_ITEM(infos, i), mine);
        if (row == NULL)
            goto fail;
        PyList_SET_ITEM(payers, i, row);
    }
    pair = PyTuple_Pack(2, head, payers);
fail:
    Py_DECREF(head);
    Py_XDECREF(payers);
    return pair;
}

static PyObject *item_parts(PyObject *self, PyObject *item) {
    (void)self;
    int mine = 1;
    PyObject *codes = NULL, *description = NULL, *unit = NULL, *unit_type = NULL, *charges = NULL;
    if (!PyDict_CheckExact(item))
        Py_RETURN_NONE;
    codes = code_pairs(item, &mine);
    if (codes == NULL || codes == NOT_MINE)
        goto done;
    PyObject *value = get(item, K_DESCRIPTION);
    if (value == NULL && PyErr_Occurred())
        goto done;
    description = text_or_none(value);
    if (description == NULL || description == NOT_MINE)
        goto done;
    PyObject *drug = dict_or_empty(get(item, K_DRUG_INFORMATION));
    if (PyErr_Occurred() || drug == NOT_MINE)
        goto done;
    value = drug ? get(drug, K_UNIT) : NULL;
    if (value == NULL && PyErr_Occurred())
        goto done;
    unit = number(value);
    if (unit == NULL || unit == NOT_MINE)
        goto done;
    value = drug ? get(drug, K_TYPE) : NULL;
    if (value == NULL && PyErr_Occurred())
        goto done;
    unit_type = text_or_none(value);
    if (unit_type == NULL || unit_type == NOT_MINE)
        goto done;
    PyObject *scs = list_or_empty(get(item, K_STANDARD_CHARGES));
    if (PyErr_Occurred() || scs == NOT_MINE)
        goto done;
    Py_ssize_t n = scs ? PyList_GET_SIZE(scs) : 0;
    charges = PyList_New(n);
    if (charges == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = charge_parts(PyList_GET_ITEM(scs, i), codes, description, unit, unit_type, &mine);
        if (pair == NULL) {
            Py_CLEAR(charges);
            goto done;
        }
        PyList_SET_ITEM(charges, i, pair);
    }
done:
    if (codes != NOT_MINE)
        Py_XDECREF(codes);
    if (description != NOT_MINE)
        Py_XDECREF(description);
    if (unit != NOT_MINE)
        Py_XDECREF(unit);
    if (unit_type != NOT_MINE)
        Py_XDECREF(unit_type);
    if (charges != NULL)
        return charges;
    if (PyErr_Occurred()) {
        if (!mine || !PyErr_ExceptionMatches(PyExc_MemoryError))
            PyErr_Clear(); /* not mine after all: Python's rules decide, and report */
        else
            return NULL;
    }
    Py_RETURN_NONE;
}

static int intern_keys(void) {
    struct {
        PyObject **slot;
        const char *text;
    } keys[] = {
        {&K_CODE_INFORMATION, "code_information"},
        {&K_CODE, "code"},
        {&K_TYPE, "type"},
        {&K_DESCRIPTION, "description"},
        {&K_DRUG_INFORMATION, "drug_information"},
        {&K_UNIT, "unit"},
        {&K_STANDARD_CHARGES, "standard_charges"},
        {&K_BILLING_CLASS, "billing_class"},
        {&K_SETTING, "setting"},
        {&K_MODIFIER_CODE, "modifier_code"},
        {&K_GROSS_CHARGE, "gross_charge"},
        {&K_DISCOUNTED_CASH, "discounted_cash"},
        {&K_MINIMUM, "minimum"},
        {&K_MAXIMUM, "maximum"},
        {&K_PAYERS_INFORMATION, "payers_information"},
        {&K_PAYER_NAME, "payer_name"},
        {&K_PLAN_NAME, "plan_name"},
        {&K_STANDARD_CHARGE_DOLLAR, "standard_charge_dollar"},
        {&K_STANDARD_CHARGE_PERCENTAGE, "standard_charge_percentage"},
        {&K_STANDARD_CHARGE_ALGORITHM, "standard_charge_algorithm"},
        {&K_METHODOLOGY, "methodology"},
        {&EMPTY_STR, ""},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        *keys[i].slot = PyUnicode_InternFromString(keys[i].text);
        if (*keys[i].slot == NULL)
            return -1;
    }
    return 0;
}

static PyMethodDef methods[] = {
    {"find_items", find_items, METH_VARARGS,
     "find_items(buf, pos, limit, floor, mode, codes, verdicts) -> ([(index, match_end, open, start, end, "
     "kept)], resume)"},
    {"item_parts", item_parts, METH_O,
     "item_parts(item) -> jsonfile.item_parts(item) for the common types, or None (Python's rules decide)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_jsonitems", "The item search of JSON hospital files, in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsonitems(void) {
    if (intern_keys() < 0)
        return NULL;
    return PyModule_Create(&module);
}
