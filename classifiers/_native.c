/* Counting loops of language identification and of the topic model's features, in C.
 *
 * classifiers.fast_langid and classifiers.char_ngrams compute the same results with NumPy
 * (whole-array passes, sorts); these loops do it in one pass per text and are used when this
 * module is built (setup.py builds it where a C compiler exists; without one the NumPy code
 * runs). Both take only buffers (bytes, NumPy arrays) and check every index they read.
 *
 * walk_scores: the byte n-gram features of py3langid's tokenizer DFA, each text walked from
 *   the start state, and the naive Bayes scores sum(log1p(count) * ptc[feature]) + pc.
 * ngram_tfidf: the TF-IDF rows of scikit-learn's char_wb n-grams for padded words, looked up
 *   in the vocabulary's packed keys (classifiers.char_ngrams explains the keys).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BITS 60
#define FIBONACCI 0x9E3779B97F4A7C15ULL
#define UNICODE_SIZE 0x110000

typedef struct {
    Py_buffer view;
    int held;
} Held;

static int
take(PyObject *object, Held *held, Py_ssize_t itemsize, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, &held->view, flags) < 0)
        return -1;
    held->held = 1;
    if (held->view.itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes expected, got %zd", name,
                     itemsize, held->view.itemsize);
        return -1;
    }
    if (held->view.len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: size is not a whole number of items", name);
        return -1;
    }
    return 0;
}

static void
release(Held *held, int count)
{
    for (int i = 0; i < count; i++)
        if (held[i].held)
            PyBuffer_Release(&held[i].view);
}

/* walk_scores(data, lengths, nextmove, states, ptc, pc, scores) -> None
 *   data: all texts' bytes end to end; lengths: int64 per text; nextmove: uint32 DFA moves;
 *   states: int32 pairs, per state its row start (row * 256) and its feature or -1; ptc: float32 (features x classes); pc: float64 (classes); scores: float64
 *   (texts x classes), written. A text with no feature scores zeros, as py3langid's does. */
static PyObject *
walk_scores(PyObject *self, PyObject *args)
{
    PyObject *objects[7];
    Held held[7] = {{0}};
    static const Py_ssize_t sizes[7] = {1, 8, 4, 4, 4, 8, 8};
    static const char *names[7] = {"data", "lengths", "nextmove", "states",
                                   "ptc", "pc", "scores"};
    int32_t *counts = NULL;
    int64_t *touched = NULL;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOOO", &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4], &objects[5], &objects[6]))
        return NULL;
    for (int i = 0; i < 7; i++)
        if (take(objects[i], &held[i], sizes[i], i == 6, names[i]) < 0)
            goto done;
    {
        const uint8_t *data = held[0].view.buf;
        const int64_t *lengths = held[1].view.buf;
        const uint32_t *nextmove = held[2].view.buf;
        /* Per state, its row's first move and its output feature (-1: none), side by side:
         * one cache line per step of the walk instead of two arrays' worth. */
        const int32_t *info = held[3].view.buf;
        const float *ptc = held[4].view.buf;
        const double *pc = held[5].view.buf;
        double *scores = held[6].view.buf;
        Py_ssize_t size = held[0].view.len, texts = held[1].view.len / 8;
        Py_ssize_t moves = held[2].view.len / 4, states = held[3].view.len / 8;
        Py_ssize_t classes = held[5].view.len / 8;
        Py_ssize_t features = classes ? held[4].view.len / 4 / classes : 0;
        if (held[3].view.len % 8 || held[6].view.len / 8 != texts * classes ||
            features * classes * 4 != held[4].view.len) {
            PyErr_SetString(PyExc_ValueError, "walk_scores: array sizes do not agree");
            goto done;
        }
        counts = calloc((size_t)(features ? features : 1), sizeof(int32_t));
        touched = malloc((size_t)(size ? size : 1) * sizeof(int64_t));
        if (counts == NULL || touched == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_ssize_t at = 0;
        for (Py_ssize_t t = 0; t < texts; t++) {
            int64_t length = lengths[t];
            if (length < 0 || length > size - at) {
                PyErr_SetString(PyExc_ValueError, "walk_scores: lengths exceed the data");
                goto done;
            }
            double *row = scores + t * classes;
            memset(row, 0, (size_t)classes * sizeof(double));
            Py_ssize_t found = 0;
            int64_t state = 0;
            for (int64_t i = 0; i < length; i++) {
                int64_t move = (int64_t)info[2 * state] + data[at + i];
                if (move < 0 || move >= moves) {
                    PyErr_SetString(PyExc_ValueError, "walk_scores: a move outside the table");
                    goto done;
                }
                state = nextmove[move];
                if (state >= states) {
                    PyErr_SetString(PyExc_ValueError, "walk_scores: a state outside the table");
                    goto done;
                }
                int64_t feature = info[2 * state + 1];
                if (feature >= 0 && feature < features && counts[feature]++ == 0)
                    touched[found++] = feature;
            }
            for (Py_ssize_t k = 0; k < found; k++) {
                int64_t feature = touched[k];
                double weight = log1p((double)counts[feature]);
                const float *p = ptc + feature * classes;
                for (Py_ssize_t c = 0; c < classes; c++)
                    row[c] += weight * (double)p[c];
                counts[feature] = 0;
            }
            if (found)
                for (Py_ssize_t c = 0; c < classes; c++)
                    row[c] += pc[c];
            at += length;
        }
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    free(counts);
    free(touched);
    release(held, 7);
    return result;
}

/* Growing output arrays of ngram_tfidf. */
typedef struct {
    int32_t *indices;
    double *data;
    Py_ssize_t size, room;
} Entries;

static int
add_entry(Entries *entries, int32_t column, double value)
{
    if (entries->size == entries->room) {
        Py_ssize_t room = entries->room ? entries->room * 2 : 4096;
        int32_t *indices = realloc(entries->indices, (size_t)room * sizeof(int32_t));
        if (indices == NULL)
            return -1;
        entries->indices = indices;
        double *data = realloc(entries->data, (size_t)room * sizeof(double));
        if (data == NULL)
            return -1;
        entries->data = data;
        entries->room = room;
    }
    entries->indices[entries->size] = column;
    entries->data[entries->size] = value;
    entries->size++;
    return 0;
}

typedef struct {
    const uint64_t *keys;
    const int64_t *columns;
    const int32_t *first;
    Py_ssize_t nkeys, width;
    int slot_bits;
    int32_t *counts;
    int32_t *touched;
    Py_ssize_t found;
} Vocabulary;

static inline void
count_key(Vocabulary *v, uint64_t key)
{
    uint64_t slot = (key * FIBONACCI) >> (64 - v->slot_bits);
    int32_t low = v->first[slot], high = v->first[slot + 1];
    if (low < 0 || high > v->nkeys)
        return; /* a slot table out of order: read nothing outside keys */
    for (int32_t i = low; i < high; i++) {
        if (v->keys[i] == key) {
            int64_t column = v->columns[i];
            if (column >= 0 && column < v->width && v->counts[column]++ == 0)
                v->touched[v->found++] = (int32_t)column;
            return;
        }
    }
}

/* ngram_tfidf(codes, lengths, rank, keys, columns, first, idf, bits, min_n, max_n,
 *             sublinear, l2) -> (indptr bytes of int32, indices bytes of int32, data bytes
 *             of float64)
 *   codes: uint32 code points of the texts end to end, each split at whitespace as
 *   str.split() splits and its words padded as scikit-learn pads them (" w1  w2 ");
 *   lengths: int64 code points per text; rank: uint16 rank of each code point (0: not in the
 *   vocabulary); keys: uint64 vocabulary keys grouped by slot; columns: int64 column of each
 *   key; first: int32 where each of the 2**b slots begins in keys (2**b + 1 entries);
 *   idf: float64 per column. Columns of a row are in order of first occurrence. */
static PyObject *
ngram_tfidf(PyObject *self, PyObject *args)
{
    PyObject *objects[7];
    Held held[7] = {{0}};
    static const Py_ssize_t sizes[7] = {4, 8, 2, 8, 8, 4, 8};
    static const char *names[7] = {"codes", "lengths", "rank", "keys",
                                   "columns", "first", "idf"};
    int bits, min_n, max_n, sublinear, l2;
    Entries entries = {0};
    int32_t *indptr = NULL;
    uint32_t *text = NULL;
    Vocabulary v = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOOOiiipp", &objects[0], &objects[1], &objects[2],
                          &objects[3], &objects[4], &objects[5], &objects[6], &bits, &min_n,
                          &max_n, &sublinear, &l2))
        return NULL;
    for (int i = 0; i < 7; i++)
        if (take(objects[i], &held[i], sizes[i], 0, names[i]) < 0)
            goto done;
    if (bits < 1 || min_n < 1 || max_n < min_n || bits * max_n > KEY_BITS) {
        PyErr_SetString(PyExc_ValueError, "ngram_tfidf: n-gram sizes do not fit the keys");
        goto done;
    }
    {
        const uint32_t *codes = held[0].view.buf;
        const int64_t *lengths = held[1].view.buf;
        const uint16_t *rank = held[2].view.buf;
        const double *idf = held[6].view.buf;
        Py_ssize_t size = held[0].view.len / 4, texts = held[1].view.len / 8;
        v.keys = held[3].view.buf;
        v.columns = held[4].view.buf;
        v.first = held[5].view.buf;
        v.nkeys = held[3].view.len / 8;
        v.width = held[6].view.len / 8;
        Py_ssize_t slots = held[5].view.len / 4 - 1;
        v.slot_bits = 0;
        while (v.slot_bits < 31 && ((Py_ssize_t)1 << v.slot_bits) < slots)
            v.slot_bits++;
        if (held[2].view.len / 2 != UNICODE_SIZE || held[4].view.len / 8 != v.nkeys ||
            slots < 2 || ((Py_ssize_t)1 << v.slot_bits) != slots) {
            PyErr_SetString(PyExc_ValueError, "ngram_tfidf: vocabulary arrays do not agree");
            goto done;
        }
        v.counts = calloc((size_t)(v.width ? v.width : 1), sizeof(int32_t));
        v.touched = malloc((size_t)(v.width ? v.width : 1) * sizeof(int32_t));
        indptr = malloc((size_t)(texts + 1) * sizeof(int32_t));
        /* A text of k code points pads to at most 2k + 1 ("a b" -> " a  b "). */
        int64_t longest = 0;
        for (Py_ssize_t t = 0; t < texts; t++)
            longest = lengths[t] > longest ? lengths[t] : longest;
        text = malloc((size_t)(2 * (longest < size ? longest : size) + 2) * sizeof(uint32_t));
        if (v.counts == NULL || v.touched == NULL || indptr == NULL || text == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        indptr[0] = 0;
        Py_ssize_t at = 0;
        for (Py_ssize_t t = 0; t < texts; t++) {
            int64_t raw_length = lengths[t];
            if (raw_length < 0 || raw_length > size - at) {
                PyErr_SetString(PyExc_ValueError, "ngram_tfidf: lengths exceed the codes");
                goto done;
            }
            /* The text's words (str.split's) padded as scikit-learn pads them:
             * " w1  w2 " in the scratch buffer; n-grams never cross words. */
            const uint32_t *raw = codes + at;
            int64_t length = 0;
            for (int64_t i = 0; i < raw_length;) {
                while (i < raw_length && Py_UNICODE_ISSPACE(raw[i]))
                    i++;
                if (i == raw_length)
                    break;
                text[length++] = 32;
                while (i < raw_length && !Py_UNICODE_ISSPACE(raw[i]))
                    text[length++] = raw[i++];
                text[length++] = 32;
            }
            v.found = 0;
            /* Padded words: a space, letters, a space; the next word starts after it. */
            int64_t start = 0;
            while (start < length) {
                int64_t end = start + 1;
                while (end < length && text[end] != 32)
                    end++;
                int64_t word = end - start + 1;
                for (int64_t p = start; p <= end; p++) {
                    uint64_t key = 0;
                    for (int n = 1; n <= max_n && p + n - 1 <= end; n++) {
                        uint32_t code = text[p + n - 1];
                        uint64_t r = code < UNICODE_SIZE ? rank[code] : 0;
                        key = (key << bits) | r;
                        if (n >= min_n)
                            count_key(&v, key | ((uint64_t)n << KEY_BITS));
                    }
                }
                if (word < min_n) {
                    /* scikit-learn counts a word shorter than min_n once, whole. */
                    uint64_t key = 0;
                    for (int64_t p = start; p <= end; p++) {
                        uint32_t code = text[p];
                        key = (key << bits) | (code < UNICODE_SIZE ? rank[code] : 0);
                    }
                    count_key(&v, key | ((uint64_t)word << KEY_BITS));
                }
                start = end + 1;
            }
            double norm = 0.0;
            Py_ssize_t row_start = entries.size;
            for (Py_ssize_t k = 0; k < v.found; k++) {
                int32_t column = v.touched[k];
                double tf = (double)v.counts[column];
                double value = (sublinear ? log(tf) + 1.0 : tf) * idf[column];
                norm += value * value;
                v.counts[column] = 0;
                if (add_entry(&entries, column, value) < 0) {
                    PyErr_NoMemory();
                    goto done;
                }
            }
            if (l2 && norm > 0.0) {
                norm = sqrt(norm);
                for (Py_ssize_t k = row_start; k < entries.size; k++)
                    entries.data[k] /= norm;
            }
            if (entries.size > INT32_MAX) {
                PyErr_SetString(PyExc_OverflowError, "ngram_tfidf: too many entries");
                goto done;
            }
            indptr[t + 1] = (int32_t)entries.size;
            at += raw_length;
        }
        PyObject *a = PyBytes_FromStringAndSize((const char *)indptr,
                                                (texts + 1) * (Py_ssize_t)sizeof(int32_t));
        PyObject *b = PyBytes_FromStringAndSize((const char *)entries.indices,
                                                entries.size * (Py_ssize_t)sizeof(int32_t));
        PyObject *c = PyBytes_FromStringAndSize((const char *)entries.data,
                                                entries.size * (Py_ssize_t)sizeof(double));
        if (a && b && c)
            result = PyTuple_Pack(3, a, b, c);
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(c);
    }
done:
    free(text);
    free(entries.indices);
    free(entries.data);
    free(indptr);
    free(v.counts);
    free(v.touched);
    release(held, 7);
    return result;
}


/* The characters of a str argument, or -1 with a TypeError naming the function. */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Text;

static int
text_of(PyObject *arg, const char *name, Text *text)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s: a str expected", name);
        return -1;
    }
    if (PyUnicode_READY(arg) < 0)
        return -1;
    text->kind = PyUnicode_KIND(arg);
    text->data = PyUnicode_DATA(arg);
    text->n = PyUnicode_GET_LENGTH(arg);
    return 0;
}

/* evasion_hints: one pass over a normalised text for the cheap hints of classifiers.evasion,
 * as a bit mask (the HINT_* constants there). Each bit is what the regular expression named
 * beside it finds, character classes as Python's re reads them (a letter is [^\W\d_]:
 * alphanumeric and not a decimal digit); the two marked "necessary" are set whenever their
 * expressions could match, which then decide. */
enum {
    HINT_SYMBOL = 1,   /* _SYMBOL_RE: an emoji, bullet, underscore or asterisk */
    HINT_LEET = 2,     /* _LEET_I_RE: ! or | between two letters */
    HINT_DASHES = 4,   /* necessary for _SAID_ALOUD_RE, _SYLLABLES_RE: x-abcd-y */
    HINT_ARTICLE = 8,  /* necessary for _SPACED_ARTICLE_RE: "ال " before an Arabic letter */
    HINT_BETWEEN = 16, /* _BETWEEN_SEPARATORS_RE: a letter alone between separators */
    HINT_DIGIT = 32,   /* _DIGIT_JOIN_RE: a digit, @ or $ next to a letter */
    HINT_SPACED = 64,  /* _SPACED_RE, _SPACED_AT_START_RE: three letters between spaces */
    HINT_SCRIPTS = 128, /* _scripts_meet: a Latin letter touching a Cyrillic or Greek one */
    HINT_HASH = 256,   /* "#" in the text */
};

static inline int
is_letter(Py_UCS4 c)
{
    if (c < 128)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    return Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c);
}

static inline int
is_separator(Py_UCS4 c)
{
    switch (c) {
    case '.': case '*': case '-': case '_': case '|': case '/': case '+': case '~':
    case 0xb7: case 0x2022: case 0x2219: case 0x22c5: case 0xfe0f:
        return 1;
    }
    return (c >= 0x2010 && c <= 0x2015) || (c >= 0x2190 && c <= 0x2bff) ||
           (c >= 0x1f000 && c <= 0x1faff);
}

static inline int
is_symbol(Py_UCS4 c)
{
    switch (c) {
    case '*': case '_': case 0xb7: case 0x2022: case 0x2027: case 0x200d: case 0xfe0f:
        return 1;
    }
    return (c >= 0x2190 && c <= 0x2bff) || (c >= 0x1f000 && c <= 0x1faff);
}

static inline int
is_latin(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 0xdf && c <= 0x24f);
}

static inline int
is_greek_or_cyrillic(Py_UCS4 c)
{
    return c >= 0x370 && c <= 0x52f;
}

static PyObject *
evasion_hints(PyObject *self, PyObject *arg)
{
    Text text;
    if (text_of(arg, "evasion_hints", &text) < 0)
        return NULL;
    int kind = text.kind;
    const void *data = text.data;
    Py_ssize_t n = text.n;
    long bits = 0;
    int ascii_lower = 0, meet = 0;
#define AT(k) ((k) >= 0 && (k) < n ? PyUnicode_READ(kind, data, (k)) : (Py_UCS4)0x110000)
#define LETTER_AT(k) ((k) >= 0 && (k) < n && is_letter(PyUnicode_READ(kind, data, (k))))
    Py_UCS4 previous = 0x110000;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 'a' && c <= 'z')
            ascii_lower = 1;
        if (!meet && ((is_latin(c) && is_greek_or_cyrillic(previous)) ||
                      (is_greek_or_cyrillic(c) && is_latin(previous))))
            meet = 1;
        previous = c;
        if (c < 128 && is_letter(c))
            continue; /* the common case: nothing below starts at a Latin letter */
        if (is_symbol(c))
            bits |= HINT_SYMBOL;
        if (is_separator(c)) {
            /* c, an optional space, a letter, an optional space, a separator */
            Py_ssize_t j = i + 1;
            if (AT(j) == ' ')
                j++;
            if (LETTER_AT(j)) {
                j++;
                if (AT(j) == ' ')
                    j++;
                if (j < n && is_separator(AT(j)))
                    bits |= HINT_BETWEEN;
            }
        }
        switch (c) {
        case '!': case '|':
            if (LETTER_AT(i - 1) && LETTER_AT(i + 1))
                bits |= HINT_LEET;
            break;
        case '-':
            if (LETTER_AT(i - 1)) {
                Py_ssize_t j = i + 1;
                while (j < n && j - i <= 5 && LETTER_AT(j))
                    j++;
                if (j > i + 1 && j - i <= 5 && AT(j) == '-' && LETTER_AT(j + 1))
                    bits |= HINT_DASHES;
            }
            break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        case '8': case '9': case '@': case '$':
            if (LETTER_AT(i - 1) || LETTER_AT(i + 1))
                bits |= HINT_DIGIT;
            break;
        case '#':
            bits |= HINT_HASH;
            break;
        case ' ':
            /* " x y z" not followed by a letter or digit */
            if (LETTER_AT(i + 1) && AT(i + 2) == ' ' && LETTER_AT(i + 3) && AT(i + 4) == ' ' &&
                LETTER_AT(i + 5) && !(i + 6 < n && Py_UNICODE_ISALNUM(AT(i + 6))))
                bits |= HINT_SPACED;
            break;
        case 0x627: /* alef */
            if (AT(i + 1) == 0x644 && AT(i + 2) == ' ' && AT(i + 3) >= 0x621 && AT(i + 3) <= 0x64a)
                bits |= HINT_ARTICLE;
            break;
        }
    }
    /* "x y z" at the very start */
    if (LETTER_AT(0) && AT(1) == ' ' && LETTER_AT(2) && AT(3) == ' ' && LETTER_AT(4) &&
        !(5 < n && Py_UNICODE_ISALNUM(AT(5))))
        bits |= HINT_SPACED;
    if (meet && ascii_lower)
        bits |= HINT_SCRIPTS;
#undef AT
#undef LETTER_AT
    return PyLong_FromLong(bits);
}

/* split_words: classifiers.spelling.split_words in one pass: the words of a normalised text
 * split at whitespace (str.split's), at - _ and the dashes U+2010-U+2015, and at a dot with
 * three letters on each side ("халифат.сарбаздары"; not "ка.и.да"). */
static inline int
is_word_break(Py_UCS4 c)
{
    return c == '-' || c == '_' || (c >= 0x2010 && c <= 0x2015) || Py_UNICODE_ISSPACE(c);
}

/* The words of text (as split_words splits them) appended to words; with a table (a dict or
 * a dict subclass with __missing__), each word's value there, a small int, appended to marks. */
static int
split_into(PyObject *arg, const char *name, PyObject *words, PyObject *table, char **marks,
           Py_ssize_t *count, Py_ssize_t *room)
{
    Text text;
    if (text_of(arg, name, &text) < 0)
        return -1;
    int kind = text.kind;
    const void *data = text.data;
    Py_ssize_t n = text.n;
    Py_ssize_t start = -1;
    for (Py_ssize_t i = 0; i <= n; i++) {
        int cut = 1;
        if (i < n) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c == '.') {
                cut = i >= 3 && i + 3 < n;
                for (Py_ssize_t k = 1; cut && k <= 3; k++)
                    cut = is_letter(PyUnicode_READ(kind, data, i - k)) &&
                          is_letter(PyUnicode_READ(kind, data, i + k));
            }
            else
                cut = is_word_break(c);
        }
        if (!cut) {
            if (start < 0)
                start = i;
            continue;
        }
        if (start < 0)
            continue;
        PyObject *word = PyUnicode_Substring(arg, start, i);
        start = -1;
        if (word == NULL || PyList_Append(words, word) < 0) {
            Py_XDECREF(word);
            return -1;
        }
        if (table != NULL) {
            /* The dict's own lookup first; a missing word goes through __missing__. */
            PyObject *value = PyDict_GetItemWithError(table, word);
            if (value != NULL)
                Py_INCREF(value);
            else if (!PyErr_Occurred())
                value = PyObject_GetItem(table, word);
            Py_DECREF(word);
            if (value == NULL)
                return -1;
            long mark = PyLong_AsLong(value);
            Py_DECREF(value);
            if (mark == -1 && PyErr_Occurred())
                return -1;
            if (mark < 0 || mark > 255) {
                PyErr_Format(PyExc_ValueError, "%s: marks are 0-255, got %ld", name, mark);
                return -1;
            }
            if (*count == *room) {
                Py_ssize_t larger = *room ? 2 * *room : 64;
                char *grown = realloc(*marks, (size_t)larger);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                *marks = grown;
                *room = larger;
            }
            (*marks)[(*count)++] = (char)mark;
        }
        else
            Py_DECREF(word);
    }
    return 0;
}

static PyObject *
split_words(PyObject *self, PyObject *arg)
{
    PyObject *words = PyList_New(0);
    if (words == NULL)
        return NULL;
    if (split_into(arg, "split_words", words, NULL, NULL, NULL, NULL) < 0) {
        Py_DECREF(words);
        return NULL;
    }
    return words;
}

/* split_marked(text, table) -> (words, marks): split_words(text), and bytes holding
 * table[word] for each word (classifiers.spelling.NameStarts: whether a name can begin
 * there), so that most posts are settled by a byte search. */
static PyObject *
split_marked(PyObject *self, PyObject *args)
{
    PyObject *arg, *table;
    if (!PyArg_ParseTuple(args, "OO!", &arg, &PyDict_Type, &table))
        return NULL;
    PyObject *words = PyList_New(0);
    if (words == NULL)
        return NULL;
    char *marks = NULL;
    Py_ssize_t count = 0, room = 0;
    PyObject *result = NULL;
    if (split_into(arg, "split_marked", words, table, &marks, &count, &room) == 0) {
        PyObject *bytes = PyBytes_FromStringAndSize(marks ? marks : "", count);
        if (bytes != NULL)
            result = PyTuple_Pack(2, words, bytes);
        Py_XDECREF(bytes);
    }
    free(marks);
    Py_DECREF(words);
    return result;
}

/* first_in(text, bitmap) -> the index of text's first character whose bit is set in bitmap
 * (bytes of 0x110000 bits, least significant bit first), or -1: a character-class search
 * without the regular-expression engine. */
static PyObject *
first_in(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer bits;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &bits))
        return NULL;
    if (bits.len != UNICODE_SIZE / 8) {
        PyBuffer_Release(&bits);
        PyErr_SetString(PyExc_ValueError, "first_in: a bitmap of 0x110000 bits expected");
        return NULL;
    }
    const unsigned char *map = bits.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), found = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (map[c >> 3] & (1u << (c & 7))) {
            found = i;
            break;
        }
    }
    PyBuffer_Release(&bits);
    return PyLong_FromSsize_t(found);
}

/* script_letters(text) -> (Cyrillic, Latin, Arabic) letter counts as
 * classifiers.language_rules.script_counts counts them from UTF-8 lead bytes: D0-D4 are
 * U+0400-U+053F; C3-C9 U+00C0-U+027F, with the ASCII letters; D8-DB U+0600-U+06FF and DD
 * U+0740-U+077F. */
static PyObject *
script_letters(PyObject *self, PyObject *arg)
{
    Text text;
    if (text_of(arg, "script_letters", &text) < 0)
        return NULL;
    int kind = text.kind;
    const void *data = text.data;
    Py_ssize_t n = text.n, cyrillic = 0, latin = 0, arabic = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128)
            latin += ((c | 32) >= 'a' && (c | 32) <= 'z');
        else if (c >= 0x400 && c <= 0x53f)
            cyrillic++;
        else if (c >= 0xc0 && c <= 0x27f)
            latin++;
        else if ((c >= 0x600 && c <= 0x6ff) || (c >= 0x740 && c <= 0x77f))
            arabic++;
    }
    return Py_BuildValue("nnn", cyrillic, latin, arabic);
}

static PyMethodDef methods[] = {
    {"walk_scores", walk_scores, METH_VARARGS,
     "walk_scores(data, lengths, nextmove, states, ptc, pc, scores): py3langid's "
     "naive Bayes scores of each text, written into scores."},
    {"ngram_tfidf", ngram_tfidf, METH_VARARGS,
     "ngram_tfidf(codes, lengths, rank, keys, columns, first, idf, bits, min_n, max_n, "
     "sublinear, l2) -> (indptr, indices, data) of the char_wb TF-IDF rows."},
    {"evasion_hints", evasion_hints, METH_O,
     "evasion_hints(text) -> the bit mask of classifiers.evasion's cheap hints."},
    {"split_words", split_words, METH_O,
     "split_words(text) -> the words of a normalised text (classifiers.spelling.split_words)."},
    {"split_marked", split_marked, METH_VARARGS,
     "split_marked(text, table) -> (split_words(text), bytes of table[word] per word)."},
    {"first_in", first_in, METH_VARARGS,
     "first_in(text, bitmap) -> index of the first character in the bitmap's set, or -1."},
    {"script_letters", script_letters, METH_O,
     "script_letters(text) -> (Cyrillic, Latin, Arabic) letters, as script_counts counts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "classifiers._native",
    "Counting loops of language identification and of the topic model, in C.", -1, methods,
};

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 ""
#endif

PyMODINIT_FUNC
PyInit__native(void)
{
    PyObject *m = PyModule_Create(&module);
    /* setup.py stamps the build with this file's SHA-256 (classifiers.native checks it). */
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
