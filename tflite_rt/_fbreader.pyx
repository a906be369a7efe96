# cython: boundscheck=False, wraparound=False, cdivision=True
"""The compiled half of `_flatbuffer.read`: the same bounds-checked walk of an untrusted
FlatBuffer, driven by the same tables of `_schema`, with the same limits (depth, tables, work
budget), the same `FlatBufferError` messages and the same result (a tree of `Table`s whose
scalar vectors are read-only numpy views into the buffer). Python's per-field struct unpacking
and attribute setting cost more than everything else in loading a model; here each table is one
dict copy plus the fields it actually holds.

Asked to, it reads tables of chosen types lean (`LeanTable`): their scalars and their int, long
and float vectors are checked exactly as always but left in the buffer, for a caller that reads
them in C and would only throw the Python objects away."""
import numpy as np

cimport cython
cimport numpy as cnp
from cpython.dict cimport PyDict_Copy, PyDict_SetItem
from cpython.object cimport PyObject, PyTypeObject, newfunc
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

cnp.import_array()

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void *op)
    int PyObject_GenericSetDict(object o, object value, void *context) except -1
    PyTypeObject *Py_TYPE(object o)
    ctypedef int (*descrsetfunc)(PyObject *descr, PyObject *obj, PyObject *value) except -1
    ctypedef struct _DescrType "PyTypeObject":
        descrsetfunc tp_descr_set

cdef extern from "numpy/arrayobject.h":
    object PyArray_NewFromDescr(type subtype, cnp.dtype descr, int nd, cnp.npy_intp *dims,
                                cnp.npy_intp *strides, void *data, int flags, object obj)

# what a lean table does with a slot
cdef enum:
    LEAN_SCALAR = 0       # its value, in `value`
    LEAN_IN_BUFFER = 1    # an int, long or float vector: its offset and length
    LEAN_UNION = 2        # a union member, decoded
    LEAN_DECODED = 3      # anything else, decoded as `field` decodes it

# field kinds
cdef enum:
    K_SCALAR = 0
    K_STRING = 1
    K_TABLE = 2
    K_UNION = 3
    K_VEC_SCALAR = 4
    K_VEC_STRING = 5
    K_VEC_TABLE = 6

# scalar codes, in the order of _SCALAR_NAMES
cdef enum:
    S_BOOL = 0
    S_BYTE = 1
    S_UBYTE = 2
    S_SHORT = 3
    S_USHORT = 4
    S_INT = 5
    S_UINT = 6
    S_LONG = 7
    S_ULONG = 8
    S_FLOAT = 9
    S_DOUBLE = 10

_SCALAR_NAMES = ("bool", "byte", "ubyte", "short", "ushort", "int", "uint", "long", "ulong",
                 "float", "double")
cdef tuple _NO_ARGS = ()
cdef int SCALAR_SIZE[11]
SCALAR_SIZE[:] = [1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8]
_DTYPES = tuple(np.dtype(t).newbyteorder("<") for t in (
    np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
    np.float32, np.float64))


# Its fields hold no Python objects the collector could follow (the decoded ones are plain
# references), and what it refers to is a tree: nothing to track.
@cython.no_gc
cdef class LeanTable:
    def __dealloc__(self):
        cdef int slot
        for slot in range(LEAN_MAX_SLOTS):
            Py_XDECREF(self.decoded[slot])


cdef class _Field:
    cdef object name
    cdef int type_key_slot       # K_UNION in a lean table: the slot of the member's code, or -1
    cdef bint in_buffer          # K_VEC_SCALAR in a lean table: left in the buffer
    cdef object length_what      # its name in a message about a vector's length
    cdef int kind
    cdef int scalar
    cdef _Type target            # K_TABLE, K_VEC_TABLE
    cdef list members            # K_UNION: _Type per union code (None for NONE)
    cdef object type_key         # K_UNION: the name of the field holding the member's code


cdef class _Type:
    cdef object name
    cdef object offset_what      # its name in messages about its vtable offset and vtable
    cdef object vtable_what
    cdef list fields             # _Field per slot
    cdef dict defaults           # every field name -> its default
    cdef bint lean               # read as a LeanTable when the reader is asked to
    cdef int64_t lean_defaults[LEAN_MAX_SLOTS]
    # per slot of a lean table, for its loop to read without touching the _Field: what it does
    # with the slot (LEAN_*) and its scalar code
    cdef int lean_action[LEAN_MAX_SLOTS]
    cdef int lean_scalar[LEAN_MAX_SLOTS]


cdef class _Schema:
    cdef dict types
    cdef type table_class
    cdef newfunc new_table       # table_class's tp_new: no Python call per table
    # table_class's `_type` slot, set through its descriptor's own setter: no lookup of the
    # name in the class per table (None: set as an attribute)
    cdef object type_slot
    cdef descrsetfunc set_type_slot


cdef _Schema _compiled = None


cdef _Schema _compile(tables, unions, enums, table_class, lean_types):
    cdef _Schema schema = _Schema()
    cdef _Type t
    cdef _Field f
    schema.types = {}
    schema.table_class = table_class
    schema.new_table = (<PyTypeObject *>table_class).tp_new
    slot = table_class.__dict__.get("_type")
    schema.type_slot = None
    if slot is not None and (<_DescrType *>Py_TYPE(slot)).tp_descr_set != NULL:
        schema.type_slot = slot
        schema.set_type_slot = (<_DescrType *>Py_TYPE(slot)).tp_descr_set
    for name in tables:
        t = _Type()
        t.name = name
        t.offset_what, t.vtable_what = name + " vtable offset", name + " vtable"
        schema.types[name] = t

    def scalar_of(type_name):
        if type_name in _SCALAR_NAMES:
            return _SCALAR_NAMES.index(type_name)
        enum = enums.get(type_name)
        return _SCALAR_NAMES.index(enum[0]) if enum else -1

    for name, fields in tables.items():
        t = schema.types[name]
        t.fields = []
        t.defaults = {}
        for fname, ftype, default, _dep in fields:
            f = _Field()
            f.name = fname
            f.length_what = fname + " length"
            f.scalar = -1
            f.type_key_slot = -1
            t.defaults[fname] = default
            if scalar_of(ftype) >= 0:
                f.kind, f.scalar = K_SCALAR, scalar_of(ftype)
            elif ftype == "string":
                f.kind = K_STRING
            elif ftype.startswith("union:"):
                f.kind = K_UNION
                f.members = [schema.types.get(m) if i else None
                             for i, m in enumerate(unions[ftype[6:]])]
                f.type_key = fname + "_type"
            elif ftype.startswith("["):
                elem = ftype[1:len(ftype) - 1]
                if scalar_of(elem) >= 0:
                    f.kind, f.scalar = K_VEC_SCALAR, scalar_of(elem)
                elif elem == "string":
                    f.kind = K_VEC_STRING
                else:
                    f.kind, f.target = K_VEC_TABLE, schema.types[elem]
            else:
                f.kind, f.target = K_TABLE, schema.types[ftype]
            t.fields.append(f)
    for name in lean_types:
        _make_lean(schema.types[name], tables[name])
    return schema


cdef _make_lean(_Type t, fields):
    cdef _Field f
    cdef int slot
    if len(t.fields) > LEAN_MAX_SLOTS:
        raise ValueError("%s has too many fields to be read lean" % t.name)
    names = [fname for fname, _ftype, _default, _dep in fields]
    for slot in range(len(t.fields)):
        f = <_Field>t.fields[slot]
        default = fields[slot][2]
        if f.kind == K_SCALAR and (f.scalar == S_FLOAT or f.scalar == S_DOUBLE):
            raise ValueError("%s.%s is a float: lean tables hold integers" % (t.name, f.name))
        t.lean_defaults[slot] = int(default) if f.kind == K_SCALAR and default is not None else 0
        # int, long and float vectors (shapes, indices, scales, zero points) are read in C; byte
        # vectors (custom options) are handed on as they are
        f.in_buffer = f.kind == K_VEC_SCALAR and f.scalar in (S_INT, S_LONG, S_FLOAT)
        if f.kind == K_UNION:
            f.type_key_slot = names.index(f.type_key) if f.type_key in names else -1
        t.lean_action[slot] = (LEAN_SCALAR if f.kind == K_SCALAR else LEAN_IN_BUFFER if f.in_buffer
                               else LEAN_UNION if f.kind == K_UNION else LEAN_DECODED)
        t.lean_scalar[slot] = f.scalar
    t.lean = True


cdef inline int _keep(LeanTable table, int slot, object value) except -1:
    """Stores a decoded field (each slot is read once per table)."""
    if value is not None:
        Py_INCREF(value)
        Py_XDECREF(table.decoded[slot])
        table.decoded[slot] = <PyObject *>value
    return 0


# The set of table offsets a read has seen outlives the read, for the next one to reuse: a
# model's few thousand tables need tens of kilobytes of slots, which a fresh set would allocate,
# clear and grow to on every read. A slot counts only in the epoch that wrote it, so a new read
# clears nothing: it takes the next epoch.
cdef int64_t *_spare_seen = NULL
cdef int _spare_seen_bits = 0
cdef uint32_t _spare_seen_epoch = 0
cdef enum:
    SEEN_MIN_BITS = 10
    SEEN_SPARE_MAX_BITS = 16       # a larger set (a huge model's) is freed, not kept


@cython.final
cdef class _Reader:
    cdef const uint8_t *data
    cdef int64_t size
    cdef int64_t budget
    cdef int64_t tables
    cdef int64_t max_tables
    cdef int max_depth
    cdef object view            # the memoryview every numpy vector keeps alive
    # The offsets of the tables already decoded: an open-addressing set, at most half full. It
    # grows with the tables, where a bitmap over the file would have to be cleared in full,
    # megabytes for a large model, on every read. One allocation: the offsets, then the epoch
    # of each slot (seen_epochs).
    cdef int64_t *seen
    cdef uint32_t *seen_epochs
    cdef int seen_bits          # the set has 1 << seen_bits slots
    cdef int64_t seen_count
    cdef uint32_t seen_epoch    # slots of other epochs are empty
    cdef object error
    cdef _Schema schema
    cdef bint lean

    def __dealloc__(self):
        global _spare_seen, _spare_seen_bits, _spare_seen_epoch
        if self.seen == NULL:
            return
        if _spare_seen == NULL and self.seen_bits <= SEEN_SPARE_MAX_BITS:
            _spare_seen, _spare_seen_bits, _spare_seen_epoch = self.seen, self.seen_bits, self.seen_epoch
        else:
            free(self.seen)
        self.seen = NULL

    cdef int take_seen(self) except -1:
        """Starts the set: the spare one in its next epoch, or a new one."""
        global _spare_seen
        if _spare_seen == NULL:
            self.seen_epoch = 1
            return self.make_seen(SEEN_MIN_BITS)
        self.seen, self.seen_bits = _spare_seen, _spare_seen_bits
        self.seen_epochs = <uint32_t *>(self.seen + (<int64_t>1 << self.seen_bits))
        _spare_seen = NULL
        self.seen_count = 0
        self.seen_epoch = _spare_seen_epoch + 1
        if self.seen_epoch == 0:   # every 2**32 reads: the epochs start again, from cleared slots
            memset(self.seen_epochs, 0, sizeof(uint32_t) << self.seen_bits)
            self.seen_epoch = 1
        return 0

    cdef int make_seen(self, int bits) except -1:
        cdef int64_t *old = self.seen
        cdef uint32_t *old_epochs = self.seen_epochs
        cdef int64_t old_slots = (<int64_t>1 << self.seen_bits) if old != NULL else 0
        cdef int64_t k
        # epoch 0 is no read's: the new slots are empty
        self.seen = <int64_t *>calloc(<size_t>1 << bits, sizeof(int64_t) + sizeof(uint32_t))
        if self.seen == NULL:
            self.seen = old
            raise MemoryError()
        self.seen_epochs = <uint32_t *>(self.seen + (<int64_t>1 << bits))
        self.seen_bits, self.seen_count = bits, 0
        for k in range(old_slots):
            if old_epochs[k] == self.seen_epoch:
                self.mark_seen(old[k])
        free(old)
        return 0

    cdef inline bint mark_seen(self, int64_t pos) except -1:
        """Adds the offset of a table; whether it was there already."""
        cdef int64_t mask = (<int64_t>1 << self.seen_bits) - 1
        cdef int64_t k
        if 2 * (self.seen_count + 1) > mask + 1:
            self.make_seen(self.seen_bits + 1)
            mask = (<int64_t>1 << self.seen_bits) - 1
        # Fibonacci hashing: the top bits of the product mix every bit of the offset
        k = <int64_t>((<uint64_t>pos * <uint64_t>0x9E3779B97F4A7C15) >> (64 - self.seen_bits))
        while self.seen_epochs[k] == self.seen_epoch:
            if self.seen[k] == pos:
                return True
            k = (k + 1) & mask
        self.seen[k] = pos
        self.seen_epochs[k] = self.seen_epoch
        self.seen_count += 1
        return False

    cdef fail(self, msg):
        raise self.error("malformed model: " + msg)

    cdef inline int spend(self, int64_t units) except -1:
        self.budget -= units
        if self.budget < 0:
            self.fail("its tables reference each other far more than its size allows")
        return 0

    cdef inline int check(self, int64_t pos, int64_t size, what) except -1:
        if pos < 0 or size < 0 or pos + size > self.size:
            return self.outside(pos, size, what)
        return 0

    cdef int outside(self, int64_t pos, int64_t size, what) except -1:
        self.fail("%s at offset %d (+%d bytes) lies outside the %d-byte buffer"
                  % (what, pos, size, self.size))
        return -1

    cdef inline uint32_t u32(self, int64_t pos, what) except? 0xFFFFFFFF:
        cdef uint32_t v
        self.check(pos, 4, what)
        memcpy(&v, self.data + pos, 4)
        return v

    cdef inline int64_t uoffset(self, int64_t pos, what) except -1:
        return pos + <int64_t>self.u32(pos, what)

    cdef object scalar(self, int code, int64_t pos, what):
        cdef float fl
        cdef double d
        cdef int64_t bits
        if code == S_FLOAT:
            self.check(pos, 4, what)
            memcpy(&fl, self.data + pos, 4)
            return fl
        if code == S_DOUBLE:
            self.check(pos, 8, what)
            memcpy(&d, self.data + pos, 8)
            return d
        bits = self.scalar_bits(code, pos, what)
        if code == S_BOOL:
            return bits != 0
        if code == S_ULONG:
            return <uint64_t>bits
        return bits

    cdef inline int64_t scalar_bits(self, int code, int64_t pos, what) except? -1:
        """`scalar` for the integer types, as a C integer (ulong: its bits)."""
        cdef const uint8_t *p
        cdef int16_t s
        cdef uint16_t us
        cdef int32_t i
        cdef uint32_t ui
        cdef int64_t l
        self.check(pos, SCALAR_SIZE[code], what)
        p = self.data + pos
        if code == S_BOOL:
            return p[0] != 0
        if code == S_BYTE:
            return <int8_t>p[0]
        if code == S_UBYTE:
            return p[0]
        if code == S_SHORT:
            memcpy(&s, p, 2)
            return s
        if code == S_USHORT:
            memcpy(&us, p, 2)
            return us
        if code == S_INT:
            memcpy(&i, p, 4)
            return i
        if code == S_UINT:
            memcpy(&ui, p, 4)
            return ui
        memcpy(&l, p, 8)   # S_LONG, S_ULONG
        return l

    cdef object table(self, _Type t, int64_t pos, int depth):
        cdef uint16_t vt_len, obj_len, field_off
        cdef int64_t vtable
        cdef int slot, nslots
        cdef _Field f
        cdef int voff
        cdef int tmp
        if depth > self.max_depth:
            self.fail("tables nested deeper than %d" % self.max_depth)
        self.spend(8)
        self.tables += 1
        if self.tables > self.max_tables:
            self.fail("it holds more than %d tables" % self.max_tables)
        if pos < self.size and self.mark_seen(pos):
            # Writers never share tables; a shared one would let a small file decode into an
            # exponentially larger tree (and a cycle into an endless one).
            self.fail("the %s at offset %d is referenced more than once" % (t.name, pos))
        self.check(pos, 4, t.offset_what)
        memcpy(&tmp, self.data + pos, 4)
        vtable = pos - tmp
        self.check(vtable, 2, t.vtable_what)
        memcpy(&vt_len, self.data + vtable, 2)
        self.check(vtable + 2, 2, t.vtable_what)
        memcpy(&obj_len, self.data + vtable + 2, 2)
        if vt_len < 4 or vt_len % 2:
            self.fail("%s vtable has invalid length %d" % (t.name, vt_len))
        self.check(vtable, vt_len, t.vtable_what)
        self.check(pos, obj_len if obj_len > 4 else 4, t.name)
        if t.lean and self.lean:
            return self.lean_table(t, pos, vtable, vt_len, obj_len, depth)
        values = PyDict_Copy(t.defaults)
        nslots = len(t.fields)
        for slot in range(nslots):
            voff = 4 + 2 * slot
            if voff >= vt_len:
                break
            memcpy(&field_off, self.data + vtable + voff, 2)
            if field_off == 0:
                continue
            f = <_Field>t.fields[slot]
            if field_off >= obj_len:
                self.fail("%s.%s lies outside its table" % (t.name, f.name))
            PyDict_SetItem(values, f.name, self.field(f, pos + field_off, values, depth))
        out = self.schema.new_table(self.schema.table_class, <PyObject *>_NO_ARGS, NULL)
        if self.schema.type_slot is not None:
            self.schema.set_type_slot(<PyObject *>self.schema.type_slot, <PyObject *>out,
                                      <PyObject *>t.name)
        else:
            out._type = t.name
        PyObject_GenericSetDict(out, values, NULL)
        # A decoded tree has no cycles (no table is referenced twice), so the cyclic collector
        # need never look at its tables: untracked, the hundreds a model keeps cost it nothing.
        PyObject_GC_UnTrack(<PyObject *>out)
        return out

    cdef LeanTable lean_table(self, _Type t, int64_t pos, int64_t vtable, uint16_t vt_len,
                              uint16_t obj_len, int depth):
        """The slot loop of `table`, with the same checks in the same order."""
        cdef LeanTable out = LeanTable.__new__(LeanTable)
        cdef int slot, action, scalar, nslots = len(t.fields)
        cdef uint16_t field_off
        cdef int64_t at, target, length, code
        cdef _Field f
        cdef _Type member
        out.type_name = t.name
        memcpy(out.value, t.lean_defaults, sizeof(out.value))
        memset(out.length, 0xFF, sizeof(out.length))   # all -1: absent
        for slot in range(nslots):
            if 4 + 2 * slot >= vt_len:
                break
            memcpy(&field_off, self.data + vtable + 4 + 2 * slot, 2)
            if field_off == 0:
                continue
            if field_off >= obj_len:
                f = <_Field>t.fields[slot]
                self.fail("%s.%s lies outside its table" % (t.name, f.name))
            at = pos + field_off
            action = t.lean_action[slot]
            if action == LEAN_SCALAR:
                scalar = t.lean_scalar[slot]
                if at + SCALAR_SIZE[scalar] > self.size:   # named only when it fails
                    self.check(at, SCALAR_SIZE[scalar], (<_Field>t.fields[slot]).name)
                out.value[slot] = self.scalar_bits(scalar, at, None)
            elif action == LEAN_IN_BUFFER:
                f = <_Field>t.fields[slot]
                target = self.uoffset(at, f.name)
                length = self.u32(target, f.length_what)
                self.check(target + 4, length * SCALAR_SIZE[t.lean_scalar[slot]], f.name)
                self.spend(1)
                out.value[slot], out.length[slot] = target + 4, length
            elif action == LEAN_UNION:
                f = <_Field>t.fields[slot]
                target = self.uoffset(at, f.name)
                code = out.value[f.type_key_slot] if f.type_key_slot >= 0 else 0
                member = f.members[code] if 0 < code < len(f.members) else None
                if member is not None:   # an unknown member is ignored, as in `field`
                    _keep(out, slot, self.table(member, target, depth + 1))
            else:
                _keep(out, slot, self.field(<_Field>t.fields[slot], at, None, depth))
        return out

    cdef object field(self, _Field f, int64_t pos, dict values, int depth):
        cdef int64_t target
        cdef _Type member
        if f.kind == K_SCALAR:
            return self.scalar(f.scalar, pos, f.name)
        target = self.uoffset(pos, f.name)
        if f.kind == K_STRING:
            return self.string(target, f.name)
        if f.kind == K_VEC_SCALAR or f.kind == K_VEC_STRING or f.kind == K_VEC_TABLE:
            return self.vector(f, target, depth)
        if f.kind == K_UNION:
            code = values.get(f.type_key, 0)
            if not isinstance(code, int) or not 0 < code < len(f.members):
                return None  # an unknown union member is ignored, as TFLite does
            member = f.members[code]
            if member is None:
                return None
            return self.table(member, target, depth + 1)
        return self.table(f.target, target, depth + 1)

    cdef object string(self, int64_t pos, what):
        cdef int64_t length = self.u32(pos, what)
        self.check(pos + 4, length, what)
        self.spend(1 + length // 64)
        return PyUnicode_DecodeUTF8(<const char *>(self.data + pos + 4), length, "replace")

    cdef object vector(self, _Field f, int64_t pos, int depth):
        cdef int64_t length = self.u32(pos, f.length_what)
        cdef int64_t start = pos + 4
        cdef int64_t i
        cdef cnp.npy_intp dims[1]
        cdef cnp.ndarray arr
        cdef cnp.dtype dtype
        if f.kind == K_VEC_SCALAR:
            self.check(start, length * SCALAR_SIZE[f.scalar], f.name)
            self.spend(1)
            dtype = _DTYPES[f.scalar]
            Py_INCREF(dtype)   # PyArray_NewFromDescr steals a reference
            dims[0] = length
            # flags 0: read-only, as np.frombuffer makes views of a read-only buffer
            arr = PyArray_NewFromDescr(cnp.ndarray, dtype, 1, dims, NULL,
                                       <void *>(self.data + start), 0, None)
            cnp.set_array_base(arr, self.view)
            return arr
        self.check(start, 4 * length, f.name)
        self.spend(length)
        out = []
        for i in range(length):
            target = self.uoffset(start + 4 * i, f.name)
            if f.kind == K_VEC_STRING:
                out.append(self.string(target, f.name))
            else:
                out.append(self.table(f.target, target, depth + 1))
        return out


def use_schema(tables, unions, enums, table_class, lean_types=()):
    """Compiles the schema's tables (as `_schema` lists them) for `read`, which decodes into
    instances of `table_class` (or, for `lean_types` when asked, `LeanTable`s). Done once, when
    `_flatbuffer` is imported."""
    global _compiled
    _compiled = _compile(tables, unions, enums, table_class, lean_types)


def read(buf, root_type, *, error, int max_depth, int64_t max_tables, bint lean=False):
    """Decodes the whole FlatBuffer `buf` from its root table of type `root_type`; with `lean`,
    tables of the lean types come back as `LeanTable`s."""
    cdef const uint8_t[::1] mv
    cdef _Reader r = _Reader()
    if _compiled is None:
        raise RuntimeError("_fbreader.use_schema() must be called before read()")
    view = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf.cast("B")
    r.view = view
    r.size = len(view)
    r.error = error
    r.schema = _compiled
    r.max_depth = max_depth
    r.max_tables = max_tables
    r.lean = lean
    r.budget = 4 * r.size + 4096
    r.take_seen()
    if r.size:
        mv = view
        r.data = &mv[0]
    if r.size < 8:
        r.fail("%d bytes is too short for a model" % r.size)
    return r.table(_compiled.types[root_type], r.uoffset(0, "root table"), 0)
