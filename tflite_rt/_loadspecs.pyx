# cython: boundscheck=False, wraparound=False, cdivision=True
"""The spec classes of a loaded model, and the compiled half of `model._Loader`: the tensors and
operators of a subgraph, read lean (`_fbreader.LeanTable`: shapes, tensor indices, scales and zero
points still in the buffer), checked and turned into specs in typed loops. Specs, their index and
shape tuples and the tables they keep are all untracked by the cyclic collector.

The loops only answer "all well" (the specs) or "not sure" (None). On None the loader reads the
model again into `Table`s and runs its Python checks, which find the first fault and name it; so
a bad model is refused with the same message either way, and these loops must refuse everything
the Python checks refuse. Anything unusual (a string constant) is "not sure".

The planner's first loops over the specs are here too: the arrays of their constants
(`constant_arrays`), and the first scale and zero point of each (`vector_head`, for
`ops._node.tensor_infos`)."""
import numpy as np

cimport cython
cimport numpy as cnp
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.math cimport isfinite
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memset

from tflite_rt._fbreader cimport LeanTable

cnp.import_array()

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void *op)

cdef extern from "numpy/arrayobject.h":
    object PyArray_NewFromDescr(type subtype, cnp.dtype descr, int nd, cnp.npy_intp *dims,
                                cnp.npy_intp *strides, void *data, int flags, object obj)


# Specs refer only to values, tables and arrays, never back to a spec, so they cannot be part of a
# reference cycle: untracked, the thousands a model makes cost the cyclic collector nothing.
@cython.no_gc
cdef class TensorSpec:   # its fields: _loadspecs.pxd
    def __init__(self, index=None, name=None, type=None, shape=None, shape_signature=None,
                 buffer=None, data=None, scales=None, zero_points=None, quantized_dimension=None,
                 is_variable=None, sparsity=None, has_rank=None):
        self.index, self.name, self.type, self.shape = index, name, type, shape
        self.shape_signature, self.buffer, self.data = shape_signature, buffer, data
        self.scales, self.zero_points, self.quantized_dimension = scales, zero_points, quantized_dimension
        self.is_variable, self.sparsity, self.has_rank = is_variable, sparsity, has_rank


@cython.no_gc
cdef class OperatorSpec:
    cdef public object index, opcode_index, code, op_name, custom_code, version, inputs, outputs
    cdef public object intermediates, options, options_type, custom_options

    def __init__(self, index=None, opcode_index=None, code=None, op_name=None, custom_code=None,
                 version=None, inputs=None, outputs=None, intermediates=None, options=None,
                 options_type=None, custom_options=None):
        self.index, self.opcode_index, self.code, self.op_name = index, opcode_index, code, op_name
        self.custom_code, self.version = custom_code, version
        self.inputs, self.outputs, self.intermediates = inputs, outputs, intermediates
        self.options, self.options_type, self.custom_options = options, options_type, custom_options


cdef enum:
    TYPE_CODES = 64   # TensorType codes are small; larger ones are unsupported

cdef struct _TypeRule:
    int itemsize          # 0: the runtime cannot hold this type
    bint integer          # its scales must be normal floats
    int64_t zp_low, zp_high

cdef _TypeRule _types[TYPE_CODES]
cdef int _max_rank = 0
cdef int64_t _max_elements = 0
cdef int _string_code = -1


def configure(type_rules, int max_rank, int64_t max_elements, double tiny_scale, int string_code):
    """Sets the limits the loader checks: `type_rules` maps each supported TensorType code to
    (itemsize, integer, (lowest zero point, highest zero point))."""
    global _max_rank, _max_elements, _string_code, _tiny_scale_bits
    cdef int code
    for code in range(TYPE_CODES):
        _types[code].itemsize = 0
    for code, (itemsize, integer, (low, high)) in type_rules.items():
        if not 0 <= code < TYPE_CODES or itemsize <= 0:
            raise ValueError("type code %d cannot be configured" % code)
        _types[code].itemsize = itemsize
        _types[code].integer = integer
        _types[code].zp_low, _types[code].zp_high = low, high
    _max_rank, _max_elements, _string_code = max_rank, max_elements, string_code
    cdef float tiny = tiny_scale
    if <double>tiny != tiny_scale or not tiny > 0:
        raise ValueError("the smallest scale must be a positive float32")
    memcpy(&_tiny_scale_bits, &tiny, 4)


cdef inline bint _vector_of(object value, int typenum):
    """Whether `value` is a vector the reader makes: 1-D, contiguous, native order."""
    if not isinstance(value, cnp.ndarray):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>value
    return (cnp.PyArray_NDIM(arr) == 1 and cnp.PyArray_TYPE(arr) == typenum
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


cdef VectorHead vector_head(object values, double *real, int64_t *integer) noexcept:
    """What `float(values[0])` or `int(values[0])` would read, for the vectors the loader makes;
    NOT_A_VECTOR for anything else, which the caller reads as Python would."""
    cdef float single
    cdef int32_t narrow
    if type(values) is not cnp.ndarray:
        return NOT_A_VECTOR
    cdef cnp.ndarray arr = <cnp.ndarray>values
    if cnp.PyArray_NDIM(arr) != 1 or not cnp.PyArray_ISNOTSWAPPED(arr):
        return NOT_A_VECTOR
    if cnp.PyArray_DIM(arr, 0) == 0:
        return EMPTY_VECTOR
    cdef const void *first = cnp.PyArray_DATA(arr)   # element 0, whatever the stride
    cdef int typenum = cnp.PyArray_TYPE(arr)
    if typenum == cnp.NPY_FLOAT32:
        memcpy(&single, first, 4)
        real[0] = single
        return REAL_HEAD
    if typenum == cnp.NPY_FLOAT64:
        memcpy(real, first, 8)
        return REAL_HEAD
    if typenum == cnp.NPY_INT64:
        memcpy(integer, first, 8)
        return INTEGER_HEAD
    if typenum == cnp.NPY_INT32:
        memcpy(&narrow, first, 4)
        integer[0] = narrow
        return INTEGER_HEAD
    return NOT_A_VECTOR


cdef enum:
    FLOAT_INF_BITS = 0x7f800000     # bits of +inf: below it (as unsigned), finite and >= +0
    FLOAT_NEGATIVE_ZERO_BITS = 0x80000000

cdef uint32_t _tiny_scale_bits = 0


cdef bint _scales_ok(const uint32_t *bits, Py_ssize_t n, bint integer):
    """Scales finite and >= 0 (-0.0 too), and for integer types normal: compared as bit
    patterns, which order like the floats they hold when non-negative and cover NaN, the
    infinities and negative values in one unsigned compare, so the loop has no branch."""
    cdef Py_ssize_t k
    cdef uint32_t bad = 0
    if integer:   # [smallest normal, inf)
        for k in range(n):
            bad |= (bits[k] - _tiny_scale_bits) >= <uint32_t>(FLOAT_INF_BITS - _tiny_scale_bits)
    else:
        for k in range(n):
            bad |= (bits[k] >= FLOAT_INF_BITS) & (bits[k] != FLOAT_NEGATIVE_ZERO_BITS)
    return bad == 0


cdef bint _all_zero(const int64_t *values, Py_ssize_t n):
    cdef uint64_t a = 0, b = 0, c = 0, d = 0
    cdef Py_ssize_t k = 0
    while k + 4 <= n:   # four independent chains: one OR per cycle would be the limit
        a |= <uint64_t>values[k]
        b |= <uint64_t>values[k + 1]
        c |= <uint64_t>values[k + 2]
        d |= <uint64_t>values[k + 3]
        k += 4
    while k < n:
        a |= <uint64_t>values[k]
        k += 1
    return (a | b | c | d) == 0


# a vector of a lean table, in the buffer (little-endian, maybe unaligned)
cdef struct _BufferVector:
    const uint8_t *at
    Py_ssize_t length     # -1: absent


cdef inline _BufferVector _buffer_vector(LeanTable table, int slot, const uint8_t *data):
    cdef _BufferVector v
    v.length = table.length[slot]
    v.at = data + table.value[slot] if v.length >= 0 else NULL
    return v


cdef inline object _decoded(LeanTable table, int slot):
    """A field the reader decoded into an object, or None if absent."""
    cdef PyObject *value = table.decoded[slot]
    return <object>value if value != NULL else None


cdef inline int32_t _int_at(_BufferVector v, Py_ssize_t k):
    cdef int32_t x
    memcpy(&x, v.at + 4 * k, 4)
    return x


cdef tuple _int_tuple(_BufferVector v):
    """The vector as a tuple of ints, untracked: the collector would untrack it at its next pass
    anyway (ints cannot form cycles), after looking at it once."""
    cdef Py_ssize_t k
    cdef object item
    cdef tuple out = PyTuple_New(v.length)
    for k in range(v.length):
        item = _int_at(v, k)
        Py_INCREF(item)   # PyTuple_SET_ITEM steals a reference
        PyTuple_SET_ITEM(out, k, item)
    PyObject_GC_UnTrack(<PyObject *>out)
    return out


# field slots of the lean Tensor and Operator tables, from the schema
cdef int T_SHAPE, T_TYPE, T_BUFFER, T_NAME, T_QUANTIZATION, T_IS_VARIABLE, T_SPARSITY
cdef int T_SHAPE_SIGNATURE, T_HAS_RANK, T_EXTERNAL_BUFFER
cdef int O_OPCODE_INDEX, O_INPUTS, O_OUTPUTS, O_OPTIONS, O_CUSTOM_OPTIONS, O_INTERMEDIATES
cdef int O_OPTIONS_2
cdef int Q_SCALE, Q_ZERO_POINT, Q_QUANTIZED_DIMENSION
cdef int B_DATA, B_OFFSET


def use_slots(tensor_fields, operator_fields, quantization_fields, buffer_fields):
    """Names the slots of the Tensor, Operator, QuantizationParameters and Buffer tables (field
    names in schema order)."""
    global T_SHAPE, T_TYPE, T_BUFFER, T_NAME, T_QUANTIZATION, T_IS_VARIABLE, T_SPARSITY
    global T_SHAPE_SIGNATURE, T_HAS_RANK, T_EXTERNAL_BUFFER
    global O_OPCODE_INDEX, O_INPUTS, O_OUTPUTS, O_OPTIONS, O_CUSTOM_OPTIONS, O_INTERMEDIATES
    global O_OPTIONS_2, Q_SCALE, Q_ZERO_POINT, Q_QUANTIZED_DIMENSION, B_DATA, B_OFFSET
    t, o = list(tensor_fields).index, list(operator_fields).index
    q, b = list(quantization_fields).index, list(buffer_fields).index
    T_SHAPE, T_TYPE, T_BUFFER, T_NAME = t("shape"), t("type"), t("buffer"), t("name")
    T_QUANTIZATION, T_IS_VARIABLE, T_SPARSITY = t("quantization"), t("is_variable"), t("sparsity")
    T_SHAPE_SIGNATURE, T_HAS_RANK = t("shape_signature"), t("has_rank")
    T_EXTERNAL_BUFFER = t("external_buffer")
    O_OPCODE_INDEX, O_INPUTS, O_OUTPUTS = o("opcode_index"), o("inputs"), o("outputs")
    O_OPTIONS, O_CUSTOM_OPTIONS = o("builtin_options"), o("custom_options")
    O_INTERMEDIATES, O_OPTIONS_2 = o("intermediates"), o("builtin_options_2")
    Q_SCALE, Q_ZERO_POINT = q("scale"), q("zero_point")
    Q_QUANTIZED_DIMENSION = q("quantized_dimension")
    B_DATA, B_OFFSET = b("data"), b("offset")


cdef class _Pools:
    """Where the scales and zero points of a subgraph's tensors are copied to: one array of
    each for all of them, each tensor's a slice. Slicing an array costs less than making one,
    and the loader makes two per quantized tensor, a few hundred per model."""
    cdef cnp.ndarray scales, zero_points
    cdef float *next_scale
    cdef int64_t *next_zero_point
    cdef cnp.npy_intp room        # elements left in each


cdef _Pools _pools_for(list tables, const uint8_t *data):
    """Pools large enough for the scale vectors of these Tensor tables that `_quantized` may
    copy (and as many zero points: vectors of another length are refused). A per-channel vector
    that does not match its dimension is refused before its copy, so takes no room: the pools
    never outgrow what the accepted tensors need."""
    cdef Py_ssize_t i
    cdef cnp.npy_intp total = 0, n
    cdef int64_t qdim
    cdef LeanTable table, q
    cdef _BufferVector dims
    cdef _Pools pools = _Pools.__new__(_Pools)
    for i in range(PyList_GET_SIZE(tables)):
        table = <LeanTable>PyList_GET_ITEM(tables, i)
        if table.decoded[T_QUANTIZATION] == NULL:
            continue
        q = <LeanTable>table.decoded[T_QUANTIZATION]
        n = q.length[Q_SCALE]
        if n > 1:
            qdim = q.value[Q_QUANTIZED_DIMENSION]
            dims = _buffer_vector(table, T_SHAPE, data)
            if not (0 <= qdim < dims.length and _int_at(dims, qdim) == n):
                continue
        if n > 0:
            total += n
    pools.scales = cnp.PyArray_EMPTY(1, &total, cnp.NPY_FLOAT32, 0)
    pools.zero_points = cnp.PyArray_EMPTY(1, &total, cnp.NPY_INT64, 0)
    pools.next_scale = <float *>cnp.PyArray_DATA(pools.scales)
    pools.next_zero_point = <int64_t *>cnp.PyArray_DATA(pools.zero_points)
    pools.room = total
    return pools


cdef cnp.ndarray _slice(cnp.ndarray pool, void *at, cnp.npy_intp n):
    """pool's n elements from `at` on, as `pool[k:k + n]` makes them."""
    cdef cnp.dtype dtype = <cnp.dtype>cnp.PyArray_DESCR(pool)
    Py_INCREF(dtype)   # PyArray_NewFromDescr steals a reference
    cdef cnp.ndarray out = PyArray_NewFromDescr(cnp.ndarray, dtype, 1, &n, NULL, at,
                                                cnp.NPY_ARRAY_WRITEABLE, None)
    cnp.set_array_base(out, pool)
    return out


cdef bint _quantized(LeanTable q, const uint8_t *data, int type_code, tuple shape, TensorSpec out,
                     _Pools pools):
    """Sets the scales, zero points and quantized dimension of `out` when `quantization` in
    model.py would accept them; returns False when it would not (or might not)."""
    cdef _BufferVector scale = _buffer_vector(q, Q_SCALE, data)
    cdef _BufferVector zero_point = _buffer_vector(q, Q_ZERO_POINT, data)
    cdef cnp.npy_intp n = scale.length
    cdef Py_ssize_t k
    cdef int64_t *z
    cdef uint64_t outside
    cdef int64_t qdim = q.value[Q_QUANTIZED_DIMENSION]
    cdef int64_t zp_low = _types[type_code].zp_low, zp_high = _types[type_code].zp_high
    if n <= 0:   # absent or empty: not quantized
        return True
    if qdim < 0:
        return False
    if n > 1 and not (qdim < len(shape) and shape[qdim] == n):
        return False
    if n > pools.room:   # never, as `_pools_for` counts; if it were, the loader would decide
        return False
    # checked on the copies, which are aligned
    cdef float *s = pools.next_scale
    memcpy(s, scale.at, n * 4)
    if not _scales_ok(<const uint32_t *>s, n, _types[type_code].integer):
        return False
    z = pools.next_zero_point
    if zero_point.length < 0:
        memset(z, 0, n * 8)
    else:
        if zero_point.length != n:
            return False
        memcpy(z, zero_point.at, n * 8)
        if not _all_zero(z, n):   # the common case, and zero fits every type
            outside = 0
            for k in range(n):   # one unsigned compare: below zp_low wraps to a huge value
                outside |= <uint64_t>z[k] - <uint64_t>zp_low > <uint64_t>zp_high - <uint64_t>zp_low
            if outside:
                return False
    out.scales = _slice(pools.scales, s, n)
    out.zero_points = _slice(pools.zero_points, z, n)
    out.quantized_dimension = qdim
    pools.next_scale += n
    pools.next_zero_point += n
    pools.room -= n
    return True


cdef object _tensor(LeanTable table, Py_ssize_t index, list buffers, const uint8_t *data,
                    _Pools pools):
    cdef int64_t type_code = table.value[T_TYPE], buffer = table.value[T_BUFFER]
    cdef int64_t count = 1, d, need, size
    cdef Py_ssize_t k
    cdef bint zero = False
    cdef _BufferVector dims = _buffer_vector(table, T_SHAPE, data)
    cdef _BufferVector signature = _buffer_vector(table, T_SHAPE_SIGNATURE, data)
    if not 0 <= type_code < TYPE_CODES or _types[type_code].itemsize == 0:
        return None
    if dims.length > _max_rank:
        return None
    for k in range(dims.length if dims.length > 0 else 0):
        d = _int_at(dims, k)
        if d < 0:
            return None
        if d == 0:
            zero = True
        elif count < <int64_t>1 << 32:   # times an int32 it fits: no division
            count *= d
        elif count <= _max_elements:
            count = count * d if count <= _max_elements // d else _max_elements + 1
    if zero:
        count = 0
    if count > _max_elements:
        return None
    shape = _int_tuple(dims) if dims.length >= 0 else ()
    if signature.length >= 0:
        if signature.length != len(shape):
            return None
        for k in range(signature.length):
            if _int_at(signature, k) != -1 and _int_at(signature, k) != _int_at(dims, k):
                return None
    if not 0 <= buffer < max(len(buffers), 1) or table.value[T_EXTERNAL_BUFFER]:
        return None
    data_view = buffers[buffer] if buffers else None
    sparsity = _decoded(table, T_SPARSITY)
    if data_view is not None:
        if table.value[T_IS_VARIABLE] or type_code == _string_code:
            return None
        need = count * _types[type_code].itemsize
        size = len(data_view)
        if sparsity is not None:
            if size % _types[type_code].itemsize or size > need:
                return None
        elif size != need:
            return None
    cdef TensorSpec spec = TensorSpec.__new__(TensorSpec)   # fields None
    spec.quantized_dimension = 0
    q = _decoded(table, T_QUANTIZATION)
    if q is not None and not _quantized(<LeanTable>q, data, type_code, shape, spec, pools):
        return None
    spec.index, spec.name = index, _decoded(table, T_NAME) or ""
    spec.type, spec.shape = type_code, shape
    spec.shape_signature = _int_tuple(signature) if signature.length >= 0 else None
    spec.buffer, spec.data = buffer, data_view
    spec.is_variable, spec.sparsity = table.value[T_IS_VARIABLE] != 0, sparsity
    spec.has_rank = table.value[T_HAS_RANK] != 0
    return spec


def tensor_specs(list tables, list buffers, buf):
    """The TensorSpecs of a subgraph's tensors (LeanTables read from `buf`), or None if the
    loader must check them itself."""
    cdef Py_ssize_t n = PyList_GET_SIZE(tables), i
    cdef const uint8_t[::1] view = memoryview(buf).cast("B")   # `read` checked it holds the tables
    cdef const uint8_t *data = &view[0]
    cdef _Pools pools = _pools_for(tables, data)
    out = [None] * n
    for i in range(n):
        spec = _tensor(<LeanTable>PyList_GET_ITEM(tables, i), i, buffers, data, pools)
        if spec is None:
            return None
        out[i] = spec
    return out


cdef object _ids(LeanTable table, int slot, const uint8_t *data, int64_t lowest, int64_t count):
    """A tuple of tensor indices in [lowest, count), or None."""
    cdef _BufferVector v = _buffer_vector(table, slot, data)
    cdef Py_ssize_t k
    cdef int32_t i
    if v.length < 0:
        return ()
    for k in range(v.length):
        i = _int_at(v, k)
        if i < lowest or i >= count:
            return None
    return _int_tuple(v)


cdef bint _all_finite(object value):
    """Whether a float option (a number or a float vector) is finite; False if not sure."""
    cdef Py_ssize_t n, k
    cdef const float *p
    if type(value) is float:
        return isfinite(<double>value)
    if not _vector_of(value, cnp.NPY_FLOAT32):
        return False
    n = cnp.PyArray_DIM(<cnp.ndarray>value, 0)
    p = <const float *>cnp.PyArray_DATA(<cnp.ndarray>value)
    for k in range(n):
        if not isfinite(p[k]):
            return False
    return True


def operator_specs(list tables, buf, list opcodes, Py_ssize_t num_tensors, dict op_names,
                   expected_options, float_fields):
    """The OperatorSpecs of a subgraph's operators (LeanTables read from `buf`), or None if the
    loader must check them itself. `expected_options(code)` and `float_fields(table name)` are
    the loader's."""
    cdef Py_ssize_t n = PyList_GET_SIZE(tables), i
    cdef int64_t opcode_index
    cdef LeanTable table
    cdef OperatorSpec spec
    cdef const uint8_t[::1] view = memoryview(buf).cast("B")   # `read` checked it holds the tables
    cdef const uint8_t *data = &view[0]
    # what the two callbacks answer, asked once per opcode and options table: a dict lookup
    # costs a fraction of a call
    cdef dict expected_by_code = {}, float_names_by_table = {}
    out = [None] * n
    for i in range(n):
        table = <LeanTable>PyList_GET_ITEM(tables, i)
        opcode_index = table.value[O_OPCODE_INDEX]
        if not 0 <= opcode_index < len(opcodes):
            return None
        code, custom, version = opcodes[opcode_index]
        options = _decoded(table, O_OPTIONS)
        if options is None:
            options = _decoded(table, O_OPTIONS_2)
        options_type = None
        if options is not None:
            options_type = options._type   # `type_name` without its Python property call
            expected = expected_by_code.get(code, expected_by_code)   # itself: not asked yet
            if expected is expected_by_code:
                expected = expected_by_code[code] = expected_options(code)
            if expected is not None and expected != options_type:
                return None
            float_names = float_names_by_table.get(options_type)
            if float_names is None:
                float_names = float_names_by_table[options_type] = tuple(
                    [name for name, _vector in float_fields(options_type)])
            for name in <tuple>float_names:
                value = getattr(options, name, None)
                if value is not None and not _all_finite(value):
                    return None
        inputs = _ids(table, O_INPUTS, data, -1, num_tensors)
        outputs = _ids(table, O_OUTPUTS, data, 0, num_tensors)
        intermediates = _ids(table, O_INTERMEDIATES, data, 0, num_tensors)
        if inputs is None or outputs is None or intermediates is None:
            return None
        spec = OperatorSpec.__new__(OperatorSpec)
        spec.index, spec.opcode_index, spec.code, spec.op_name = i, opcode_index, code, op_names[code]
        spec.custom_code, spec.version = custom, version
        spec.inputs, spec.outputs, spec.intermediates = inputs, outputs, intermediates
        spec.options, spec.options_type = options, options_type
        spec.custom_options = _decoded(table, O_CUSTOM_OPTIONS)
        out[i] = spec
    return out


cdef enum:
    IS_INPUT = 1
    WRITTEN = 2
    READ = 4


def dataflow_ok(list inputs, list operators, list tensors):
    """Whether `_Loader.check_dataflow` passes: each tensor written at most once, after nothing
    read it, never into a constant, a variable or a subgraph input, and inputs distinct and not
    constant. Indices must be the checked ones of the specs."""
    cdef Py_ssize_t n = len(tensors), i
    cdef bytearray flags = bytearray(n + 1)
    cdef unsigned char *state = flags
    cdef OperatorSpec o
    cdef TensorSpec t
    for i in inputs:
        if not 0 <= i < n or state[i] & IS_INPUT or (<TensorSpec?>PyList_GET_ITEM(tensors, i)).data is not None:
            return False
        state[i] |= IS_INPUT
    for operator in operators:
        o = <OperatorSpec?>operator
        for i in <tuple?>o.inputs:
            if i >= n:
                return False
            if i >= 0:
                state[i] |= READ
        for i in <tuple?>o.outputs:
            if not 0 <= i < n or state[i]:
                return False
            t = <TensorSpec?>PyList_GET_ITEM(tensors, i)
            if t.data is not None or t.is_variable:
                return False
            state[i] = WRITTEN
    return True


def calling_operators(list operators, frozenset calling_tables):
    """The operators (OperatorSpecs) whose options are of `calling_tables`, in order."""
    return [o for o in operators if (<OperatorSpec?>o).options_type in calling_tables]


def inline_buffers(list tables):
    """`_Loader.buffer` of every Buffer table (LeanTables), when all hold their bytes inside the
    FlatBuffer (a vector, or nothing); None when one points past it (offset), for the loader to
    check."""
    cdef Py_ssize_t n = PyList_GET_SIZE(tables), i
    cdef LeanTable table
    out = [None] * n
    for i in range(n):
        table = <LeanTable>PyList_GET_ITEM(tables, i)
        if table.value[B_OFFSET] != 0:
            return None
        data = _decoded(table, B_DATA)
        if data is not None and len(data):
            out[i] = data
    return out


cdef enum:
    MAX_VIEW_RANK = 32   # numpy's own limit is higher; the loader's is MAX_RANK


def constant_arrays(specs, dict dtypes, int string_code):
    """`_planner._const_values` for the constants it can use where they are: (values, rest,
    whether any spec is sparse). values[i] is `data.view(dtype).reshape(shape)` of spec i when
    its buffer is a 1-D byte array aligned as the planner needs, its bytes fit its shape (a
    sparse one: 1-D, its stored values) and `dtypes` maps its type; else None, and i is in
    `rest` when the spec has data. Made in one call each rather than a view and a reshape."""
    cdef Py_ssize_t n = len(specs), i, k, rank
    cdef cnp.npy_intp dims[MAX_VIEW_RANK]
    cdef cnp.npy_intp nbytes, count, itemsize, needed
    cdef cnp.ndarray data
    cdef cnp.dtype dtype
    cdef TensorSpec spec
    if type(specs) is not list:
        specs = list(specs)
        n = PyList_GET_SIZE(specs)
    values = [None] * n
    rest = []
    cdef bint any_sparse = False
    for i in range(n):
        item = <object>PyList_GET_ITEM(specs, i)
        if type(item) is TensorSpec:
            spec = <TensorSpec>item
            value, type_code, shape, sparsity = spec.data, spec.type, spec.shape, spec.sparsity
        else:
            value, type_code, shape, sparsity = item.data, item.type, item.shape, item.sparsity
        if sparsity is not None:
            any_sparse = True
        if value is None:
            continue
        found = dtypes.get(type_code) if type_code != string_code else None
        if (found is None or type(value) is not cnp.ndarray or type(shape) is not tuple
                or not _vector_of(value, cnp.NPY_UINT8)):
            rest.append(i)
            continue
        data = <cnp.ndarray>value
        dtype = <cnp.dtype>found
        nbytes = cnp.PyArray_DIM(data, 0)
        itemsize = dtype.itemsize
        needed = itemsize if itemsize > 16 or nbytes < 16 else 16
        if itemsize <= 0 or (<uintptr_t>cnp.PyArray_DATA(data)) % needed:
            rest.append(i)
            continue
        if sparsity is not None:
            if nbytes % itemsize:
                rest.append(i)
                continue
            rank, dims[0] = 1, nbytes // itemsize
        else:
            rank = len(<tuple>shape)
            if rank > MAX_VIEW_RANK:
                rest.append(i)
                continue
            count = 1
            for k in range(rank):
                dim = (<tuple>shape)[k]
                if type(dim) is not int or not 0 <= dim <= nbytes:
                    break
                dims[k] = dim
                if dims[k] and count > nbytes // dims[k]:
                    break
                count *= dims[k]
            else:
                k = rank
            if k < rank or count * itemsize != nbytes:
                rest.append(i)
                continue
        Py_INCREF(dtype)   # PyArray_NewFromDescr steals a reference
        view = PyArray_NewFromDescr(cnp.ndarray, dtype, rank, dims, NULL, cnp.PyArray_DATA(data),
                                    cnp.PyArray_FLAGS(data) & cnp.NPY_ARRAY_WRITEABLE, None)
        cnp.set_array_base(<cnp.ndarray>view, data)
        values[i] = view
    return values, rest, any_sparse
