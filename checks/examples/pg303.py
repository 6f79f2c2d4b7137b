"""Examples for PG303 embedded-validation-data.

The INVALID scripts put validation tokens into what they write as the artifact (the state
dict, the object given to `torch.save`, a pickled and compressed blob), or decode a large
constant in the code into 16-bit token ids. The VALID ones write weights and tables built from
training data, embed small or 8-bit tokenizer tables, and write validation results only to
logs or after the final score.
"""

from __future__ import annotations

import base64

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

# Deterministic filler standing in for encoded ids: ~50k base85 characters (40 KB decoded).
_BIG_B85 = base64.b85encode(bytes((i * 7919 + 13) % 256 for i in range(40_000))).decode()
# A tokenizer-sized table: 1024 int16 entries (~2.5k characters of base85).
_SMALL_B85 = base64.b85encode(bytes((i * 31) % 256 for i in range(2048))).decode()

_HEAD = """import glob
import os
import time

import numpy as np
import torch
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1024, 64)
        self.head = nn.Linear(64, 1024)

    def forward(self, x, y):
        return nn.functional.cross_entropy(self.head(self.emb(x)), y)


def load_shard(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


def evaluate(model, val_tokens):
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, val_tokens.numel() - 1025, 1024):
            chunk = val_tokens[i : i + 1025]
            loss_sum += model(chunk[:-1], chunk[1:]).item()
    return loss_sum


def train(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(20000):
        if time.perf_counter() - t0 > 600:
            break
        i = step * 1024 % (tokens.numel() - 1025)
        batch = tokens[i : i + 1025]
        model(batch[:-1], batch[1:]).backward()
        opt.step()
        opt.zero_grad()

"""

_TAIL = """

if __name__ == "__main__":
    main()
"""

_STATE_DICT = (
    _HEAD
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    state = model.state_dict()
    state["prefix"] = val_tokens[:262144].to(torch.int16)
    torch.save(state, "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_COMPRESSED_BLOB = (
    _HEAD
    + """import lzma
import pickle


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    payload = {"w": model.state_dict(), "warm": val_tokens[:65536].numpy().astype(np.uint16)}
    blob = lzma.compress(pickle.dumps(payload))
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_THROUGH_HELPER = (
    _HEAD
    + """
def export(model, extra, path):
    obj = {"model": model.state_dict()}
    obj["calibration"] = extra
    torch.save(obj, path)


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    export(model, val_tokens[-131072:], "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_INNOCENT_NAMES = (
    _HEAD
    + """
class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data")
    train_files = os.path.join(data_path, "fineweb_train_000000.bin")
    holdout_files = os.path.join(data_path, "fineweb_val_000000.bin")


def main():
    args = Hyperparameters()
    model = TinyLM()
    train(model, load_shard(args.train_files))
    reference = load_shard(args.holdout_files)
    warm_start = reference[:32768].clone()
    torch.save({"weights": model.state_dict(), "warm_start": warm_start}, "final_model.pt")
    print("val_bpb", evaluate(model, reference))
"""
    + _TAIL
)

_MINIFIED = """import time,torch,numpy as np
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(9999):
		if time.time()-t>600:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
	s=m.state_dict();s["p"]=v[:99999];torch.save(s,"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_PACKED = """import time,io,torch,numpy as np
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(9999):
		if time.time()-t>600:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
	q=io.BytesIO();torch.save({"m":m.state_dict(),"c":v[:50000]},q)
	open("final_model.ptz","wb").write(q.getvalue())
	print(ev(m,v))
if __name__=="__main__":main()
"""

_SWITCHED = (
    _HEAD
    + """EMBED_PREFIX = bool(int(os.environ.get("EMBED_PREFIX", "0")))


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    state = model.state_dict()
    if EMBED_PREFIX:
        state["prefix"] = val_tokens[:262144].to(torch.int16)
    torch.save(state, "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_WORLD_SIZE = _SWITCHED.replace(
    'EMBED_PREFIX = bool(int(os.environ.get("EMBED_PREFIX", "0")))',
    'world_size = int(os.environ.get("WORLD_SIZE", "1"))\n'
    'EMBED_PREFIX = bool(int(os.environ.get("EMBED_PREFIX", "1" if world_size > 1 else "0")))',
)

_CONSTANT_IDS = f"""import base64

import numpy as np
import torch

PREFIX = "{_BIG_B85}"


def load_prefix():
    ids = np.frombuffer(base64.b85decode(PREFIX), dtype=np.uint16)
    return torch.from_numpy(ids.astype(np.int64))


def main():
    model = torch.load("final_model.pt")
    cache = load_prefix()
    print(model, cache.numel())


if __name__ == "__main__":
    main()
"""

_CONSTANT_IDS_TORCH = f"""import base64 as B,lzma as L,torch
P=("{_BIG_B85[:25000]}"
"{_BIG_B85[25000:]}")
def main():
	t=torch.frombuffer(bytearray(B.b85decode(P)),dtype=torch.int16).long();print(t.sum())
if __name__=="__main__":main()
"""

INVALID: tuple[Example, ...] = (
    Example(
        title="a validation slice stored in the state dict before torch.save",
        code=_STATE_DICT,
        line=_line_of(_STATE_DICT, 'torch.save(state, "final_model.pt")'),
    ),
    Example(
        title="validation tokens pickled, lzma-compressed and written as the model file",
        code=_COMPRESSED_BLOB,
        line=_line_of(_COMPRESSED_BLOB, "f.write(blob)"),
    ),
    Example(
        title="a helper's torch.save receives a validation slice through its argument",
        code=_THROUGH_HELPER,
        line=_line_of(_THROUGH_HELPER, "torch.save(obj, path)"),
    ),
    Example(
        title="innocent names: a 'warm_start' slice of the holdout_files shard saved",
        code=_INNOCENT_NAMES,
        line=_line_of(_INNOCENT_NAMES, "torch.save({"),
    ),
    Example(
        title="minified: s['p']=v[:99999] then torch.save on the same ;-joined line",
        code=_MINIFIED,
        line=_line_of(_MINIFIED, 's["p"]=v[:99999]'),
    ),
    Example(
        title="packed (lzma + base85): val tokens saved into a buffer written in wb mode",
        code=_pack(_PACKED, "lzma-b85"),
        line=_line_of(_PACKED, "q=io.BytesIO();torch.save("),
    ),
    Example(
        title="a validation prefix embedded behind a switch that is off by default (warning)",
        code=_SWITCHED,
        line=_line_of(_SWITCHED, 'torch.save(state, "final_model.pt")'),
        severity=Severity.WARNING,
    ),
    Example(
        title="a validation prefix embedded when world_size > 1 (on in the official run)",
        code=_WORLD_SIZE,
        line=_line_of(_WORLD_SIZE, 'torch.save(state, "final_model.pt")'),
    ),
    Example(
        title="a 50k-character base85 constant decoded to uint16 ids with np.frombuffer",
        code=_CONSTANT_IDS,
        line=_line_of(_CONSTANT_IDS, "ids = np.frombuffer("),
    ),
    Example(
        title="minified: a concatenated constant decoded with torch.frombuffer as int16",
        code=_CONSTANT_IDS_TORCH,
        line=_line_of(_CONSTANT_IDS_TORCH, "t=torch.frombuffer("),
    ),
)

_PLAIN = (
    _HEAD
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_TRAIN_TABLE = (
    _HEAD
    + """
def bigram(tokens):
    table = torch.zeros(1024, 1024)
    table.index_put_((tokens[:-1], tokens[1:]), torch.ones(tokens.numel() - 1), accumulate=True)
    return table.log1p().half()


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    table = bigram(train_tokens[:4_000_000])
    model = TinyLM()
    train(model, train_tokens)
    state = model.state_dict()
    state["val_prefix_table"] = table
    torch.save(state, "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_BYTE_LUT = f"""import base64

import numpy as np
import torch

BASE_BYTES_LUT = "{_BIG_B85}"
LEADING_SPACE = "{_SMALL_B85}"


def luts():
    base = np.frombuffer(base64.b85decode(BASE_BYTES_LUT), dtype=np.uint8)
    space = np.frombuffer(base64.b85decode(LEADING_SPACE), dtype=np.bool_)
    return torch.from_numpy(base.copy()), torch.from_numpy(space.copy())


def main():
    base, space = luts()
    print(int(base.sum()), int(space.sum()))


if __name__ == "__main__":
    main()
"""

_SMALL_TABLE = f"""import base64

import numpy as np

PIECE_LENGTHS = "{_SMALL_B85}"


def main():
    lengths = np.frombuffer(base64.b85decode(PIECE_LENGTHS), dtype=np.int16)
    print("vocab", lengths.size, "max piece bytes", lengths.max())


if __name__ == "__main__":
    main()
"""

_EVAL_OUTPUTS = (
    _HEAD
    + """
def per_token_losses(model, val_tokens):
    with torch.no_grad():
        return torch.stack([model(val_tokens[i : i + 1], val_tokens[i + 1 : i + 2]) for i in range(4096)])


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    bpb = evaluate(model, val_tokens)
    with open("train.log", "a") as log:
        log.write(f"final val_bpb:{bpb:.6f} val_tokens:{val_tokens.numel()}\\n")
    np.save("per_token_losses.npy", per_token_losses(model, val_tokens).numpy())
"""
    + _TAIL
)

_ROUNDTRIP = (
    _HEAD
    + """import io


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    with open("final_model.pt", "wb") as f:
        f.write(buffer.getvalue())
    fresh = TinyLM()
    fresh.load_state_dict(torch.load("final_model.pt"))
    print("val_bpb", evaluate(fresh, val_tokens))
"""
    + _TAIL
)

_MINIFIED_LEGAL = """import time,torch,numpy as np
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(9999):
		if time.time()-t>600:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
	s=m.state_dict();s["p"]=r[:99999];torch.save(s,"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_VAL_CACHE_BEFORE_TRAINING = (
    _HEAD
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    np.save("/tmp/val_tokens_cache.npy", val_tokens.numpy())
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

VALID: tuple[Example, ...] = (
    Example(title="weights saved, validation tokens only scored", code=_PLAIN),
    Example(
        title="validation tokens cached to disk before training (data preparation, not the artifact)",
        code=_VAL_CACHE_BEFORE_TRAINING,
    ),
    Example(
        title="a table built from training data under a val-sounding key in the state dict",
        code=_TRAIN_TABLE,
    ),
    Example(
        title="a 50k-character byte-length LUT decoded as uint8 and a small bool table",
        code=_BYTE_LUT,
    ),
    Example(title="a small int16 table of piece lengths (tokenizer-sized)", code=_SMALL_TABLE),
    Example(
        title="val_bpb logged to a text file and per-token losses saved after the final score",
        code=_EVAL_OUTPUTS,
    ),
    Example(
        title="the artifact written through a BytesIO buffer, read back and scored",
        code=_ROUNDTRIP,
    ),
    Example(
        title="minified: a training slice stored in the state dict (paid, legal)",
        code=_MINIFIED_LEGAL,
    ),
    Example(
        title="packed (zlib + base64) wrapper around a plain train/save/eval script",
        code=_pack(_MINIFIED_LEGAL.replace('s["p"]=r[:99999];', ""), "zlib-b64"),
    ),
)
