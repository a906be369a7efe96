"""Python side of the reduce ops (see _base.py for the contract)."""
from ._base import op  # noqa: F401
