"""Writes tflite_rt/demo/demo_cnn.tflite, the small model `tflite-rt bench` runs by default:
a 96x96 RGB classifier (conv, depthwise conv, pooling, fully connected, softmax) with seeded
random weights, made with tflite_rt's own model builder.

    python tools/make_demo_model.py
"""
import os

import numpy as np

from tflite_rt.builder import ModelBuilder

OUT = os.path.join(os.path.dirname(__file__), "..", "tflite_rt", "demo", "demo_cnn.tflite")


def build(seed=0):
    rng = np.random.default_rng(seed)

    def weights(*shape):
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    b = ModelBuilder(description="tflite_rt demo CNN")
    x = b.input("image", [1, 96, 96, 3])
    c1 = b.tensor("conv1", [1, 48, 48, 16])
    b.op("CONV_2D", [x, b.constant("conv1/w", weights(16, 3, 3, 3)), b.constant("conv1/b", np.zeros(16, np.float32))],
         [c1], padding="SAME", stride_h=2, stride_w=2, fused_activation_function="RELU6")
    d1 = b.tensor("dw1", [1, 48, 48, 16])
    b.op("DEPTHWISE_CONV_2D", [c1, b.constant("dw1/w", weights(1, 3, 3, 16)), b.constant("dw1/b", np.zeros(16, np.float32))],
         [d1], padding="SAME", stride_h=1, stride_w=1, depth_multiplier=1, fused_activation_function="RELU6")
    c2 = b.tensor("conv2", [1, 48, 48, 32])
    b.op("CONV_2D", [d1, b.constant("conv2/w", weights(32, 1, 1, 16)), b.constant("conv2/b", np.zeros(32, np.float32))],
         [c2], padding="VALID", stride_h=1, stride_w=1, fused_activation_function="RELU")
    p = b.tensor("pool", [1, 24, 24, 32])
    b.op("MAX_POOL_2D", [c2], [p], padding="VALID", stride_h=2, stride_w=2, filter_height=2, filter_width=2)
    c3 = b.tensor("conv3", [1, 12, 12, 64])
    b.op("CONV_2D", [p, b.constant("conv3/w", weights(64, 3, 3, 32)), b.constant("conv3/b", np.zeros(64, np.float32))],
         [c3], padding="SAME", stride_h=2, stride_w=2, fused_activation_function="RELU")
    g = b.tensor("gap", [1, 64])
    b.op("MEAN", [c3, b.constant("gap/axes", np.array([1, 2], np.int32))], [g], keep_dims=False)
    logits = b.tensor("logits", [1, 10])
    b.op("FULLY_CONNECTED", [g, b.constant("fc/w", weights(10, 64)), b.constant("fc/b", np.zeros(10, np.float32))],
         [logits])
    probs = b.tensor("probs", [1, 10])
    b.op("SOFTMAX", [logits], [probs], beta=1.0)
    b.output(probs)
    b.signature("serving_default", {"image": x}, {"probs": probs})
    return b.build()


if __name__ == "__main__":
    data = build()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes)" % (os.path.relpath(OUT), len(data)))
