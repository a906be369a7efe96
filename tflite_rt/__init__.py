"""tflite_rt: a fast TensorFlow Lite inference runtime; `tflite_rt.interpreter` is a drop-in
for `tflite_runtime.interpreter` and `ai_edge_litert.interpreter`."""
__version__ = "0.1.0"
