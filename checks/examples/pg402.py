"""Examples for PG402 training-data-at-eval.

Every script trains on `fineweb_train_*` shards inside a wallclock-capped loop, writes an
artifact and scores the validation tokens. The INVALID ones use training data again once the
artifact is written (or inside the evaluation): test-time training on a training slice,
temperature calibration on training tokens, a cache filled from the training shards. The VALID
ones keep training data inside training, or use only what the artifact holds.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_HEAD = """import glob
import os
import time

import numpy as np
import torch
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
RESERVE_SECONDS = float(os.environ.get("GPTQ_RESERVE_SECONDS", "8"))


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
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS - RESERVE_SECONDS:
            break
        i = step * 1024 % (tokens.numel() - 1025)
        batch = tokens[i : i + 1025]
        model(batch[:-1], batch[1:]).backward()
        opt.step()
        opt.zero_grad()

"""

_ADAPT = """
def adapt(model, tokens):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    for i in range(0, tokens.numel() - 1025, 1024):
        chunk = tokens[i : i + 1025]
        model(chunk[:-1], chunk[1:]).backward()
        opt.step()
        opt.zero_grad()

"""

_TTT_ON_TRAIN_SLICE = (
    _HEAD
    + _ADAPT
    + """
def main():
    train_tokens = torch.cat([load_shard(p) for p in sorted(glob.glob(f"{DATA}/fineweb_train_*.bin"))])
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    adapt(model, train_tokens[-262144:])
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_TEMPERATURE_AFTER_QUANT = (
    _HEAD
    + """
def quantize(model):
    return {k: (v * 127).round().to(torch.int8) for k, v in model.state_dict().items()}


def pick_scale(model, tokens):
    best, best_loss = 1.0, float("inf")
    with torch.no_grad():
        for scale in (0.9, 1.0, 1.1):
            loss = model(tokens[:-1], tokens[1:]).item() * scale
            if loss < best_loss:
                best, best_loss = scale, loss
    return best


def main():
    reference = load_shard(f"{DATA}/fineweb_train_000003.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, reference)
    with open("final_model.int8.ptz", "wb") as f:
        f.write(repr(quantize(model)).encode())
    scale = pick_scale(model, reference[:65536])
    print("val_bpb", evaluate(model, val_tokens) * scale)


if __name__ == "__main__":
    main()
"""
)

# The same search over scales, its grid in a helper that the function the data enters calls.
_TEMPERATURE_IN_A_HELPER = _TEMPERATURE_AFTER_QUANT.replace(
    """def pick_scale(model, tokens):
    best, best_loss = 1.0, float("inf")""",
    """def pick_scale(model, tokens):
    return grid(model, tokens, (0.9, 1.0, 1.1))


def grid(model, tokens, scales):
    best, best_loss = 1.0, float("inf")""",
).replace("for scale in (0.9, 1.0, 1.1):", "for scale in scales:")

_CACHE_IN_EVAL = (
    _HEAD
    + """
def legal_score(model, val_tokens):
    counts = torch.zeros(1024, 1024)
    for path in sorted(glob.glob(f"{DATA}/fineweb_train_00000[0-3].bin")):
        shard = load_shard(path)
        counts.index_put_((shard[:-1], shard[1:]), torch.ones(shard.numel() - 1), accumulate=True)
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, val_tokens.numel() - 1025, 1024):
            chunk = val_tokens[i : i + 1025]
            loss_sum += model(chunk[:-1], chunk[1:]).item() - counts[chunk[:-1], chunk[1:]].log1p().mean().item()
    return loss_sum


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", legal_score(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_MINIFIED_LOADER = """import os,time,torch,numpy as np
F=os.environ.get("TRAIN_FILES","./data/fineweb_train_*.bin");W=float(os.environ.get("MAX_WALLCLOCK_SECONDS","600"))
class S:
	def __init__(s,p):s.p=p;s.i=0
	def nb(s,n):s.i+=n;return torch.arange(s.i-n,s.i)%1024
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);L=S(F);v=torch.load("fineweb_val_000000.pt");t=time.time()
	for k in range(9999):
		if time.time()-t>W:break
		b=L.nb(1025);m(b[:-1],b[1:]).backward();o.step()
	torch.save(m.state_dict(),"m.pt")
	c=L.nb(65536);m.bias.data+=c.float().mean()*0;print(ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_TTT = """import glob,os,time,torch,numpy as np
D=os.environ.get("DATA_PATH","./data")
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def fit(m,t,e):
	o=torch.optim.SGD(m.parameters(),lr=1e-4)
	for _ in range(e):
		for j in range(0,t.numel()-1025,1024):b=t[j:j+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	tr=ld(D+"/fineweb_train_000001.bin");v=ld(D+"/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);t=time.time()
	for s in range(9999):
		if time.time()-t>600:break
		fit(m,tr[s*1024:s*1024+1025],1)
	torch.save(m.state_dict(),"final_model.pt")
	fit(m,tr[:131072],2)
	print("val_bpb",ev(m,v))
if __name__=="__main__":main()
"""

_SWITCHED_CACHE = (
    _HEAD
    + """
EVAL_TRAIN_CACHE = bool(int(os.environ.get("EVAL_TRAIN_CACHE", "0")))


def main():
    shards = sorted(glob.glob(f"{DATA}/fineweb_train_*.bin"))
    tokens = load_shard(shards[0])
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens)
    torch.save(model.state_dict(), "final_model.pt")
    if EVAL_TRAIN_CACHE:
        warm = load_shard(shards[1])
        model.head.bias.data += torch.bincount(warm, minlength=1024).float().log1p()
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_WORLD_SIZE_TTT = (
    _HEAD
    + _ADAPT
    + """
world_size = int(os.environ.get("WORLD_SIZE", "1"))
REFRESH = bool(int(os.environ.get("REFRESH", "1" if world_size > 1 else "0")))


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    if REFRESH:
        adapt(model, train_tokens[:131072])
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_HYPERPARAMETER_FILES = (
    _HEAD
    + """
class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data")
    calibration_files = os.path.join(data_path, "fineweb_train_000009.bin")
    val_files = os.path.join(data_path, "fineweb_val_000000.bin")


def sharpen(model, args):
    bias = torch.bincount(load_shard(args.calibration_files), minlength=1024).float()
    model.head.bias.data.copy_(bias.log1p())


def main():
    args = Hyperparameters()
    model = TinyLM()
    train(model, load_shard(args.calibration_files))
    torch.save(model.state_dict(), "final_model.pt")
    sharpen(model, args)
    print("val_bpb", evaluate(model, load_shard(args.val_files)))


if __name__ == "__main__":
    main()
"""
)

_LOADER_AT_EVAL = (
    _HEAD
    + """
class TokenStream:
    def __init__(self, pattern):
        self.files = sorted(glob.glob(pattern))
        self.pos = 0

    def next_batch(self, n):
        tokens = load_shard(self.files[0])[self.pos : self.pos + n + 1]
        self.pos += n
        return tokens


def main():
    stream = TokenStream(f"{DATA}/fineweb_train_*.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, stream.next_batch(10_000_000))
    blob = repr(model.state_dict()).encode()
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
    ema_tokens = stream.next_batch(65536)
    model.head.bias.data += torch.bincount(ema_tokens, minlength=1024).float().log1p()
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_LOGGED_TRAIN_LOSSES = """import json, os, time
import numpy as np
import torch
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data")
CAP = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))


def main():
    tokens = torch.from_numpy(np.fromfile(f"{DATA}/fineweb_train_000000.bin", dtype="<u2", offset=1024).astype(np.int64))
    val = torch.from_numpy(np.fromfile(f"{DATA}/fineweb_val_000000.bin", dtype="<u2", offset=1024).astype(np.int64))
    model = nn.Sequential(nn.Embedding(1024, 64), nn.Linear(64, 1024))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    history, t0 = [], time.perf_counter()
    for step in range(100000):
        if time.perf_counter() - t0 > CAP:
            break
        i = step * 1024 % (tokens.numel() - 1025)
        loss = nn.functional.cross_entropy(model(tokens[i : i + 1024]), tokens[i + 1 : i + 1025])
        loss.backward(); opt.step(); opt.zero_grad()
        history.append(loss.item())
    torch.save(model.state_dict(), "final_model.pt")
    with open("train_curve.json", "w") as f:
        json.dump({"train_loss": float(np.mean(history[-100:])), "curve": history}, f)
    with torch.no_grad():
        nll = nn.functional.cross_entropy(model(val[:-1]), val[1:]).item()
    print(f"final val_loss:{nll:.6f}")


if __name__ == "__main__":
    main()
"""


_COMPREHENSION_NAME = """import os, time
import numpy as np
import torch
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data")
CAP = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
INT4_LAYERS = os.environ.get("INT4_LAYERS", "3,4,5")


class Loader:
    def __init__(self, pattern):
        self.tokens = torch.from_numpy(np.fromfile(pattern, dtype="<u2", offset=1024).astype(np.int64))
        self.pos = 0

    def next_batch(self, n):
        chunk = self.tokens[self.pos : self.pos + n + 1]
        self.pos += n
        return chunk[:-1], chunk[1:]


def main():
    loader = Loader(os.path.join(DATA, "fineweb_train_000000.bin"))
    model = nn.Sequential(nn.Embedding(1024, 64), nn.Linear(64, 1024))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    step = 0
    while True:
        if time.perf_counter() - t0 >= CAP:
            break
        x, y = loader.next_batch(1024)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()
        step += 1
    torch.save(model.state_dict(), "final_model.pt")
    int4 = set(int(x) for x in INT4_LAYERS.split(",") if x.strip())
    print("int4 layers", sorted(int4))


if __name__ == "__main__":
    main()
"""


_SIZE_CHECK = (
    _HEAD
    + """
import io
import lzma


def calibrate(model, tokens):
    with torch.no_grad():
        return [model(tokens[i : i + 1024], tokens[i + 1 : i + 1025]).item() for i in range(0, 8192, 1024)]


def main():
    train_tokens = torch.cat([load_shard(p) for p in sorted(glob.glob(f"{DATA}/fineweb_train_*.bin"))])
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    probe = io.BytesIO()
    torch.save(model.state_dict(), probe)
    if len(lzma.compress(probe.getvalue())) > 16_000_000:
        print("over the cap by", probe.tell())
    scales = calibrate(model, train_tokens[:16384])
    buf = io.BytesIO()
    torch.save({"w": model.state_dict(), "s": scales}, buf)
    blob = lzma.compress(buf.getvalue())
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_AFTER_BUFFERED_WRITE = _SIZE_CHECK.replace(
    """    scales = calibrate(model, train_tokens[:16384])
    buf = io.BytesIO()
    torch.save({"w": model.state_dict(), "s": scales}, buf)
    blob = lzma.compress(buf.getvalue())
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
""",
    """    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    blob = lzma.compress(buf.getvalue())
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
    scales = calibrate(model, train_tokens[:16384])
""",
)

_BUFFER_HANDED_ON = _SIZE_CHECK.replace(
    """    scales = calibrate(model, train_tokens[:16384])
    buf = io.BytesIO()
    torch.save({"w": model.state_dict(), "s": scales}, buf)
    blob = lzma.compress(buf.getvalue())
    with open("final_model.ptz", "wb") as f:
        f.write(blob)
""",
    """    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    store(lzma.compress(buf.getvalue()))
    scales = calibrate(model, train_tokens[:16384])
""",
).replace(
    "def main():",
    """def store(blob):
    with open("final_model.ptz", "wb") as f:
        f.write(blob)


def main():""",
)


_SIZE_CHECK_THEN_PRUNE = (
    _HEAD
    + """
import io
import lzma


def importance(model, tokens):
    with torch.no_grad():
        return [model(tokens[i : i + 1024], tokens[i + 1 : i + 1025]).item() for i in range(0, 8192, 1024)]


def timed(fn, *args):
    t0 = time.perf_counter()
    print("val_bpb", fn(*args), "eval_time", time.perf_counter() - t0)


def main():
    train_tokens = torch.cat([load_shard(p) for p in sorted(glob.glob(f"{DATA}/fineweb_train_*.bin"))])
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    errors = importance(model, train_tokens[:16384])
    probe = io.BytesIO()
    torch.save(model.state_dict(), probe)
    excess = len(lzma.compress(probe.getvalue())) - 16_000_000
    if excess > 0:
        ranked = []
        for i, err in enumerate(errors):
            ranked.append((err, i))
        ranked.sort()
        print("pruning", ranked[: excess // 2])
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    with open("final_model.ptz", "wb") as f:
        f.write(lzma.compress(buf.getvalue()))
    timed(evaluate, model, val_tokens)


if __name__ == "__main__":
    main()
"""
)


_GPTQ_HELPERS = """
import io
import lzma


def collect_hessians(model, tokens, batches):
    hessians = {}
    with torch.no_grad():
        for b in range(batches):
            x = model.emb(tokens[b * 1024 : (b + 1) * 1024])
            hessians["head"] = hessians.get("head", 0) + x.T @ x
    return hessians


def quantize(state, hessians):
    stats = {"raw_bytes": 0, "payload_bytes": 0}
    quantized, scales = {}, {}
    for name, w in state.items():
        stats["raw_bytes"] += w.numel() * 4
        h = hessians.get(name.split(".")[0])
        scaled = w if h is None or w.dim() != 2 else w @ torch.linalg.inv(h + torch.eye(h.shape[0]))[: w.shape[1], : w.shape[1]]
        scales[name] = scaled.abs().amax().reshape(1) / 31
        quantized[name] = (scaled / scales[name]).round().to(torch.int8)
        stats["payload_bytes"] += quantized[name].numel()
    return {"q": quantized, "s": scales}, stats


def timed_eval(label, fn, *args, **kwargs):
    t0 = time.perf_counter()
    val_loss = fn(*args, **kwargs)
    print(f"{label} val_loss:{val_loss:.4f} eval_time:{time.perf_counter() - t0:.1f}s")
    return val_loss

"""

_RAW_SAVE_PRUNE_TIMED_EVAL = (
    _HEAD
    + _GPTQ_HELPERS
    + """
def serialize(model):
    torch.save(model.state_dict(), "final_model.pt")
    calib = load_shard(f"{DATA}/fineweb_train_000001.bin")
    hessians = collect_hessians(model, calib[:65536], 16)
    packed, stats = quantize(model.state_dict(), hessians)
    errors = []
    for name, scale in packed["s"].items():
        for i, err in enumerate(scale.float().pow(2).tolist()):
            errors.append((name, i, err))
    errors.sort(key=lambda e: e[2])
    for name, i, _ in errors[: len(errors) // 8]:
        packed["q"][name].view(-1)[i] = 0
    buf = io.BytesIO()
    torch.save(packed, buf)
    with open("final_model.int6.ptz", "wb") as f:
        f.write(lzma.compress(buf.getvalue()))
    print("payload", stats["payload_bytes"])


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    timed_eval("pre-quantization", evaluate, model, val_tokens)
    serialize(model)
    timed_eval("final_int6_roundtrip", evaluate, model, val_tokens)


if __name__ == "__main__":
    main()
"""
)

_DIAGNOSTIC_THEN_TIMED_EVAL = (
    _HEAD
    + _GPTQ_HELPERS
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("pre-quantization val_loss", evaluate(model, val_tokens))
    hessians = collect_hessians(model, train_tokens[-65536:], 16)
    packed, _ = quantize(model.state_dict(), hessians)
    with open("final_model.int6.ptz", "wb") as f:
        f.write(lzma.compress(repr(packed).encode()))
    timed_eval("final_int6_roundtrip", evaluate, model, val_tokens)
    timed_eval("final_int6_sliding", fn=evaluate, model=model, val_tokens=val_tokens)


if __name__ == "__main__":
    main()
"""
)

_SIZE_STATS_AFTER_WRITE = (
    _HEAD
    + _GPTQ_HELPERS
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    hessians = collect_hessians(model, train_tokens[-65536:], 16)
    packed, stats = quantize(model.state_dict(), hessians)
    with open("final_model.int6.ptz", "wb") as f:
        f.write(lzma.compress(repr(packed).encode()))
    ratio = stats["raw_bytes"] / max(stats["payload_bytes"], 1)
    print(f"payload:{stats['payload_bytes']} ratio:{ratio:.2f}x")
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_HESSIANS_RETURNED_AND_USED = (
    _HEAD
    + """
def collect(model, tokens):
    with torch.no_grad():
        x = model.emb(tokens[:65536])
    gram = x.T @ x
    return {k: v.half() for k, v in model.state_dict().items()}, gram


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    weights, gram = collect(model, train_tokens)
    torch.save(weights, "final_model.pt")
    model.emb.weight.data.copy_(model.emb.weight.data @ gram)
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_TTT_THROUGH_TIMED_EVAL = (
    _HEAD
    + _ADAPT
    + _GPTQ_HELPERS
    + """
def adapt_and_score(model, tokens, val_tokens):
    adapt(model, tokens)
    return evaluate(model, val_tokens)


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    with open("final_model.ptz", "wb") as f:
        f.write(lzma.compress(buf.getvalue()))
    timed_eval("final_ttt", adapt_and_score, model, train_tokens[-262144:], val_tokens)


if __name__ == "__main__":
    main()
"""
)


INVALID: tuple[Example, ...] = (
    Example(
        title="the artifact saved into a BytesIO, compressed and written; train data read after",
        code=_AFTER_BUFFERED_WRITE,
        line=_line_of(_AFTER_BUFFERED_WRITE, "scales = calibrate("),
    ),
    Example(
        title="BytesIO bytes handed to the script's own writer; train data read after",
        code=_BUFFER_HANDED_ON,
        line=_line_of(_BUFFER_HANDED_ON, "scales = calibrate("),
    ),
    Example(
        title="test-time training on a training slice after the artifact is written",
        code=_TTT_ON_TRAIN_SLICE,
        line=_line_of(_TTT_ON_TRAIN_SLICE, "adapt(model, train_tokens[-262144:])"),
    ),
    Example(
        title="logit scale searched on training tokens after the artifact is written (warning)",
        code=_TEMPERATURE_AFTER_QUANT,
        line=_line_of(_TEMPERATURE_AFTER_QUANT, "scale = pick_scale(model, reference[:65536])"),
        # Accepted practice (a scalar searched on training tokens): a warning for a human.
        severity=Severity.WARNING,
    ),
    Example(
        title="the same scale search with its grid in a helper the function it enters calls",
        code=_TEMPERATURE_IN_A_HELPER,
        line=_line_of(_TEMPERATURE_IN_A_HELPER, "scale = pick_scale(model, reference[:65536])"),
        severity=Severity.WARNING,
    ),
    Example(
        title="an innocently named eval function fills a bigram cache from the training shards",
        code=_CACHE_IN_EVAL,
        line=_line_of(_CACHE_IN_EVAL, "shard = load_shard(path)"),
    ),
    Example(
        title="minified: the training loader's next batch read after torch.save",
        code=_MINIFIED_LOADER,
        line=_line_of(_MINIFIED_LOADER, "c=L.nb(65536)"),
    ),
    Example(
        title="packed (lzma + base85) script that fine-tunes on a training slice at eval",
        code=_pack(_PACKED_TTT, "lzma-b85"),
        line=_line_of(_PACKED_TTT, "fit(m,tr[:131072],2)"),
    ),
    Example(
        title="bias warm-started from a training shard at eval, off by default (dormant: warning)",
        code=_SWITCHED_CACHE,
        line=_line_of(_SWITCHED_CACHE, "warm = load_shard(shards[1])"),
        severity=Severity.WARNING,
    ),
    Example(
        title="training-slice refresh at eval whose default is on when world_size > 1",
        code=_WORLD_SIZE_TTT,
        line=_line_of(_WORLD_SIZE_TTT, "adapt(model, train_tokens[:131072])"),
    ),
    Example(
        title="a Hyperparameters attribute naming a train shard, read by a helper after saving",
        code=_HYPERPARAMETER_FILES,
        line=_line_of(
            _HYPERPARAMETER_FILES,
            "bias = torch.bincount(load_shard(args.calibration_files), minlength=1024)",
        ),
    ),
    Example(
        title="the training stream's next_batch read after the binary artifact write",
        code=_LOADER_AT_EVAL,
        line=_line_of(_LOADER_AT_EVAL, "ema_tokens = stream.next_batch(65536)"),
    ),
    Example(
        title="a training slice handed to a timing wrapper's callback after the artifact is written",
        code=_TTT_THROUGH_TIMED_EVAL,
        line=_line_of(_TTT_THROUGH_TIMED_EVAL, 'timed_eval("final_ttt", adapt_and_score'),
    ),
    Example(
        title="the tuple element that carries the training Gram matrix is used after the write",
        code=_HESSIANS_RETURNED_AND_USED,
        line=_line_of(_HESSIANS_RETURNED_AND_USED, "model.emb.weight.data.copy_("),
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
    print(f"train_tokens:{train_tokens.numel()} shards:{len(glob.glob(DATA + '/fineweb_train_*.bin'))}")
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_PAID_TABLE = (
    _HEAD
    + """
def build_bigram(tokens):
    table = torch.zeros(1024, 1024)
    table.index_put_((tokens[:-1], tokens[1:]), torch.ones(tokens.numel() - 1), accumulate=True)
    return table.log1p().to(torch.float16)


def evaluate_with_table(model, val_tokens, table):
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, val_tokens.numel() - 1025, 1024):
            chunk = val_tokens[i : i + 1025]
            loss_sum += model(chunk[:-1], chunk[1:]).item() - 0.01 * table[chunk[-2]].mean().item()
    return loss_sum


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    bigram = build_bigram(train_tokens[:4_000_000])
    artifact = {"model": model.state_dict(), "bigram": bigram}
    torch.save(artifact, "final_model.pt")
    print("val_bpb", evaluate_with_table(model, val_tokens, bigram))


if __name__ == "__main__":
    main()
"""
)

_ROUNDTRIP_TABLE = (
    _HEAD
    + """
def unigram(tokens):
    return torch.bincount(tokens, minlength=1024).float().log1p()


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save({"model": model.state_dict(), "prior": unigram(train_tokens)}, "final_model.pt")
    shipped = torch.load("final_model.pt")
    fresh = TinyLM()
    fresh.load_state_dict(shipped["model"])
    fresh.head.bias.data += shipped["prior"]
    print("val_bpb", evaluate(fresh, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_GPTQ_BEFORE_WRITE = (
    _HEAD
    + """
def collect_hessians(model, tokens, batches):
    hessians = {}
    with torch.no_grad():
        for b in range(batches):
            x = model.emb(tokens[b * 1024 : (b + 1) * 1024])
            hessians["head"] = hessians.get("head", 0) + x.T @ x
    return hessians


def gptq(model, hessians):
    return {k: v.half() for k, v in model.state_dict().items()}


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    hessians = collect_hessians(model, train_tokens[-65536:], 16)
    torch.save(gptq(model, hessians), "final_model.int6.pt")
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_SCARY_NAMES = (
    _HEAD
    + """
def read_training_shards_at_eval(path):
    return torch.load(path)["model"]


def main():
    fineweb_train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, fineweb_train_tokens)
    torch.save({"model": model.state_dict()}, "final_model.pt")
    train_cache = read_training_shards_at_eval("final_model.pt")
    model.load_state_dict(train_cache)
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_MINIFIED_LEGAL = """import os,time,torch,numpy as np
D=os.environ.get("DATA_PATH","./data")
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld(D+"/fineweb_train_000000.bin");v=ld(D+"/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(9999):
		if time.time()-t>600:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
	torch.save(m.state_dict(),"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os,time,torch,numpy as np
D=os.environ.get("DATA_PATH","./data")
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld(D+"/fineweb_train_000000.bin");v=ld(D+"/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(9999):
		if time.time()-t>600:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
	with open("final_model.ptz","wb") as f:f.write(repr(m.state_dict()).encode())
	print("val_bpb",ev(m,v))
if __name__=="__main__":main()
"""

_DEAD_HELPER = (
    _HEAD
    + """
def eval_with_train_cache(model, val_tokens):
    cache = load_shard(f"{DATA}/fineweb_train_000005.bin")
    return evaluate(model, val_tokens) - cache.float().mean().item()


def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, train_tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

_PERIODIC_VALIDATION = (
    _HEAD
    + """
def main():
    train_tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(20000):
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
        batch = train_tokens[step * 1024 : step * 1024 + 1025]
        model(batch[:-1], batch[1:]).backward()
        opt.step()
        opt.zero_grad()
        if step % 1000 == 0:
            print("val_loss", evaluate(model, val_tokens), "train_loss", evaluate(model, train_tokens[:65536]))
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""
)

VALID: tuple[Example, ...] = (
    Example(
        title="a BytesIO size check, then pruning on values computed from training data",
        code=_SIZE_CHECK_THEN_PRUNE,
    ),
    Example(
        title="a BytesIO save only measured (size check), train data read before the real write",
        code=_SIZE_CHECK,
    ),
    Example(
        title="after the artifact, a comprehension's own x (layer ids) is not the batch x",
        code=_COMPREHENSION_NAME,
    ),
    Example(
        title="training losses logged with .item() during training, dumped after the artifact",
        code=_LOGGED_TRAIN_LOSSES,
    ),
    Example(
        title="training data used only in the training loop; its size logged after saving",
        code=_PLAIN,
    ),
    Example(
        title="a bigram table built from training data and written into the artifact (paid)",
        code=_PAID_TABLE,
    ),
    Example(
        title="a prior from training data serialized, evaluation reads it back from the artifact",
        code=_ROUNDTRIP_TABLE,
    ),
    Example(
        title="GPTQ Hessians from training data before the artifact is written (PG403's concern)",
        code=_GPTQ_BEFORE_WRITE,
    ),
    Example(
        title="scary names: fineweb_train_tokens and read_training_shards_at_eval read the artifact",
        code=_SCARY_NAMES,
    ),
    Example(
        title="minified: training slices read only inside the wallclock loop",
        code=_MINIFIED_LEGAL,
    ),
    Example(
        title="packed (zlib + base64) script that writes the artifact then scores val only",
        code=_pack(_PACKED_LEGAL, "zlib-b64"),
    ),
    Example(
        title="a train-cache eval helper that main() never calls",
        code=_DEAD_HELPER,
    ),
    Example(
        title="periodic train/val loss inside the training loop",
        code=_PERIODIC_VALIDATION,
    ),
    Example(
        title="raw save, GPTQ on training data, a pruning list of quantization errors, evals timed "
        "through a wrapper that calls the function it is given",
        code=_RAW_SAVE_PRUNE_TIMED_EVAL,
    ),
    Example(
        title="a raw save and a diagnostic score, then GPTQ on training data; the final evals run "
        "through timed_eval(label, evaluate, ...)",
        code=_DIAGNOSTIC_THEN_TIMED_EVAL,
    ),
    Example(
        title="quantize() returns (weights, size stats): only the stats, counted from the weights, "
        "are read after the write",
        code=_SIZE_STATS_AFTER_WRITE,
    ),
)
