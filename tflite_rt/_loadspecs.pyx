# cython: boundscheck=False, wraparound=False, cdivision=True
"""The spec classes of a loaded model, and the compiled half of `model._Loader`: the tensors and
operators of a subgraph checked and turned into specs in typed loops over the decoded tables.

The loops only answer "all well" (the specs) or "not sure" (None). On None the loader runs its
Python checks, which find the first fault and name it; so a bad model is refused with the same
message either way, and these loops must refuse everything the Python checks refuse. Anything
they do not expect (a field of another Python type, a string constant) is "not sure"."""
import numpy as np

cimport numpy as cnp
from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from libc.math cimport isfinite
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy

cnp.import_array()


cdef class TensorSpec:
    cdef public object index, name, type, shape, shape_signature, buffer, data, scales, zero_points
    cdef public object quantized_dimension, is_variable, sparsity, has_rank, quantization

    def __init__(self, index=None, name=None, type=None, shape=None, shape_signature=None,
                 buffer=None, data=None, scales=None, zero_points=None, quantized_dimension=None,
                 is_variable=None, sparsity=None, has_rank=None, quantization=None):
        self.index, self.name, self.type, self.shape = index, name, type, shape
        self.shape_signature, self.buffer, self.data = shape_signature, buffer, data
        self.scales, self.zero_points, self.quantized_dimension = scales, zero_points, quantized_dimension
        self.is_variable, self.sparsity, self.has_rank = is_variable, sparsity, has_rank
        self.quantization = quantization


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


cdef inline object _field(dict fields, str name):
    """A decoded table's field; missing (never, from the reader) reads as not sure."""
    cdef PyObject *value = PyDict_GetItem(fields, name)
    if value is NULL:
        raise KeyError(name)
    return <object>value


cdef inline int _small_int(object value, int64_t *out) except -1:
    """0 for an int field (None reads as 0, as `int(x or 0)`), 1 for anything else."""
    if value is None:
        out[0] = 0
        return 0
    if type(value) is not int:
        return 1
    out[0] = value
    return 0


cdef inline bint _vector_of(object value, int typenum):
    """Whether `value` is a vector the reader makes: 1-D, contiguous, native order."""
    if not isinstance(value, cnp.ndarray):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>value
    return (cnp.PyArray_NDIM(arr) == 1 and cnp.PyArray_TYPE(arr) == typenum
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


cdef object _shape_tuple(cnp.ndarray dims):
    cdef Py_ssize_t n = cnp.PyArray_DIM(dims, 0), k
    cdef const int32_t *p = <const int32_t *>cnp.PyArray_DATA(dims)
    out = [None] * n
    for k in range(n):
        out[k] = p[k]
    return tuple(out)


cdef cnp.ndarray _copy_vector(cnp.ndarray source, int typenum, size_t itemsize):
    cdef cnp.npy_intp n = cnp.PyArray_DIM(source, 0)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &n, typenum, 0)
    memcpy(cnp.PyArray_DATA(out), cnp.PyArray_DATA(source), n * itemsize)
    return out


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
    cdef uint64_t bits = 0
    cdef Py_ssize_t k
    for k in range(n):
        bits |= <uint64_t>values[k]
    return bits == 0


cdef object _quantized(object q, int type_code, tuple shape, list out):
    """Appends (scales, zero points, quantized dimension) to `out` when `quantization` in
    model.py would accept them; returns False when it would not (or might not)."""
    cdef dict fields = q.__dict__
    cdef object scale = _field(fields, "scale"), zero_point = _field(fields, "zero_point")
    cdef cnp.ndarray scales, zero_points
    cdef cnp.npy_intp n
    cdef Py_ssize_t k
    cdef const int64_t *z
    cdef uint64_t outside
    cdef int64_t qdim, zp_low = _types[type_code].zp_low, zp_high = _types[type_code].zp_high
    if not _vector_of(scale, cnp.NPY_FLOAT32):
        return False
    n = cnp.PyArray_DIM(<cnp.ndarray>scale, 0)
    if n == 0:
        out += [None, None, 0]
        return True
    if not _scales_ok(<const uint32_t *>cnp.PyArray_DATA(<cnp.ndarray>scale), n,
                      _types[type_code].integer):
        return False
    if _small_int(_field(fields, "quantized_dimension"), &qdim) or qdim < 0:
        return False
    if n > 1 and not (qdim < len(shape) and shape[qdim] == n):
        return False
    scales = _copy_vector(<cnp.ndarray>scale, cnp.NPY_FLOAT32, 4)
    if zero_point is None:
        zero_points = cnp.PyArray_ZEROS(1, &n, cnp.NPY_INT64, 0)
    else:
        if not _vector_of(zero_point, cnp.NPY_INT64) or cnp.PyArray_DIM(<cnp.ndarray>zero_point, 0) != n:
            return False
        z = <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray>zero_point)
        if not _all_zero(z, n):   # the common case, and zero fits every type
            outside = 0
            for k in range(n):   # one unsigned compare: below zp_low wraps to a huge value
                outside |= <uint64_t>(z[k] - zp_low) > <uint64_t>(zp_high - zp_low)
            if outside:
                return False
        zero_points = _copy_vector(<cnp.ndarray>zero_point, cnp.NPY_INT64, 8)
    out += [scales, zero_points, qdim]
    return True


cdef object _tensor(object table, Py_ssize_t index, list buffers):
    cdef dict fields = table.__dict__
    cdef int64_t type_code, buffer, external, count = 1, d, need, size
    cdef Py_ssize_t rank, k
    cdef const int32_t *dims = NULL
    cdef const int32_t *sig
    cdef bint zero = False
    cdef list quantization = []
    if _small_int(_field(fields, "type"), &type_code):
        return None
    if not 0 <= type_code < TYPE_CODES or _types[type_code].itemsize == 0:
        return None
    raw_shape = _field(fields, "shape")
    if raw_shape is None:
        shape = ()
    else:
        if not _vector_of(raw_shape, cnp.NPY_INT32):
            return None
        rank = cnp.PyArray_DIM(<cnp.ndarray>raw_shape, 0)
        if rank > _max_rank:
            return None
        dims = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>raw_shape)
        for k in range(rank):
            d = dims[k]
            if d < 0:
                return None
            if d == 0:
                zero = True
            elif count <= _max_elements:
                count = count * d if count <= _max_elements // d else _max_elements + 1
        if zero:
            count = 0
        if count > _max_elements:
            return None
        shape = _shape_tuple(<cnp.ndarray>raw_shape)
    raw_signature = _field(fields, "shape_signature")
    signature = None
    if raw_signature is not None:
        if (not _vector_of(raw_signature, cnp.NPY_INT32)
                or cnp.PyArray_DIM(<cnp.ndarray>raw_signature, 0) != len(shape)):
            return None
        sig = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>raw_signature)
        for k in range(len(shape)):
            if sig[k] != -1 and sig[k] != dims[k]:
                return None
        signature = _shape_tuple(<cnp.ndarray>raw_signature)
    if _small_int(_field(fields, "buffer"), &buffer) or _small_int(_field(fields, "external_buffer"), &external):
        return None
    if not 0 <= buffer < max(len(buffers), 1) or external:
        return None
    data = buffers[buffer] if buffers else None
    is_variable = _field(fields, "is_variable")
    sparsity = _field(fields, "sparsity")
    if data is not None:
        if is_variable or type_code == _string_code:
            return None
        need = count * _types[type_code].itemsize
        size = len(data)
        if sparsity is not None:
            if size % _types[type_code].itemsize or size > need:
                return None
        elif size != need:
            return None
    q = _field(fields, "quantization")
    if q is None or q.scale is None:
        quantization = [None, None, 0]
    elif not _quantized(q, type_code, shape, quantization):
        return None
    name = _field(fields, "name")
    cdef TensorSpec spec = TensorSpec.__new__(TensorSpec)
    spec.index, spec.name, spec.type, spec.shape = index, name or "", type_code, shape
    spec.shape_signature, spec.buffer, spec.data = signature, buffer, data
    spec.scales, spec.zero_points, spec.quantized_dimension = quantization
    spec.is_variable, spec.sparsity = bool(is_variable), sparsity
    spec.has_rank, spec.quantization = bool(_field(fields, "has_rank")), q
    return spec


def tensor_specs(list tables, list buffers):
    """The TensorSpecs of a subgraph's tensors, or None if the loader must check them itself."""
    cdef Py_ssize_t n = PyList_GET_SIZE(tables), i
    out = [None] * n
    for i in range(n):
        spec = _tensor(<object>PyList_GET_ITEM(tables, i), i, buffers)
        if spec is None:
            return None
        out[i] = spec
    return out


cdef object _ids(object raw, int64_t lowest, int64_t count):
    """A list of tensor indices in [lowest, count), or None."""
    if raw is None:
        return []
    if not _vector_of(raw, cnp.NPY_INT32):
        return None
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>raw, 0), k
    cdef const int32_t *p = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>raw)
    out = [None] * n
    for k in range(n):
        if p[k] < lowest or p[k] >= count:
            return None
        out[k] = p[k]
    return out


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


def operator_specs(list tables, list opcodes, Py_ssize_t num_tensors, dict op_names,
                   expected_options, float_fields):
    """The OperatorSpecs of a subgraph's operators, or None if the loader must check them
    itself. `expected_options(code)` and `float_fields(table name)` are the loader's."""
    cdef Py_ssize_t n = PyList_GET_SIZE(tables), i
    cdef int64_t opcode_index
    cdef dict fields
    cdef OperatorSpec spec
    out = [None] * n
    for i in range(n):
        fields = (<object>PyList_GET_ITEM(tables, i)).__dict__
        raw_index = _field(fields, "opcode_index")
        if raw_index is None or _small_int(raw_index, &opcode_index):
            return None
        if not 0 <= opcode_index < len(opcodes):
            return None
        code, custom, version = opcodes[opcode_index]
        options = _field(fields, "builtin_options")
        if options is None:
            options = _field(fields, "builtin_options_2")
        options_type = None
        if options is not None:
            options_type = options.type_name
            expected = expected_options(code)
            if expected is not None and expected != options_type:
                return None
            for name, _vector in float_fields(options_type):
                value = getattr(options, name, None)
                if value is not None and not _all_finite(value):
                    return None
        inputs = _ids(_field(fields, "inputs"), -1, num_tensors)
        outputs = _ids(_field(fields, "outputs"), 0, num_tensors)
        intermediates = _ids(_field(fields, "intermediates"), 0, num_tensors)
        if inputs is None or outputs is None or intermediates is None:
            return None
        spec = OperatorSpec.__new__(OperatorSpec)
        spec.index, spec.opcode_index, spec.code, spec.op_name = i, opcode_index, code, op_names[code]
        spec.custom_code, spec.version = custom, version
        spec.inputs, spec.outputs, spec.intermediates = inputs, outputs, intermediates
        spec.options, spec.options_type = options, options_type
        spec.custom_options = _field(fields, "custom_options")
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
    for i in inputs:
        if not 0 <= i < n or state[i] & IS_INPUT or (<object>PyList_GET_ITEM(tensors, i)).data is not None:
            return False
        state[i] |= IS_INPUT
    for o in operators:
        for i in o.inputs:
            if i >= n:
                return False
            if i >= 0:
                state[i] |= READ
        for i in o.outputs:
            if not 0 <= i < n or state[i]:
                return False
            t = <object>PyList_GET_ITEM(tensors, i)
            if t.data is not None or t.is_variable:
                return False
            state[i] = WRITTEN
    return True
