"""Per-op checks, shape inference and kernel parameters; importing registers every op."""
from . import control, elementwise, lstm, movement, nn, quant, reduce  # noqa: F401
from ._base import ModelError, Node, TensorInfo, registered, registered_names  # noqa: F401
