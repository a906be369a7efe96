from cpython.object cimport PyObject
from libc.stdint cimport int64_t

cdef enum:
    LEAN_MAX_SLOTS = 16


cdef class LeanTable:
    """A table of a type read lean: scalars and int, long and float vectors stay in the
    buffer, by slot."""
    cdef readonly object type_name
    cdef int64_t value[LEAN_MAX_SLOTS]    # a scalar's value (bits, for ulong); a vector's offset
    cdef int64_t length[LEAN_MAX_SLOTS]   # a vector's element count; -1 when absent
    cdef PyObject *decoded[LEAN_MAX_SLOTS]   # any other field, decoded as `read` decodes it:
                                             # a reference the table owns, or NULL if absent
