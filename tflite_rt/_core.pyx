# cython: boundscheck=False, wraparound=False
"""The compiled core: a thin handle over a C plan. Python keeps every buffer the plan points at
alive (`_keep`), and `invoke()` runs with the GIL released."""
import numpy as np

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uintptr_t

from tflite_rt cimport _capi

cnp.import_array()


class CoreError(RuntimeError):
    """The C core refused a plan or failed while running it."""


cdef enum:
    _MAX_DIMS = 16   # more than TR_MAX_DIMS: C sees the true rank of anything it must refuse


cdef class _Int32s:
    """A sequence of ints as a C array (never NULL), converted without numpy: plans are built
    from many short lists, where numpy's conversions cost more than the C calls they feed."""
    cdef int32_t *data
    cdef int32_t n

    def __cinit__(self, values):
        cdef Py_ssize_t i
        self.n = <int32_t>len(values)
        self.data = <int32_t *>PyMem_Malloc((self.n + 1) * sizeof(int32_t))
        if self.data is NULL:
            raise MemoryError()
        for i in range(self.n):
            self.data[i] = values[i]

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
        cdef int32_t dims[_MAX_DIMS]
        cdef Py_ssize_t ndim = len(shape), i
        cdef cnp.ndarray[float, ndim=1] sc
        cdef cnp.ndarray[int64_t, ndim=1] zp
        cdef const float *scales_ptr = NULL
        cdef const int64_t *zps_ptr = NULL
        cdef int nquant = 0
        # a rank past _MAX_DIMS reaches C unread, which refuses it with its own message
        for i in range(min(ndim, _MAX_DIMS)):
            dims[i] = shape[i]
        if scales is not None and len(scales):
            sc = np.ascontiguousarray(scales, dtype=np.float32)
            zp = np.ascontiguousarray(zero_points, dtype=np.int64)
            if zp.shape[0] != sc.shape[0]:
                raise ValueError("tensor %d: %d scales but %d zero points" % (tensor_id, sc.shape[0], zp.shape[0]))
            self._keep.append(sc)
            self._keep.append(zp)
            scales_ptr = &sc[0]
            zps_ptr = &zp[0]
            nquant = sc.shape[0]
        if _capi.tr_plan_set_tensor(self._plan, tensor_id, type_code, <int32_t>ndim,
                                    dims if ndim else NULL, <void *>data, nbytes, scale, zero_point,
                                    nquant, quant_axis, scales_ptr, zps_ptr) != _capi.TR_OK:
            self._raise()

    def keep(self, obj):
        """Holds a Python object (a buffer the plan points at) for the plan's lifetime."""
        self._keep.append(obj)

    def set_subgraph(self, int subgraph, int num_nodes, inputs, outputs):
        cdef _Int32s ins = _Int32s(inputs), outs = _Int32s(outputs)
        if _capi.tr_plan_set_subgraph(self._plan, subgraph, num_nodes, ins.n, ins.data, outs.n,
                                      outs.data) != _capi.TR_OK:
            self._raise()

    def add_node(self, int subgraph, int builtin_code, inputs, outputs, ip, fp):
        cdef _Int32s ins = _Int32s(inputs), outs = _Int32s(outputs), ipa = _Int32s(ip)
        cdef _Floats fpa = _Floats(fp)
        if _capi.tr_plan_add_node(self._plan, subgraph, builtin_code, ins.n, ins.data, outs.n,
                                  outs.data, ipa.n, ipa.data, fpa.n, fpa.data) != _capi.TR_OK:
            self._raise()

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
