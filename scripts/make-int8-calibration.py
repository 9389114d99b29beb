"""Activation ranges of the encoder for its int8 compute (src/embed/int8.rs): the largest absolute
value of each channel of every LayerNormalization output that feeds int8 matrix products, over
calibration texts, computed with Python onnxruntime in fp32 on the shipped model file.

The rewrite uses them to smooth those activations before they are quantised (SmoothQuant, Xiao et
al. 2023): channel j is divided by s_j and the weights' row j multiplied by it, so that a few
outlier channels (channel 99 reaches 28 where the median channel stays near 2) no longer set every
token's int8 step.

Calibration texts (none of them in an evaluation set): CLINC150's validation split (the tuning
split; eval:cluster scores the test split) and the last 1,500 non-system lines of IRC #ubuntu's
annotated training logs (eval:cluster reads the first 6,000 conversations).

    python3 -m venv /tmp/cal && /tmp/cal/bin/pip install onnx onnxruntime tokenizers numpy
    /tmp/cal/bin/python scripts/make-int8-calibration.py > models/int8-calibration.json
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.environ.get("QUESTION_INSIGHTS_DATA", os.path.join(ROOT, "..", "shared", "data"))
MODEL = os.path.join(ROOT, "models", "minilm", "model.onnx")
MAX_TOKENS = 128


def jsonl(path):
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    texts = [r["text"] for r in jsonl("clinc150/val.jsonl")]
    irc = [r["text"] for r in jsonl("dialogs/irc_ubuntu_train_annotated.jsonl") if not r["system"]]
    texts += irc[-1500:]

    model = onnx.load(MODEL)
    graph = model.graph
    # LayerNormalization outputs read by MatMuls whose weights are dequantised int8
    dequantised = {n.output[0] for n in graph.node if n.op_type == "Mul" and n.input[0].endswith("_f")}
    norms = {n.output[0] for n in graph.node if n.op_type == "LayerNormalization"}
    names = []
    for n in graph.node:
        if n.op_type == "MatMul" and n.input[1] in dequantised and n.input[0] in norms and n.input[0] not in names:
            names.append(n.input[0])
    for name in names:
        graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    tok = Tokenizer.from_file(os.path.join(ROOT, "models", "minilm", "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_TOKENS)
    absmax = {name: None for name in names}
    for text in texts:
        ids = np.array([tok.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        for name, out in zip(names, session.run(names, feeds)):
            m = np.abs(out).reshape(-1, out.shape[-1]).max(axis=0)
            absmax[name] = m if absmax[name] is None else np.maximum(absmax[name], m)

    with open(MODEL, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    out = {
        "$comment": "Per-channel absolute maxima of the encoder's LayerNormalization outputs that feed its int8 products, for smoothing them before quantisation (src/embed/int8.rs). Made by scripts/make-int8-calibration.py; used only for the model file with this sha256.",
        "modelSha256": sha,
        "texts": len(texts),
        "maxTokens": MAX_TOKENS,
        "source": "CLINC150 validation split, and the last 1,500 non-system lines of ../shared/data/dialogs/irc_ubuntu_train_annotated.jsonl",
        "absmax": {name: [round(float(x), 4) for x in absmax[name]] for name in names},
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
