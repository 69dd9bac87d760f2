/* The compiled event core of kizuna.networking.engine.Simulator.
 *
 * A binary heap of C structs ordered by (time_ps, seq) (one 128-bit key): the same total order as the pure-Python
 * engine's heap of (time, seq, fn, args) tuples, so both run the same events in the same order.
 * Two kinds of entry: a call fn(*args) (kind CALL) and a generator-process step that sends a
 * value into a generator (kind STEP). `run` pops and dispatches in C; `schedule` is a fastcall
 * method. Times are int64 picoseconds (about 106 days); a time past that raises NetworkError.
 *
 * engine.py calls `configure(Signal, NetworkError)` once so the core knows what a process may
 * yield besides an int, and which error to raise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { KIND_CALL = 0, KIND_STEP = 1 };

typedef unsigned __int128 Key; /* (time << 64) | seq: one comparison orders by time, then seq */

typedef struct {
    Key key;
    PyObject *a; /* CALL: the callable; STEP: the generator */
    PyObject *b; /* CALL: the argument tuple; STEP: the value to send */
    int kind;
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *heap;
    Py_ssize_t size;
    Py_ssize_t cap;
    int64_t now;
    uint64_t seq;
    long long events_processed;
    PyObject *cancelled; /* a set of event ids, or NULL */
} Core;

static PyObject *SignalType = NULL;   /* engine.Signal */
static PyObject *NetworkError = NULL; /* kizuna.errors.NetworkError */

static inline int64_t entry_time(const Entry *e) { return (int64_t)(uint64_t)(e->key >> 64); }

static inline uint64_t entry_seq(const Entry *e) { return (uint64_t)e->key; }

static int heap_push(Core *c, int64_t t, PyObject *a, PyObject *b, int kind) {
    if (c->size == c->cap) {
        Py_ssize_t ncap = c->cap ? c->cap * 2 : 64;
        Entry *nh = PyMem_Realloc(c->heap, (size_t)ncap * sizeof(Entry));
        if (!nh) {
            PyErr_NoMemory();
            return -1;
        }
        c->heap = nh;
        c->cap = ncap;
    }
    Entry e = {((Key)(uint64_t)t << 64) | (Key)(++c->seq), a, b, kind};
    Py_INCREF(a);
    Py_INCREF(b);
    Entry *h = c->heap;
    Py_ssize_t i = c->size++;
    while (i > 0) {
        Py_ssize_t p = (i - 1) >> 1;
        if (e.key >= h[p].key) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
    return 0;
}

/* Remove the smallest entry into *out (the caller owns its references). Floyd's variant: the
 * hole at the root walks down to a leaf along the smaller children (one comparison a level),
 * then the last entry, usually among the latest, sifts up from there (a step or two). */
static void heap_pop(Core *c, Entry *out) {
    Entry *h = c->heap;
    *out = h[0];
    Entry last = h[--c->size];
    Py_ssize_t n = c->size, i = 0;
    if (n == 0) return;
    for (;;) {
        Py_ssize_t l = 2 * i + 1;
        if (l >= n) break;
        Py_ssize_t m = (l + 1 < n && h[l + 1].key < h[l].key) ? l + 1 : l;
        h[i] = h[m];
        i = m;
    }
    while (i > 0) {
        Py_ssize_t p = (i - 1) >> 1;
        if (h[p].key <= last.key) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = last;
}

static PyObject *raise_network(const char *fmt, ...) {
    va_list vargs;
    va_start(vargs, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, vargs);
    va_end(vargs);
    if (msg) {
        PyErr_SetObject(NetworkError ? NetworkError : PyExc_ValueError, msg);
        Py_DECREF(msg);
    }
    return NULL;
}

/* A delay as int64 >= 0: exact ints fast, anything else through type(self)._check_delay. */
static int as_delay(Core *c, PyObject *obj, const char *name, int64_t *out) {
    if (PyLong_CheckExact(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (v == -1 && PyErr_Occurred()) return -1;
        if (!overflow && v >= 0) {
            *out = v;
            return 0;
        }
    }
    PyObject *checked = PyObject_CallMethod((PyObject *)c, "_check_delay", "Os", obj, name);
    if (!checked) return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(checked, &overflow);
    Py_DECREF(checked);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow || v < 0) {
        raise_network("%s is past the engine's int64 picosecond clock (got %R)", name, obj);
        return -1;
    }
    *out = v;
    return 0;
}

static int at_time(Core *c, int64_t delay, int64_t *out) {
    if (delay > INT64_MAX - c->now) {
        raise_network("an event at %lld + %lld ps is past the engine's int64 picosecond clock "
                      "(about 106 days)", (long long)c->now, (long long)delay);
        return -1;
    }
    *out = c->now + delay;
    return 0;
}

static PyObject *Core_schedule(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "schedule(delay_ps, fn, *args) needs a delay and a callable");
        return NULL;
    }
    int64_t delay, t;
    if (as_delay(c, args[0], "delay_ps", &delay) < 0 || at_time(c, delay, &t) < 0) return NULL;
    PyObject *tuple = PyTuple_New(nargs - 2);
    if (!tuple) return NULL;
    for (Py_ssize_t i = 2; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(tuple, i - 2, args[i]);
    }
    int rc = heap_push(c, t, args[1], tuple, KIND_CALL);
    Py_DECREF(tuple);
    if (rc < 0) return NULL;
    return PyLong_FromUnsignedLongLong(c->seq);
}

/* _resume(gen, value, delay_ps=0): step the process `gen` with `value` after delay_ps. */
static PyObject *Core_resume(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "_resume(gen, value, delay_ps=0)");
        return NULL;
    }
    int64_t delay = 0, t;
    if (nargs == 3 && as_delay(c, args[2], "delay_ps", &delay) < 0) return NULL;
    if (at_time(c, delay, &t) < 0 || heap_push(c, t, args[0], args[1], KIND_STEP) < 0) return NULL;
    return PyLong_FromUnsignedLongLong(c->seq);
}

/* Send `value` into `gen`; schedule its next step or park it on a Signal. 0 ok, -1 error. */
static int step(Core *c, PyObject *gen, PyObject *value) {
    PyObject *what = NULL;
    PySendResult r = PyIter_Send(gen, value, &what);
    if (r == PYGEN_ERROR) return -1;
    if (r == PYGEN_RETURN) {
        Py_XDECREF(what);
        return 0;
    }
    int rc = 0;
    if (PyLong_CheckExact(what)) {
        int overflow = 0;
        long long d = PyLong_AsLongLongAndOverflow(what, &overflow);
        int64_t t;
        if (d == -1 && PyErr_Occurred()) {
            rc = -1;
        } else if (overflow > 0) {
            raise_network("a process yielded a delay past the engine's int64 picosecond clock (%R ps)", what);
            rc = -1;
        } else if (overflow < 0 || d < 0) {
            raise_network("a process yielded a negative delay (%R ps)", what);
            rc = -1;
        } else if (at_time(c, d, &t) < 0 || heap_push(c, t, gen, Py_None, KIND_STEP) < 0) {
            rc = -1;
        }
    } else if (SignalType && PyObject_TypeCheck(what, (PyTypeObject *)SignalType)) {
        PyObject *waiting = PyObject_GetAttrString(what, "_waiting");
        if (!waiting) {
            rc = -1;
        } else {
            rc = PyList_Check(waiting) ? PyList_Append(waiting, gen) : -1;
            if (rc < 0 && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Signal._waiting must be a list");
            Py_DECREF(waiting);
        }
    } else {
        raise_network("a process may yield an int (picoseconds to sleep) or a Signal (got %R)", what);
        rc = -1;
    }
    Py_DECREF(what);
    return rc;
}

static PyObject *Core_step(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_step(gen, value)");
        return NULL;
    }
    if (step(c, args[0], args[1]) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Core_run(Core *c, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"until_ps", "max_events", NULL};
    PyObject *until = Py_None, *max_events = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:run", kwlist, &until, &max_events)) return NULL;
    long long limit = -1;
    if (max_events != Py_None) {
        PyObject *as_int = PyNumber_Index(max_events);
        if (!as_int) return NULL;
        limit = PyLong_AsLongLong(as_int);
        Py_DECREF(as_int);
        if (limit == -1 && PyErr_Occurred()) return NULL;
        if (limit < 0) limit = -2; /* a negative limit never matches: run to the end, as the Python loop */
    }
    int has_end = until != Py_None;
    int64_t end = 0;
    if (has_end && as_delay(c, until, "until_ps", &end) < 0) return NULL;
    long long n = 0;
    int failed = 0;
    while (c->size && n != limit) {
        if (has_end && entry_time(&c->heap[0]) > end) break;
        Entry e;
        heap_pop(c, &e);
        if (c->cancelled && PySet_GET_SIZE(c->cancelled)) {
            PyObject *key = PyLong_FromUnsignedLongLong(entry_seq(&e));
            if (!key) {
                failed = 1;
            } else {
                int hit = PySet_Discard(c->cancelled, key);
                Py_DECREF(key);
                if (hit < 0) failed = 1;
                if (hit != 0) {
                    Py_DECREF(e.a);
                    Py_DECREF(e.b);
                    if (failed) break;
                    continue;
                }
            }
            if (failed) {
                Py_DECREF(e.a);
                Py_DECREF(e.b);
                break;
            }
        }
        c->now = entry_time(&e);
        n++;
        if (e.kind == KIND_CALL) {
            PyObject *res = PyObject_Vectorcall(e.a, &PyTuple_GET_ITEM(e.b, 0), PyTuple_GET_SIZE(e.b), NULL);
            if (res) Py_DECREF(res); else failed = 1;
        } else if (step(c, e.a, e.b) < 0) {
            failed = 1;
        }
        Py_DECREF(e.a);
        Py_DECREF(e.b);
        if (failed) break;
    }
    c->events_processed += n;
    if (failed) return NULL;
    if (has_end && end > c->now && (!c->size || entry_time(&c->heap[0]) > end)) c->now = end;
    return PyLong_FromLongLong(n);
}

static PyObject *Core_cancel(Core *c, PyObject *event_id) {
    PyObject *zero = PyLong_FromLong(0);
    if (!zero) return NULL;
    int positive = PyObject_RichCompareBool(event_id, zero, Py_GT);
    Py_DECREF(zero);
    if (positive < 0) return NULL;
    if (positive) {
        if (!c->cancelled && !(c->cancelled = PySet_New(NULL))) return NULL;
        if (PySet_Add(c->cancelled, event_id) < 0) return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Core_get_now(Core *c, void *closure) { return PyLong_FromLongLong(c->now); }

static int Core_set_now(Core *c, PyObject *value, void *closure) {
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "now_ps cannot be deleted");
        return -1;
    }
    int64_t v;
    if (as_delay(c, value, "now_ps", &v) < 0) return -1;
    c->now = v;
    return 0;
}

static PyObject *Core_get_events(Core *c, void *closure) { return PyLong_FromLongLong(c->events_processed); }

static int Core_set_events(Core *c, PyObject *value, void *closure) {
    long long v = value ? PyLong_AsLongLong(value) : -1;
    if (v == -1 && (!value || PyErr_Occurred())) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "events_processed cannot be deleted");
        return -1;
    }
    c->events_processed = v;
    return 0;
}

static PyObject *Core_get_pending(Core *c, void *closure) { return PyLong_FromSsize_t(c->size); }

static PyObject *Core_get_seq(Core *c, void *closure) { return PyLong_FromUnsignedLongLong(c->seq); }

static int Core_traverse(Core *c, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(c));
    for (Py_ssize_t i = 0; i < c->size; i++) {
        Py_VISIT(c->heap[i].a);
        Py_VISIT(c->heap[i].b);
    }
    Py_VISIT(c->cancelled);
    return 0;
}

static int Core_clear(Core *c) {
    Py_ssize_t n = c->size;
    c->size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(c->heap[i].a);
        Py_CLEAR(c->heap[i].b);
    }
    Py_CLEAR(c->cancelled);
    return 0;
}

static void Core_dealloc(Core *c) {
    PyTypeObject *tp = Py_TYPE(c);
    PyObject_GC_UnTrack(c);
    Core_clear(c);
    PyMem_Free(c->heap);
    c->heap = NULL;
    tp->tp_free((PyObject *)c);
    Py_DECREF(tp);
}

static PyMethodDef Core_methods[] = {
    {"schedule", (PyCFunction)(void (*)(void))Core_schedule, METH_FASTCALL,
     "schedule(delay_ps, fn, *args) -> event id: run fn(*args) delay_ps picoseconds from now."},
    {"_resume", (PyCFunction)(void (*)(void))Core_resume, METH_FASTCALL,
     "_resume(gen, value, delay_ps=0): send value into the process gen after delay_ps."},
    {"_step", (PyCFunction)(void (*)(void))Core_step, METH_FASTCALL,
     "_step(gen, value): send value into the process gen now."},
    {"run", (PyCFunction)(void (*)(void))Core_run, METH_VARARGS | METH_KEYWORDS,
     "run(until_ps=None, max_events=None) -> number of events run."},
    {"cancel", (PyCFunction)Core_cancel, METH_O, "cancel(event_id): drop a scheduled event."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Core_getset[] = {
    {"now_ps", (getter)Core_get_now, (setter)Core_set_now, "The current time in picoseconds.", NULL},
    {"events_processed", (getter)Core_get_events, (setter)Core_set_events, "Events run so far.", NULL},
    {"pending", (getter)Core_get_pending, NULL,
     "Events still scheduled (cancelled ones included until they are reached).", NULL},
    {"_seq", (getter)Core_get_seq, NULL, "The last event id handed out.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Core_slots[] = {
    {Py_tp_doc, "The compiled heap and loop under kizuna.networking.Simulator."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, Core_dealloc},
    {Py_tp_traverse, Core_traverse},
    {Py_tp_clear, Core_clear},
    {Py_tp_methods, Core_methods},
    {Py_tp_getset, Core_getset},
    {0, NULL},
};

static PyType_Spec Core_spec = {
    "kizuna.networking._evcore.EventCore",
    sizeof(Core),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    Core_slots,
};

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *signal, *error;
    if (!PyArg_ParseTuple(args, "OO:configure", &signal, &error)) return NULL;
    if (!PyType_Check(signal) || !PyType_Check(error)) {
        PyErr_SetString(PyExc_TypeError, "configure(Signal, NetworkError) takes two classes");
        return NULL;
    }
    Py_INCREF(signal);
    Py_XSETREF(SignalType, signal);
    Py_INCREF(error);
    Py_XSETREF(NetworkError, error);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS, "configure(Signal, NetworkError): the classes the core needs."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef evcore_module = {
    PyModuleDef_HEAD_INIT, "_evcore", "The compiled event core of kizuna.networking.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__evcore(void) {
    PyObject *m = PyModule_Create(&evcore_module);
    if (!m) return NULL;
    PyObject *type = PyType_FromSpec(&Core_spec);
    if (!type || PyModule_AddObject(m, "EventCore", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
