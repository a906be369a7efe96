"""Checks on the shared corpus of converter-made models, when it sits beside the checkout
(../shared/models) or TFLITE_RT_CORPUS points at one. A user's clone has none: then these skip."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_interpreter_api import assert_details_equal
from tflite_rt import interpreter as ours

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TFLITE_RT_CORPUS", ROOT.parent / "shared" / "models"))
pytestmark = pytest.mark.skipif(not (CORPUS / "manifest.json").exists(), reason="no model corpus here")


def known_gaps():
    path = ROOT / ".ci" / "known_gaps.txt"
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def manifest():
    if not (CORPUS / "manifest.json").exists():
        return []
    with open(CORPUS / "manifest.json") as f:
        return json.load(f)


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["name"])
def test_details_equal_reference(entry):
    if entry["name"] in known_gaps():
        pytest.xfail("listed in .ci/known_gaps.txt")
    ref = pytest.importorskip("ai_edge_litert.interpreter")
    path = str(CORPUS / entry["file"])
    a, b = ours.Interpreter(model_path=path), ref.Interpreter(model_path=path)
    # All tensors before allocation: once allocated, the reference rewrites the quantization of
    # per-tensor FULLY_CONNECTED weights into per-channel form, an artifact of its kernel.
    for sg in range(b.num_subgraphs()):
        for x, y in zip(a.get_tensor_details(sg), b.get_tensor_details(sg)):
            assert_details_equal(x, y)
    a.allocate_tensors()
    b.allocate_tensors()
    for ours_list, ref_list in ((a.get_input_details(), b.get_input_details()),
                                (a.get_output_details(), b.get_output_details())):
        assert len(ours_list) == len(ref_list)
        for x, y in zip(ours_list, ref_list):
            assert_details_equal(x, y)
    assert a.get_signature_list() == b.get_signature_list()
    for x, y in zip(a._get_ops_details(), b._get_ops_details()):
        assert_details_equal(x, y)


def test_conformance_checker_float32():
    checker = CORPUS.parent / "tools" / "check_conformance.py"
    if not checker.exists():
        pytest.skip("no conformance checker beside the corpus")
    proc = subprocess.run([sys.executable, str(checker), "--module", "tflite_rt.interpreter", "--models",
                           str(CORPUS), "--kind", "float32", "--jobs", "2"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:]
