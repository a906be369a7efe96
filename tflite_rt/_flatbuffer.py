"""Reading and writing FlatBuffers of the TFLite schema, driven by the tables in `_schema`.

The reader treats the buffer as untrusted: every offset, vtable and vector is checked against
the buffer's bounds before it is read, recursion is limited, a table may be referenced only
once (so a small file whose tables point at each other cannot expand into an exponential tree,
nor a cycle into an endless one), and the total work is bounded by the buffer's size and by a
million tables, as in TFLite's own verifier. Any inconsistency raises `FlatBufferError`. Vectors of scalars come back as
read-only numpy views into the buffer, so weights are never copied. The walk itself is compiled
(`_fbreader.pyx`); this module holds the `Table` type, its limits and the writer.
"""
import numpy as np

from . import _fbreader, _schema

_SCALARS = {
    # name: (struct format, numpy dtype, size)
    "bool": ("<?", np.bool_, 1),
    "byte": ("<b", np.int8, 1),
    "ubyte": ("<B", np.uint8, 1),
    "short": ("<h", np.int16, 2),
    "ushort": ("<H", np.uint16, 2),
    "int": ("<i", np.int32, 4),
    "uint": ("<I", np.uint32, 4),
    "long": ("<q", np.int64, 8),
    "ulong": ("<Q", np.uint64, 8),
    "float": ("<f", np.float32, 4),
    "double": ("<d", np.float64, 8),
}
_MAX_DEPTH = 32
_MAX_TABLES = 1_000_000   # as TFLite's own verifier: bounds time and memory on any input


class FlatBufferError(ValueError):
    """The bytes are not a well-formed FlatBuffer of the TFLite schema."""


class Table:
    """A decoded table: one attribute per schema field (absent fields hold their default)."""

    __slots__ = ("_type", "__dict__")

    def __init__(self, type_name, **fields):
        self._type = type_name
        for name, _ftype, default, _dep in _schema.TABLES[type_name]:
            setattr(self, name, default)
        for name, value in fields.items():
            if not hasattr(self, name):
                raise AttributeError("%s has no field %r" % (type_name, name))
            setattr(self, name, value)

    @property
    def type_name(self):
        return self._type

    def __repr__(self):
        return "%s(%s)" % (self._type, ", ".join("%s=%r" % kv for kv in vars(self).items()
                                                  if kv[1] is not None))


def scalar_type(type_name):
    """The scalar a field type is stored as (enums resolve to their underlying type)."""
    if type_name in _SCALARS:
        return type_name
    enum = _schema.ENUMS.get(type_name)
    return enum[0] if enum else None


def read(buf, root=None, lean=False):
    """Decodes a whole FlatBuffer into `Table`s. Raises FlatBufferError on malformed input.
    With `lean`, tensors, their quantization, operators and buffers come back as
    `_fbreader.LeanTable`s (for model.load)."""
    return _fbreader.read(buf, root or _schema.ROOT_TYPE, error=FlatBufferError,
                          max_depth=_MAX_DEPTH, max_tables=_MAX_TABLES, lean=lean)


_fbreader.use_schema(_schema.TABLES, _schema.UNIONS, _schema.ENUMS, Table,
                     lean_types=("Tensor", "QuantizationParameters", "Operator", "Buffer"))


def has_identifier(buf, identifier=None):
    identifier = identifier or _schema.FILE_IDENTIFIER
    return len(buf) >= 8 and bytes(memoryview(buf)[4:8]) == identifier


# ---------------------------------------------------------------------------------------------
# Writing


def write(root, identifier=None):
    """Serialises a tree of `Table`s (lists, numpy arrays and strings for vectors) to bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.ForceDefaults(True)
    offset = _Writer(builder).table(root)
    builder.Finish(offset, file_identifier=identifier or _schema.FILE_IDENTIFIER)
    return bytes(builder.Output())


class _Writer:
    def __init__(self, builder):
        self.b = builder

    def table(self, obj):
        fields = _schema.TABLES[obj.type_name]
        # Children are serialised before the table that points at them.
        offsets = {}
        for name, ftype, _default, _dep in fields:
            value = getattr(obj, name, None)
            if value is None or scalar_type(ftype):
                continue
            offsets[name] = self.child(ftype, value)
        self.b.StartObject(len(fields))
        for slot, (name, ftype, default, _dep) in enumerate(fields):
            value = getattr(obj, name, None)
            if value is None:
                continue
            scalar = scalar_type(ftype)
            if scalar:
                if value != default:
                    self.add_scalar(slot, scalar, value)
            else:
                self.b.PrependUOffsetTRelativeSlot(slot, offsets[name], 0)
        return self.b.EndObject()

    def add_scalar(self, slot, scalar, value):
        prepend = {
            "bool": self.b.PrependBoolSlot, "byte": self.b.PrependInt8Slot,
            "ubyte": self.b.PrependUint8Slot, "short": self.b.PrependInt16Slot,
            "ushort": self.b.PrependUint16Slot, "int": self.b.PrependInt32Slot,
            "uint": self.b.PrependUint32Slot, "long": self.b.PrependInt64Slot,
            "ulong": self.b.PrependUint64Slot, "float": self.b.PrependFloat32Slot,
            "double": self.b.PrependFloat64Slot,
        }[scalar]
        if scalar == "bool":
            value = bool(value)
        elif scalar in ("float", "double"):
            value = float(value)
        else:
            value = int(value)
        prepend(slot, value, value)  # the builder forces defaults; table() already skipped them

    def child(self, ftype, value):
        if ftype == "string":
            return self.b.CreateString(value)
        if ftype.startswith("union:"):
            return self.table(value)
        if ftype.startswith("["):
            return self.vector(ftype[1:-1], value)
        return self.table(value)

    def vector(self, elem, values):
        scalar = scalar_type(elem)
        if scalar:
            _fmt, dtype, size = _SCALARS[scalar]
            arr = np.ascontiguousarray(np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")))
            # Weight buffers are aligned so that a reader can map them in place.
            alignment = 16 if elem == "ubyte" else size
            self.b.StartVector(size, len(arr), alignment)
            raw = arr.tobytes()
            self.b.head = self.b.head - len(raw)
            self.b.Bytes[self.b.head:self.b.head + len(raw)] = raw
            return self.b.EndVector()
        if elem == "string":
            offsets = [self.b.CreateString(v) for v in values]
        else:
            offsets = [self.table(v) for v in values]
        self.b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            self.b.PrependUOffsetTRelative(off)
        return self.b.EndVector()

