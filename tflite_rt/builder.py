"""Writes valid `.tflite` models from Python.

    from tflite_rt.builder import ModelBuilder
    b = ModelBuilder()
    x = b.input("x", [1, 8, 8, 3])
    w = b.constant("w", np.random.rand(4, 3, 3, 3).astype(np.float32))
    y = b.tensor("y", [1, 8, 8, 4])
    b.op("CONV_2D", [x, w, -1], [y], padding="SAME", stride_w=1, stride_h=1)
    b.output(y)
    model_bytes = b.build()

Options are the fields of the op's *Options table in the schema, by name; enum fields take the
enum member's name ("SAME", "RELU6") or its value. Tensor shapes given to `tensor()` are a hint:
a runtime computes them again. Use `subgraph()` for the bodies of WHILE / IF / CALL_ONCE.
"""
import re

import numpy as np

from . import _flatbuffer, _schema
from ._flatbuffer import Table

_TENSOR_TYPES = _schema.ENUMS["TensorType"][1]
_NUMPY_TO_TFLITE = {
    np.dtype(np.float32): "FLOAT32", np.dtype(np.float16): "FLOAT16", np.dtype(np.float64): "FLOAT64",
    np.dtype(np.int8): "INT8", np.dtype(np.uint8): "UINT8", np.dtype(np.int16): "INT16",
    np.dtype(np.uint16): "UINT16", np.dtype(np.int32): "INT32", np.dtype(np.uint32): "UINT32",
    np.dtype(np.int64): "INT64", np.dtype(np.uint64): "UINT64", np.dtype(np.bool_): "BOOL",
    np.dtype(np.complex64): "COMPLEX64",
}

# Ops whose options table is not named after the op.
_OPTIONS_TABLE = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
    "REDUCE_ALL": "ReducerOptions", "CONCATENATION": "ConcatenationOptions",
    "LOCAL_RESPONSE_NORMALIZATION": "LocalResponseNormalizationOptions",
    "L2_NORMALIZATION": "L2NormOptions", "LSTM": "LSTMOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions", "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "TOPK_V2": "TopKV2Options", "SELECT_V2": "SelectV2Options", "REVERSE_V2": "ReverseV2Options",
    "GATHER_ND": "GatherNdOptions", "SCATTER_ND": "ScatterNdOptions", "ARG_MAX": "ArgMaxOptions",
    "ARG_MIN": "ArgMinOptions", "LEAKY_RELU": "LeakyReluOptions", "MIRROR_PAD": "MirrorPadOptions",
    "SPLIT_V": "SplitVOptions", "STRIDED_SLICE": "StridedSliceOptions", "WHILE": "WhileOptions",
    "IF": "IfOptions", "CALL_ONCE": "CallOnceOptions", "VAR_HANDLE": "VarHandleOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "CUMSUM": "CumsumOptions", "SQUARED_DIFFERENCE":
    "SquaredDifferenceOptions", "CONV_3D": "Conv3DOptions", "EMBEDDING_LOOKUP_SPARSE":
    "EmbeddingLookupSparseOptions", "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions",
    "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions", "PADV2": "PadV2Options", "ONE_HOT": "OneHotOptions",
    "HARD_SWISH": "HardSwishOptions", "GELU": "GeluOptions", "FLOOR_DIV": "FloorDivOptions",
    "FLOOR_MOD": "FloorModOptions", "LOG_SOFTMAX": "LogSoftmaxOptions", "DEPTH_TO_SPACE":
    "DepthToSpaceOptions", "SPACE_TO_DEPTH": "SpaceToDepthOptions", "TRANSPOSE_CONV":
    "TransposeConvOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions", "CONV_2D": "Conv2DOptions",
    "EXPAND_DIMS": "ExpandDimsOptions", "NOT_EQUAL": "NotEqualOptions", "GREATER_EQUAL":
    "GreaterEqualOptions", "LESS_EQUAL": "LessEqualOptions", "LOGICAL_OR": "LogicalOrOptions",
    "LOGICAL_AND": "LogicalAndOptions", "LOGICAL_NOT": "LogicalNotOptions", "ZEROS_LIKE":
    "ZerosLikeOptions", "REVERSE_SEQUENCE": "ReverseSequenceOptions", "MATRIX_DIAG": "MatrixDiagOptions",
    "BIDIRECTIONAL_SEQUENCE_LSTM": "BidirectionalSequenceLSTMOptions", "SEGMENT_SUM": "SegmentSumOptions",
    "RANDOM_STANDARD_NORMAL": "RandomOptions", "RANDOM_UNIFORM": "RandomOptions",
}


def options_table_for(op_name):
    """The *Options table an op's options are written in, or None if it has none."""
    name = _OPTIONS_TABLE.get(op_name)
    if name is None:
        camel = "".join(part.capitalize() for part in op_name.split("_"))
        camel = re.sub(r"(\d)d", r"\1D", camel)
        name = camel + "Options"
    for union in ("BuiltinOptions", "BuiltinOptions2"):
        if name in _schema.UNIONS[union]:
            return union, name
    return None


def _enum_value(ftype, value):
    if isinstance(value, str):
        members = _schema.ENUMS[ftype][1]
        if value not in members:
            raise ValueError("%r is not a member of %s (%s)" % (value, ftype, ", ".join(members)))
        return members[value]
    return value


def make_options(table_name, options):
    fields = {name: ftype for name, ftype, _d, _dep in _schema.TABLES[table_name]}
    values = {}
    for name, value in options.items():
        if name not in fields:
            raise ValueError("%s has no field %r (fields: %s)" % (table_name, name, ", ".join(fields)))
        ftype = fields[name]
        if ftype in _schema.ENUMS:
            value = _enum_value(ftype, value)
        elif ftype.startswith("[") and ftype[1:-1] in _schema.TABLES:
            value = list(value)
        values[name] = value
    return Table(table_name, **values)


def _quantization(q):
    if q is None:
        return None
    if isinstance(q, Table):
        return q
    if isinstance(q, (tuple, list)):
        q = {"scale": q[0], "zero_point": q[1]}
    scale = np.atleast_1d(np.asarray(q.get("scale", q.get("scales")), dtype=np.float32))
    zp = np.atleast_1d(np.asarray(q.get("zero_point", q.get("zero_points", 0)), dtype=np.int64))
    if zp.size == 1 and scale.size > 1:
        zp = np.repeat(zp, scale.size)
    return Table("QuantizationParameters", scale=scale, zero_point=zp,
                 quantized_dimension=int(q.get("quantized_dimension", q.get("axis", 0))),
                 min=q.get("min"), max=q.get("max"))


def _type_code(dtype):
    if isinstance(dtype, str):
        return _TENSOR_TYPES[dtype.upper()]
    if isinstance(dtype, int):
        return dtype
    dt = np.dtype(dtype)
    if dt.kind in ("U", "S", "O"):
        return _TENSOR_TYPES["STRING"]
    return _TENSOR_TYPES[_NUMPY_TO_TFLITE[dt]]


class SubgraphBuilder:
    def __init__(self, model, index, name):
        self.model = model
        self.index = index
        self.name = name
        self.tensors = []
        self.operators = []
        self.inputs = []
        self.outputs = []

    def tensor(self, name, shape, dtype=np.float32, quantization=None, buffer=0,
               shape_signature=None, is_variable=False, sparsity=None):
        """Adds a tensor and returns its index in this subgraph."""
        shape = [int(d) for d in shape]
        sig = None if shape_signature is None else np.asarray(shape_signature, dtype=np.int32)
        self.tensors.append(Table(
            "Tensor", shape=np.asarray(shape, dtype=np.int32), type=_type_code(dtype), buffer=buffer,
            name=name, quantization=_quantization(quantization), is_variable=is_variable,
            shape_signature=sig, sparsity=sparsity))
        return len(self.tensors) - 1

    def input(self, name, shape, dtype=np.float32, quantization=None, shape_signature=None):
        index = self.tensor(name, shape, dtype, quantization, shape_signature=shape_signature)
        self.inputs.append(index)
        return index

    def constant(self, name, value, dtype=None, quantization=None):
        """Adds a constant tensor holding `value` (a numpy array or a Python scalar/list)."""
        value = np.asarray(value, dtype=dtype)
        if value.dtype == np.float64 and dtype is None:
            value = value.astype(np.float32)
        if value.dtype == np.int64 and dtype is None:
            value = value.astype(np.int32)
        if value.dtype.kind in ("U", "S", "O"):
            raw = encode_strings([str(v) for v in value.reshape(-1)])
        else:
            raw = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes()
        buffer = self.model.add_buffer(raw)
        return self.tensor(name, value.shape, value.dtype, quantization, buffer=buffer)

    def output(self, *indices):
        self.outputs.extend(indices)

    def op(self, name, inputs, outputs, intermediates=None, custom_code=None, custom_options=None,
           **options):
        """Adds an operator. Input index -1 marks an absent optional input."""
        opcode = self.model.opcode(name, custom_code)
        fields = dict(opcode_index=opcode, inputs=np.asarray(inputs, dtype=np.int32),
                      outputs=np.asarray(outputs, dtype=np.int32))
        if intermediates is not None:
            fields["intermediates"] = np.asarray(intermediates, dtype=np.int32)
        if custom_options is not None:
            fields["custom_options"] = np.frombuffer(bytes(custom_options), dtype=np.uint8)
        table = options_table_for(name) if custom_code is None else None
        if options and table is None:
            raise ValueError("%s takes no options (got %s)" % (name, ", ".join(options)))
        if table is not None:
            union, table_name = table
            opts = make_options(table_name, options)
            code = _schema.UNIONS[union].index(table_name)
            if union == "BuiltinOptions":
                fields.update(builtin_options_type=code, builtin_options=opts)
            else:
                fields.update(builtin_options_2_type=code, builtin_options_2=opts)
        self.operators.append(Table("Operator", **fields))
        return len(self.operators) - 1

    def table(self):
        return Table("SubGraph", tensors=self.tensors, inputs=np.asarray(self.inputs, dtype=np.int32),
                     outputs=np.asarray(self.outputs, dtype=np.int32), operators=self.operators,
                     name=self.name)


class ModelBuilder(SubgraphBuilder):
    """Builds a model; the builder itself is subgraph 0 (the main graph)."""

    def __init__(self, description="tflite_rt.builder"):
        super().__init__(self, 0, "main")
        self.description = description
        self.buffers = [Table("Buffer")]  # buffer 0 is the conventional empty buffer
        self.opcodes = []
        self.subgraphs = [self]
        self.signatures = []
        self.metadata = []

    def add_buffer(self, raw):
        self.buffers.append(Table("Buffer", data=np.frombuffer(raw, dtype=np.uint8)))
        return len(self.buffers) - 1

    def opcode(self, name, custom_code=None, version=1):
        if custom_code is not None:
            code = _schema.ENUMS["BuiltinOperator"][1]["CUSTOM"]
        else:
            ops = _schema.ENUMS["BuiltinOperator"][1]
            if name not in ops:
                raise ValueError("unknown builtin op %r" % name)
            code = ops[name]
        key = (code, custom_code, version)
        for i, oc in enumerate(self.opcodes):
            if (oc.builtin_code, oc.custom_code, oc.version) == key:
                return i
        self.opcodes.append(Table("OperatorCode", deprecated_builtin_code=min(code, 127),
                                  builtin_code=code, custom_code=custom_code, version=version))
        return len(self.opcodes) - 1

    def subgraph(self, name=None):
        """Adds a subgraph (e.g. a WHILE body) and returns its builder; `.index` is its number."""
        sg = SubgraphBuilder(self, len(self.subgraphs), name or "subgraph_%d" % len(self.subgraphs))
        self.subgraphs.append(sg)
        return sg

    def signature(self, key, inputs, outputs, subgraph=0):
        """inputs / outputs: {signature name: tensor index in that subgraph}."""
        def maps(d):
            return [Table("TensorMap", name=n, tensor_index=int(i)) for n, i in d.items()]
        self.signatures.append(Table("SignatureDef", inputs=maps(inputs), outputs=maps(outputs),
                                     signature_key=key, subgraph_index=subgraph))

    def add_metadata(self, name, raw):
        self.metadata.append(Table("Metadata", name=name, buffer=self.add_buffer(bytes(raw))))

    def build(self):
        model = Table("Model", version=3, operator_codes=self.opcodes,
                      subgraphs=[sg.table() for sg in self.subgraphs], description=self.description,
                      buffers=self.buffers, metadata=self.metadata or None,
                      signature_defs=self.signatures or None)
        return _flatbuffer.write(model)


def encode_strings(strings):
    """TFLite's string tensor layout: count, offsets (count + 1), then the bytes."""
    data = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in strings]
    header = 4 * (len(data) + 2)
    offsets = [header]
    for d in data:
        offsets.append(offsets[-1] + len(d))
    return np.asarray([len(data)] + offsets, dtype="<i4").tobytes() + b"".join(data)
