# cython: boundscheck=False, wraparound=False
"""The compiled core: a thin handle over a C plan. Python keeps every buffer the plan points at
alive (`_keep`), and `invoke()` runs with the GIL released."""
import numpy as np

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t, uintptr_t
from libc.stdlib cimport qsort

from tflite_rt cimport _capi
from tflite_rt.ops._node cimport TensorInfo

cnp.import_array()


cdef extern from *:
    """
    #if defined(__unix__) || defined(__APPLE__)
    #include <sys/mman.h>
    #endif
    static void _release_pages(void *address, size_t nbytes) {
    #if defined(MADV_DONTNEED)
      madvise(address, nbytes, MADV_DONTNEED);
    #else
      (void)address, (void)nbytes;
    #endif
    }
    """
    void _release_pages(void *address, size_t nbytes)


class CoreError(RuntimeError):
    """The C core refused a plan or failed while running it."""


cdef enum:
    _MAX_DIMS = 16   # more than TR_MAX_DIMS: C sees the true rank of anything it must refuse


cdef class _Int32s:
    """A sequence of ints as a C array (never NULL), converted without numpy: plans are built
    from many short lists, where numpy's conversions cost more than the C calls they feed.
    With `coerce`, a value that is not an int goes through int() first (kernel parameters may
    be bools or numpy integers)."""
    cdef int32_t *data
    cdef int32_t n

    def __cinit__(self, values, bint coerce=False):
        cdef Py_ssize_t i
        self.n = <int32_t>len(values)
        self.data = <int32_t *>PyMem_Malloc((self.n + 1) * sizeof(int32_t))
        if self.data is NULL:
            raise MemoryError()
        for i in range(self.n):
            value = values[i]
            if coerce and type(value) is not int:
                value = int(value)
            self.data[i] = value

    def __dealloc__(self):
        PyMem_Free(self.data)


cdef class _Floats:
    cdef float *data
    cdef int32_t n

    def __cinit__(self, values):
        cdef Py_ssize_t i
        self.n = <int32_t>len(values)
        self.data = <float *>PyMem_Malloc((self.n + 1) * sizeof(float))
        if self.data is NULL:
            raise MemoryError()
        for i in range(self.n):
            self.data[i] = <float>values[i]

    def __dealloc__(self):
        PyMem_Free(self.data)


cdef class _Scratch:
    """A C buffer reused across calls, grown as needed."""
    cdef void *data
    cdef size_t size

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef reserve(self, size_t size):
        cdef void *grown
        if size > self.size:
            grown = PyMem_Realloc(self.data, size)
            if grown is NULL:
                raise MemoryError()
            self.data, self.size = grown, size


cdef inline void _tensor_ids(object tensors, int32_t *out) except *:
    """Ids of TensorInfos, -1 for an absent (None) one."""
    cdef Py_ssize_t i
    for i in range(len(tensors)):
        t = tensors[i]
        out[i] = -1 if t is None else t.id


cdef inline void _fill_ints(object values, int32_t *out) except *:
    """As _Int32s with coerce: a value that is not an int goes through int() first."""
    cdef Py_ssize_t i
    for i in range(len(values)):
        value = values[i]
        if type(value) is not int:
            value = int(value)
        out[i] = value


cdef inline void _fill_floats(object values, float *out) except *:
    cdef Py_ssize_t i
    for i in range(len(values)):
        out[i] = <float>values[i]


cdef inline bint _is_vector(object values, int typenum):
    """Whether values is already a 1-D, contiguous, aligned, native-order array of typenum."""
    if not cnp.PyArray_Check(values):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>values
    return (cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_TYPE(a) == typenum
            and cnp.PyArray_ISCARRAY_RO(a) and cnp.PyArray_ISNOTSWAPPED(a))


cdef class Plan:
    cdef _capi.tr_plan *_plan
    cdef list _keep
    cdef readonly int num_subgraphs

    def __cinit__(self, int num_tensors, int num_subgraphs, int num_threads):
        self._plan = _capi.tr_plan_create(num_tensors, num_subgraphs, num_threads)
        if self._plan is NULL:
            raise MemoryError("could not create a plan for %d tensors" % num_tensors)
        self._keep = []
        self.num_subgraphs = num_subgraphs

    def __dealloc__(self):
        if self._plan is not NULL:
            _capi.tr_plan_destroy(self._plan)
            self._plan = NULL

    cdef _raise(self):
        raise CoreError(_capi.tr_plan_error(self._plan).decode("utf-8", "replace"))

    def set_tensor(self, int tensor_id, int type_code, shape, uintptr_t data, int64_t nbytes,
                   float scale=0.0, int zero_point=0, scales=None, zero_points=None,
                   int quant_axis=0):
        self._set_tensor(tensor_id, type_code, shape, data, nbytes, scale, zero_point, scales,
                         zero_points, quant_axis)

    cdef _set_tensor(self, int tensor_id, int type_code, shape, uintptr_t data, int64_t nbytes,
                     float scale, int zero_point, scales, zero_points, int quant_axis):
        cdef int32_t dims[_MAX_DIMS]
        cdef Py_ssize_t ndim = len(shape), i
        cdef cnp.ndarray sc, zp
        cdef const float *scales_ptr = NULL
        cdef const int64_t *zps_ptr = NULL
        cdef int nquant = 0
        # a rank past _MAX_DIMS reaches C unread, which refuses it with its own message
        for i in range(min(ndim, _MAX_DIMS)):
            dims[i] = shape[i]
        if scales is not None and len(scales):
            # the loader's arrays are used as they are; anything else is converted first
            sc = scales if _is_vector(scales, cnp.NPY_FLOAT32) else \
                np.ascontiguousarray(scales, dtype=np.float32)
            zp = zero_points if _is_vector(zero_points, cnp.NPY_INT64) else \
                np.ascontiguousarray(zero_points, dtype=np.int64)
            if sc.ndim != 1 or zp.ndim != 1:
                raise ValueError("Buffer has wrong number of dimensions (expected 1, got %d)"
                                 % (sc.ndim if sc.ndim != 1 else zp.ndim))
            if zp.shape[0] != sc.shape[0]:
                raise ValueError("tensor %d: %d scales but %d zero points" % (tensor_id, sc.shape[0], zp.shape[0]))
            self._keep.append(sc)
            self._keep.append(zp)
            scales_ptr = <const float *>cnp.PyArray_DATA(sc)
            zps_ptr = <const int64_t *>cnp.PyArray_DATA(zp)
            nquant = <int>sc.shape[0]
        if _capi.tr_plan_set_tensor(self._plan, tensor_id, type_code, <int32_t>ndim,
                                    dims if ndim else NULL, <void *>data, nbytes, scale, zero_point,
                                    nquant, quant_axis, scales_ptr, zps_ptr) != _capi.TR_OK:
            self._raise()

    def set_planned_tensors(self, tensors, sizes, offsets, cnp.ndarray arena, dict made,
                            dict constants, int string_type):
        """Sets the common tensors in one call, as set_tensor would one by one: those placed in
        the arena (offsets: id -> byte offset; sizes: bytes by id) and the C-contiguous constants
        that are neither strings nor sparse. Byte views of the arena tensors go into `made`, the
        constants themselves into `constants` (id -> array, which the plan keeps). Returns the
        tensors left for the caller, in order. A tensor is a planner TensorInfo."""
        cdef uintptr_t base = <uintptr_t>cnp.PyArray_DATA(arena)
        cdef uintptr_t address
        cdef list rest = []
        cdef TensorInfo t
        for item in tensors:
            t = <TensorInfo?>item
            tid = t.id
            size = sizes[tid]
            offset = offsets.get(tid)
            if offset is not None and t.type != string_type:
                # made now: the interpreter counts the arena's views to see whether a caller
                # holds one, so their number must not change after planning
                made[tid] = arena[offset:offset + size]
                address = base + <uintptr_t>offset
            else:
                value = t.constant
                if (value is None or t.type == string_type or t.sparsity is not None
                        or not cnp.PyArray_Check(value)
                        or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>value)):
                    rest.append(t)
                    continue
                self._keep.append(value)
                constants[tid] = value
                address = <uintptr_t>cnp.PyArray_DATA(<cnp.ndarray>value)
            if not size:
                address = base
            if t.quantized:
                self._set_tensor(tid, t.type, t.shape, address, size, t.scale, t.zero_point,
                                 t.scales, t.zero_points, t.quantized_dimension or 0)
            else:
                self._set_tensor(tid, t.type, t.shape, address, size, 0.0, t.zero_point, None,
                                 None, t.quantized_dimension or 0)
        return rest

    def keep(self, obj):
        """Holds a Python object (a buffer the plan points at) for the plan's lifetime."""
        self._keep.append(obj)

    def set_subgraph(self, int subgraph, int num_nodes, inputs, outputs):
        cdef _Int32s ins = _Int32s(inputs), outs = _Int32s(outputs)
        if _capi.tr_plan_set_subgraph(self._plan, subgraph, num_nodes, ins.n, ins.data, outs.n,
                                      outs.data) != _capi.TR_OK:
            self._raise()

    def add_node(self, int subgraph, int builtin_code, inputs, outputs, ip, fp):
        cdef _Int32s ins = _Int32s(inputs), outs = _Int32s(outputs), ipa = _Int32s(ip, True)
        cdef _Floats fpa = _Floats(fp)
        if _capi.tr_plan_add_node(self._plan, subgraph, builtin_code, ins.n, ins.data, outs.n,
                                  outs.data, ipa.n, ipa.data, fpa.n, fpa.data) != _capi.TR_OK:
            self._raise()

    def add_nodes(self, int subgraph, nodes, releases):
        """Adds a planned subgraph's nodes in order, as add_node would one by one (inputs then
        extra_inputs, None as -1; ip through int(), fp through float()). After node i, when
        releases[i] is (address, nbytes), the file pages there are dropped (MADV_DONTNEED):
        see _planner._PackedPages. Raises CoreError for the first node C refuses."""
        cdef _Scratch ints = _Scratch(), floats = _Scratch()
        cdef int32_t nin, nout, nip, nfp
        cdef Py_ssize_t i
        for i in range(len(nodes)):
            node = nodes[i]
            inputs, extra, outputs, ip, fp = node.inputs, node.extra_inputs, node.outputs, node.ip, node.fp
            nin = <int32_t>(len(inputs) + len(extra))
            nout = <int32_t>len(outputs)
            nip = <int32_t>len(ip)
            nfp = <int32_t>len(fp)
            ints.reserve((nin + nout + nip + 3) * sizeof(int32_t))
            floats.reserve((nfp + 1) * sizeof(float))
            _tensor_ids(inputs, <int32_t *>ints.data)
            _tensor_ids(extra, <int32_t *>ints.data + len(inputs))
            _tensor_ids(outputs, <int32_t *>ints.data + nin)
            _fill_ints(ip, <int32_t *>ints.data + nin + nout)
            _fill_floats(fp, <float *>floats.data)
            if _capi.tr_plan_add_node(self._plan, subgraph, node.code, nin, <int32_t *>ints.data,
                                      nout, <int32_t *>ints.data + nin, nip,
                                      <int32_t *>ints.data + nin + nout, nfp,
                                      <float *>floats.data) != _capi.TR_OK:
                self._raise()
            release = releases[i]
            if release is not None:
                _release_pages(<void *><uintptr_t>release[0], <size_t>release[1])

    def invoke(self, int subgraph=0):
        cdef _capi.tr_status status
        with nogil:
            status = _capi.tr_plan_invoke(self._plan, subgraph)
        if status != _capi.TR_OK:
            self._raise()

    def set_profiling(self, bint enabled):
        _capi.tr_plan_set_profiling(self._plan, enabled)

    def node_times(self, int subgraph, int num_nodes):
        """(total ns, runs) per node since profiling was last enabled."""
        return [(_capi.tr_plan_node_time_ns(self._plan, subgraph, i),
                 _capi.tr_plan_node_count(self._plan, subgraph, i)) for i in range(num_nodes)]


cdef struct _ArenaTensor:
    int64_t nbytes, first, last, id, position
    int64_t extent, offset   # once placed: nbytes rounded up (at least one alignment), where


cdef int _placement_order(const void *a, const void *b) noexcept nogil:
    """Largest first; then earliest first step; then lowest id (ids are distinct)."""
    cdef const _ArenaTensor *x = <const _ArenaTensor *>a
    cdef const _ArenaTensor *y = <const _ArenaTensor *>b
    if x.nbytes != y.nbytes:
        return -1 if x.nbytes > y.nbytes else 1
    if x.first != y.first:
        return -1 if x.first < y.first else 1
    return (x.id > y.id) - (x.id < y.id)


def greedy_arena(ids, nbytes, firsts, lasts, int64_t alignment):
    """(offsets in input order, arena size) of the greedy placement _planner.greedy_offsets
    describes. The arguments are equally long sequences of ints, one entry per tensor."""
    cdef Py_ssize_t n = len(ids), i, k, nplaced = 0
    cdef _ArenaTensor *tensors = NULL
    cdef _ArenaTensor *t
    cdef _ArenaTensor *other
    cdef _ArenaTensor **by_offset = NULL   # the placed tensors, lowest offset first
    cdef int64_t offset, total = 0
    if len(nbytes) != n or len(firsts) != n or len(lasts) != n:
        raise ValueError("greedy_arena: arguments of different lengths")
    try:
        tensors = <_ArenaTensor *>PyMem_Malloc((n + 1) * sizeof(_ArenaTensor))
        by_offset = <_ArenaTensor **>PyMem_Malloc((n + 1) * sizeof(_ArenaTensor *))
        if tensors is NULL or by_offset is NULL:
            raise MemoryError()
        for i in range(n):
            tensors[i].id = ids[i]
            tensors[i].nbytes = nbytes[i]
            tensors[i].first = firsts[i]
            tensors[i].last = lasts[i]
            tensors[i].position = i
        qsort(tensors, n, sizeof(_ArenaTensor), _placement_order)
        for i in range(n):
            t = &tensors[i]
            t.extent = (t.nbytes + alignment - 1) // alignment * alignment
            if t.extent == 0:
                t.extent = alignment
            # the first gap, in offset order, between the placed tensors alive with this one
            offset = 0
            for k in range(nplaced):
                other = by_offset[k]
                if other.first <= t.last and t.first <= other.last:
                    if offset + t.extent <= other.offset:
                        break
                    if other.offset + other.extent > offset:
                        offset = other.offset + other.extent
            t.offset = offset
            if offset + t.extent > total:
                total = offset + t.extent
            k = nplaced
            while k > 0 and by_offset[k - 1].offset > offset:
                by_offset[k] = by_offset[k - 1]
                k -= 1
            by_offset[k] = t
            nplaced += 1
        result = [0] * n
        for i in range(n):
            result[tensors[i].position] = tensors[i].offset
        return result, total
    finally:
        PyMem_Free(tensors)
        PyMem_Free(by_offset)


def address(cnp.ndarray array):
    """Where an array's data starts (what `array.ctypes.data` says, for a fraction of its cost)."""
    return <uintptr_t>cnp.PyArray_DATA(array)


def builtin_supported(int code):
    return bool(_capi.tr_builtin_supported(code))


def kernel_name(int code):
    return _capi.tr_builtin_kernel_name(code).decode()


def cpu_features():
    cdef const _capi.tr_cpu_features *f = _capi.tr_cpu_features_get()
    return {"avx2": bool(f.avx2), "fma": bool(f.fma), "avx512f": bool(f.avx512f),
            "avx512bw": bool(f.avx512bw), "avx512dq": bool(f.avx512dq), "avx512vl": bool(f.avx512vl),
            "avx512vnni": bool(f.avx512vnni), "avxvnni": bool(f.avxvnni), "neon": bool(f.neon),
            "dotprod": bool(f.dotprod), "i8mm": bool(f.i8mm)}


def isa_levels():
    """{name: level} of the levels compiled into this build, best first."""
    cdef _capi.tr_isa levels[16]
    cdef int n = _capi.tr_isa_compiled(levels, 16)
    return {_capi.tr_isa_name(levels[i]).decode(): int(levels[i]) for i in range(n)}


def isa_detected():
    return _capi.tr_isa_name(_capi.tr_isa_detected()).decode(), int(_capi.tr_isa_detected())


def isa_level():
    return _capi.tr_isa_name(_capi.tr_isa_level()).decode(), int(_capi.tr_isa_level())


def set_isa_cap(int level):
    _capi.tr_isa_set_cap(<_capi.tr_isa>level)
