"""Independent reference for quakeline's PhaseNet import (tests/phasenet.rs).

Reads the published PhaseNet checkpoint with TensorFlow's own reader
(tf.train.load_checkpoint), runs the network of github:AI4EPS/PhaseNet phasenet/model.py
(UNet.add_prediction_op, inference mode: batch normalisation with the moving statistics,
eps 1e-3, no dropout) in plain NumPy float64, on windows of the four real PhaseNet traces in
tests/data/waveforms/phasenet_npz, and writes forward_reference.npz and forward_reference.json.

Input: channels in PhaseNet's order E, N, Z, each demeaned and divided by its standard deviation
(PhaseNet's data_reader.normalize). The stored inputs `x*` are in quakeline's Z, N, E order (the
importer permutes the input kernel instead of the data). Probabilities `p*` are [k, 3, n]:
noise, P, S.

Run: python generate.py   (numpy, tensorflow; versions recorded in the JSON)
"""
import json
import pathlib

import numpy as np
import tensorflow as tf

HERE = pathlib.Path(__file__).parent
CKPT = HERE / "model_95.ckpt"
NPZ = HERE.parent.parent / "waveforms" / "phasenet_npz"
EPS = 1e-3
# (file, start sample, window length): both lengths PhaseNet runs at, so that the odd-length
# crops of crop_and_concat are exercised.
WINDOWS = [
    ("BG_ACR_2012082505145960.npz", 2000, 3000),
    ("BK_BKS_2017071510492061.npz", 1200, 3000),
    ("NC_GDXB_2008072815280414.npz", 2500, 3001),
    ("NC_MTU_2014071807051236_02.npz", 1800, 3001),
]

r = tf.train.load_checkpoint(str(CKPT))
W = lambda name: r.get_tensor(name).astype(np.float64)


def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv(x, kernel, stride=1, bias=None):
    """TF conv2d, padding 'same', on x [n, cin]; kernel [k, 1, cin, cout]."""
    k = kernel.shape[0]
    n = x.shape[0]
    a, b = same_pads(n, k, stride)
    xp = np.concatenate([np.zeros((a, x.shape[1])), x, np.zeros((b, x.shape[1]))])
    out = -(-n // stride)
    y = np.zeros((out, kernel.shape[3]))
    for t in range(k):
        y += xp[t: t + (out - 1) * stride + 1: stride] @ kernel[t, 0]
    if bias is not None:
        y += bias
    return y


def conv_transpose(x, kernel, stride):
    """TF conv2d_transpose, padding 'same': output n*stride; kernel [k, 1, cout, cin]."""
    k = kernel.shape[0]
    n = x.shape[0]
    out = n * stride
    a, _ = same_pads(out, k, stride)
    full = np.zeros(((n - 1) * stride + k, kernel.shape[2]))
    for t in range(k):
        full[t: t + (n - 1) * stride + 1: stride] += x @ kernel[t, 0].T
    return full[a: a + out]


def bn(x, scope):
    g, b = W(scope + "/gamma"), W(scope + "/beta")
    m, v = W(scope + "/moving_mean"), W(scope + "/moving_variance")
    return (x - m) / np.sqrt(v + EPS) * g + b


relu = lambda x: np.maximum(x, 0)


def crop_and_concat(skip, net):
    off = (net.shape[0] - skip.shape[0]) // 2
    return np.concatenate([skip, net[off: off + skip.shape[0]]], axis=1)


def forward(x):
    """x [n, 3] E, N, Z normalised -> softmax [n, 3]."""
    net = relu(bn(conv(x, W("Input/input_conv/kernel"), bias=W("Input/input_conv/bias")), "Input/input_bn"))
    convs = []
    for d in range(5):
        s = f"DownConv_{d}"
        net = relu(bn(conv(net, W(f"{s}/down_conv1_{d+1}/kernel")), f"{s}/down_bn1_{d+1}"))
        convs.append(net)
        if d < 4:
            net = relu(bn(conv(net, W(f"{s}/down_conv3_{d+1}/kernel"), stride=4), f"{s}/down_bn3_{d+1}"))
    for d in range(3, -1, -1):
        s = f"UpConv_{d}"
        net = relu(bn(conv_transpose(net, W(f"{s}/up_conv0_{d+1}/kernel"), 4), f"{s}/up_bn0_{d+1}"))
        net = crop_and_concat(convs[d], net)
        net = relu(bn(conv(net, W(f"{s}/up_conv1_{d+1}/kernel")), f"{s}/up_bn1_{d+1}"))
    logits = conv(net, W("Output/output_conv/kernel"), bias=W("Output/output_conv/bias"))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def normalize(d):
    d = d - d.mean(axis=0, keepdims=True)
    std = d.std(axis=0, keepdims=True)
    std[std == 0] = 1
    return d / std


arrays, meta = {}, []
for n in (3000, 3001):
    xs, ps = [], []
    for name, start, length in WINDOWS:
        if length != n:
            continue
        z = np.load(NPZ / name)
        enz = normalize(z["data"][start: start + n].astype(np.float64))
        p = forward(enz)
        xs.append(enz[:, ::-1].T.astype(np.float32))  # Z, N, E rows
        ps.append(p.T)
        peak_p, peak_s = int(p[:, 1].argmax()), int(p[:, 2].argmax())
        meta.append({
            "file": name, "start": start, "samples": n,
            "itp": int(z["itp"]) - start, "its": int(z["its"]) - start,
            "p_peak": peak_p, "p_peak_prob": float(p[peak_p, 1]),
            "s_peak": peak_s, "s_peak_prob": float(p[peak_s, 2]),
        })
    arrays[f"x{n}"] = np.stack(xs)
    arrays[f"p{n}"] = np.stack(ps)

np.savez(HERE / "forward_reference.npz", **arrays)
(HERE / "forward_reference.json").write_text(json.dumps({
    "generator": "tests/data/models/phasenet/generate.py",
    "numpy": np.__version__, "tensorflow": tf.__version__,
    "windows": meta,
}, indent=1) + "\n")
for m in meta:
    print(m)
