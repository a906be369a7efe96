"""Reading and writing FlatBuffers of the TFLite schema, driven by the tables in `_schema`.

The reader treats the buffer as untrusted: every offset, vtable and vector is checked against
the buffer's bounds before it is read, recursion is limited, a table may be referenced only
once (so a small file whose tables point at each other cannot expand into an exponential tree,
nor a cycle into an endless one), and the total work is bounded by the buffer's size and by a
million tables, as in TFLite's own verifier. Any inconsistency raises `FlatBufferError`. Vectors of scalars come back as
read-only numpy views into the buffer, so weights are never copied.
"""
import struct

import numpy as np

from . import _schema

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


class _Reader:
    def __init__(self, buf):
        self.buf = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf.cast("B")
        self.size = len(self.buf)
        self.budget = 4 * self.size + 4096
        self.tables = 0
        self.seen = set()

    def fail(self, msg, *args):
        raise FlatBufferError("malformed model: " + (msg % args if args else msg))

    def spend(self, units):
        self.budget -= units
        if self.budget < 0:
            self.fail("its tables reference each other far more than its size allows")

    def check(self, pos, size, what):
        if pos < 0 or size < 0 or pos + size > self.size:
            self.fail("%s at offset %d (+%d bytes) lies outside the %d-byte buffer", what, pos, size, self.size)

    def scalar(self, fmt, size, pos, what):
        self.check(pos, size, what)
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def uoffset(self, pos, what):
        return pos + self.scalar("<I", 4, pos, what)

    def table(self, type_name, pos, depth):
        if depth > _MAX_DEPTH:
            self.fail("tables nested deeper than %d", _MAX_DEPTH)
        self.spend(8)
        self.tables += 1
        if self.tables > _MAX_TABLES:
            self.fail("it holds more than %d tables", _MAX_TABLES)
        if pos in self.seen:
            # Writers never share tables; a shared one would let a small file decode into an
            # exponentially larger tree (and a cycle into an endless one).
            self.fail("the %s at offset %d is referenced more than once", type_name, pos)
        self.seen.add(pos)
        vtable = pos - self.scalar("<i", 4, pos, type_name + " vtable offset")
        vt_len = self.scalar("<H", 2, vtable, type_name + " vtable")
        obj_len = self.scalar("<H", 2, vtable + 2, type_name + " vtable")
        if vt_len < 4 or vt_len % 2:
            self.fail("%s vtable has invalid length %d", type_name, vt_len)
        self.check(vtable, vt_len, type_name + " vtable")
        self.check(pos, max(obj_len, 4), type_name)
        out = Table.__new__(Table)
        out._type = type_name
        for slot, (name, ftype, default, _dep) in enumerate(_schema.TABLES[type_name]):
            voff = 4 + 2 * slot
            field_off = struct.unpack_from("<H", self.buf, vtable + voff)[0] if voff < vt_len else 0
            if field_off == 0:
                value = default
            else:
                if field_off >= obj_len:
                    self.fail("%s.%s lies outside its table", type_name, name)
                value = self.field(ftype, pos + field_off, name, out, depth)
            setattr(out, name, value)
        return out

    def field(self, ftype, pos, name, owner, depth):
        scalar = scalar_type(ftype)
        if scalar:
            fmt, _dt, size = _SCALARS[scalar]
            return self.scalar(fmt, size, pos, name)
        target = self.uoffset(pos, name)
        if ftype == "string":
            return self.string(target, name)
        if ftype.startswith("["):
            return self.vector(ftype[1:-1], target, name, depth)
        if ftype.startswith("union:"):
            members = _schema.UNIONS[ftype[6:]]
            code = getattr(owner, name + "_type", 0)
            if not 0 < code < len(members):
                return None  # an unknown union member is ignored, as TFLite does
            return self.table(members[code], target, depth + 1)
        return self.table(ftype, target, depth + 1)

    def string(self, pos, name):
        length = self.scalar("<I", 4, pos, name)
        self.check(pos + 4, length, name)
        self.spend(1 + length // 64)
        return bytes(self.buf[pos + 4:pos + 4 + length]).decode("utf-8", "replace")

    def vector(self, elem, pos, name, depth):
        length = self.scalar("<I", 4, pos, name + " length")
        start = pos + 4
        scalar = scalar_type(elem)
        if scalar:
            _fmt, dtype, size = _SCALARS[scalar]
            self.check(start, length * size, name)
            self.spend(1)
            arr = np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=length, offset=start)
            return arr
        self.check(start, 4 * length, name)
        self.spend(length)
        out = []
        for i in range(length):
            target = self.uoffset(start + 4 * i, name)
            if elem == "string":
                out.append(self.string(target, name))
            else:
                out.append(self.table(elem, target, depth + 1))
        return out


def read(buf, root=None):
    """Decodes a whole FlatBuffer into `Table`s. Raises FlatBufferError on malformed input."""
    root = root or _schema.ROOT_TYPE
    reader = _Reader(buf)
    if reader.size < 8:
        reader.fail("%d bytes is too short for a model", reader.size)
    try:
        return reader.table(root, reader.uoffset(0, "root table"), 0)
    except RecursionError:
        reader.fail("tables nested too deeply")


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

