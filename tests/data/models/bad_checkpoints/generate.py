"""Two tiny TensorFlow checkpoints that are not PhaseNet, for the importer's error messages
(tests/pickers.rs), written by TensorFlow's own SaveV2 op:

- missing.ckpt: only `Input/input_conv/bias` [8] (PhaseNet's first kernel is missing);
- misshaped.ckpt: `Input/input_conv/kernel` as [5, 1, 3, 8] (PhaseNet's is [7, 1, 3, 8]).

Run: python generate.py   (tensorflow)
"""
import pathlib
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf

HERE = pathlib.Path(__file__).parent
for name, tensors in [
    ("missing", {"Input/input_conv/bias": np.zeros(8, np.float32)}),
    ("misshaped", {"Input/input_conv/kernel": np.zeros((5, 1, 3, 8), np.float32)}),
]:
    names = list(tensors)
    tf.raw_ops.SaveV2(prefix=str(HERE / f"{name}.ckpt"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=[tensors[n] for n in names])
print(sorted(p.name for p in HERE.iterdir()))
