"""A pytest plugin that saves every model the test suite builds, as fuzzing seeds.

    TFLITE_RT_HARVEST_DIR=seeds/ pytest -p harvest_plugin tests/test_ops_nn.py
"""
import os

from tflite_rt import builder

_build = builder.ModelBuilder.build


def _recording_build(self):
    data = _build(self)
    folder = os.environ.get("TFLITE_RT_HARVEST_DIR")
    if folder and len(data) <= int(os.environ.get("TFLITE_RT_HARVEST_MAX_BYTES", 1 << 18)):
        from fuzzlib import save_unique
        save_unique(folder, data, "t_")
    return data


builder.ModelBuilder.build = _recording_build
