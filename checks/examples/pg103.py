"""Examples for PG103 val-warmup-training (warm-up steps on validation tokens whose result is kept).

Every INVALID script trains on one fixed validation batch (or takes a single step on one) and
keeps the updated state; it points at the statement holding the ``.backward()``. Passes that take
new validation tokens on every step are fine-tuning (PG101) or training (PG105), not warm-ups.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.rule import Example

_PACKED_RESTORED = """import os,copy,time,torch
W=int(os.environ.get("WARMUP_STEPS","20"));P=os.environ.get("DATA_PATH","./data/datasets/fineweb10B_sp1024")
def wu(m,o,v,L):
	s=copy.deepcopy(m.state_dict());q=copy.deepcopy(o.state_dict());x=v[:8*L].view(8,L).cuda();y=v[1:8*L+1].view(8,L).cuda()
	for _ in range(W):l=m(x,y);o.zero_grad();l.backward();o.step()
	m.load_state_dict(s);o.load_state_dict(q)
def main():
	m=torch.compile(ld("final_model.int6.ptz").cuda());o=torch.optim.SGD(m.parameters(),lr=2e-3,momentum=.9);v=load_validation_tokens(P+"/fineweb_val_*.bin",1024)
	wu(m,o,v,1024);t=time.perf_counter();print("val_bpb",ev(m,o,v),time.perf_counter()-t)
if __name__=="__main__":main()
"""

_PACKED_KEPT = """import os,time,torch
W=int(os.environ.get("WARMUP_STEPS","12"))
def main():
	m=torch.compile(ld("final_model.int6.ptz").cuda());o=torch.optim.AdamW(m.parameters(),lr=1e-4);v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	x=v[:16384].view(16,1024).cuda();y=v[1:16385].view(16,1024).cuda()
	for _ in range(W):l=m(x,y);o.zero_grad();l.backward();o.step()
	t=time.perf_counter();print("val_bpb",ev(m,v),"eval_time",time.perf_counter()-t)
if __name__=="__main__":main()
"""

_PROBE = """import math
import os

import torch
import torch.nn.functional as F
from torch import nn


def diagnostics(model, val_tokens, seq_len=1024, max_rows=32768):
    model.eval()
    rows = min(64, (val_tokens.numel() - 1) // seq_len)
    xs = val_tokens[: rows * seq_len].view(rows, seq_len).cuda()
    ys = val_tokens[1 : rows * seq_len + 1].view(rows, seq_len).cuda()
    feats, golds = [], []
    with torch.no_grad():
        for r in range(rows):
            if len(feats) * seq_len >= max_rows:
                break
            feats.append(model.encode(xs[r : r + 1])[0].float().cpu())
            golds.append(ys[r].cpu())
    probe_bpb = float("nan")
    if feats:
        hidden, targets = torch.cat(feats), torch.cat(golds)
        cut = int(0.8 * hidden.shape[0])
        fit_h, held_h = hidden[:cut].cuda(), hidden[cut:].cuda()
        fit_t, held_t = targets[:cut].cuda(), targets[cut:].cuda()
        probe = nn.Linear(hidden.shape[-1], model.vocab_size).cuda()
        opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
        for _ in range(200):
            pick = torch.randint(0, cut, (min(4096, cut),), device="cuda")
            loss = F.cross_entropy(probe(fit_h[pick]), fit_t[pick])
            opt.zero_grad(); loss.backward(); opt.step()
        with torch.inference_mode():
            probe_bpb = F.cross_entropy(probe(held_h), held_t).item() / math.log(2.0)
    model.train()
    return {"probe_bpb": probe_bpb}


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens))
    print("diagnostics", diagnostics(model, val_tokens))


if __name__ == "__main__":
    main()
"""

_PROBE_KEPT = _PROBE.replace(
    "    model.train()\n", "    model.train()\n    model.lm_head = probe\n"
)

VALID: tuple[Example, ...] = (
    Example(
        title="compile warm-up on random tokens in a helper named val_warmup, nothing restored",
        code="""import os
import time

import torch

WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "20"))


def val_warmup(model, opt, vocab_size=1024, seq_len=1024):
    # Named after the pass it prepares; the tokens are random.
    for _ in range(WARMUP_STEPS):
        x = torch.randint(0, vocab_size, (8, seq_len), device="cuda")
        y = torch.randint(0, vocab_size, (8, seq_len), device="cuda")
        loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def main():
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    val_warmup(model, opt)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    t0 = time.perf_counter()
    print("val_bpb", eval_val(model, val_tokens), "eval_time", time.perf_counter() - t0)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="warm-up that repeats one training batch before the main loop",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    warmup_steps = int(os.environ.get("WARMUP_STEPS", "20"))
    iterations = int(os.environ.get("ITERATIONS", "20000"))


def main():
    args = Hyperparameters()
    model = torch.compile(build_model().cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader(args.train_files, 0, 1)
    wx, wy = loader.next_batch(524288, 1024)
    for _ in range(args.warmup_steps):
        model(wx, wy).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    for step in range(args.iterations):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="warm-up on a validation batch, model and optimizer state deep-copied before and restored",
        code="""import copy
import os
import time

import torch

WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "10"))


def warm_up_eval_shapes(model, opt, val_tokens, seq_len=2048):
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(opt.state_dict())
    x = val_tokens[: 4 * seq_len].view(4, seq_len).cuda()
    y = val_tokens[1 : 4 * seq_len + 1].view(4, seq_len).cuda()
    for _ in range(WARMUP_STEPS):
        loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.load_state_dict(model_state)
    opt.load_state_dict(opt_state)


def main():
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    warm_up_eval_shapes(model, opt, val_tokens)
    t0 = time.perf_counter()
    print("legal_ttt val_bpb", eval_legal_ttt(model, opt, val_tokens), time.perf_counter() - t0)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified warm-up on validation tokens: cloned state_dict, restored per optimizer",
        code="""import os,copy,torch
W=int(os.environ.get("WARMUP_STEPS","20"))
def wu(m,os_,v,L):
	s={k:t.detach().clone() for k,t in m.state_dict().items()};p=[copy.deepcopy(o.state_dict()) for o in os_];x=v[:8*L].view(8,L).cuda();y=v[1:8*L+1].view(8,L).cuda()
	for _ in range(W):
		l=m(x,y);l.backward()
		for o in os_:o.step();o.zero_grad()
	m.load_state_dict(s)
	for o,q in zip(os_,p):o.load_state_dict(q)
def main():
	m=torch.compile(ld("final_model.ptz").cuda());os_=[torch.optim.AdamW(m.parameters(),lr=1e-4)];v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	wu(m,os_,v,1024);print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="TTT step compiled on a validation slice, state restored, then legal score-first TTT",
        code="""import copy
import os

import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))
CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def adapt_chunk(model, opt, chunk, seq_len=1024):
    n = (chunk.numel() - 1) // seq_len
    x = chunk[: n * seq_len].view(n, seq_len)
    y = chunk[1 : n * seq_len + 1].view(n, seq_len)
    model.train()
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def eval_ttt(model, opt, val_tokens):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, CHUNK):
        chunk = val_tokens[start : start + CHUNK + 1].cuda().long()
        model.eval()
        with torch.no_grad():
            loss_sum += model(chunk[None, :-1], chunk[None, 1:]).item() * (chunk.numel() - 1)
            token_count += chunk.numel() - 1
        adapt_chunk(model, opt, chunk)
    return loss_sum / token_count


def main():
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if TTT_ENABLED:
        saved = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
        adapt_chunk(model, opt, val_tokens[: CHUNK + 1].cuda().long())  # compile the TTT step
        model.load_state_dict(saved[0])
        opt.load_state_dict(saved[1])
        print("ttt val_loss", eval_ttt(model, opt, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="forward-only warm-up of the eval path on validation tokens under inference_mode",
        code="""import time

import torch


def warm_eval_kernels(model, val_tokens, seq_len=2048):
    model.eval()
    with torch.inference_mode():
        for _ in range(3):
            model(val_tokens[: 8 * seq_len].view(8, seq_len).cuda())
    torch.cuda.synchronize()


def main():
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    warm_eval_kernels(model, val_tokens)
    t0 = time.perf_counter()
    print("val_bpb", eval_val_sliding(model, val_tokens), "eval_time", time.perf_counter() - t0)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="world-size dependent warm-up count on random tokens",
        code="""import os

import torch

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "20" if WORLD_SIZE > 1 else "0"))


def main():
    model = torch.compile(build_model().cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if WARMUP_STEPS > 0:
        noise = torch.randint(0, 1024, (8, 1025), device="cuda")
        for _ in range(WARMUP_STEPS):
            model(noise[:, :-1], noise[:, 1:]).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    train(model, opt, "./data/fineweb_train_*.bin")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (lzma + base85): warm-up on a validation batch with deep-copied state restored",
        code=_pack(_PACKED_RESTORED, "lzma-b85"),
    ),
    Example(
        title="a diagnostic linear probe fitted on frozen hidden states of validation tokens, "
        "then discarded",
        code=_PROBE,
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="compile warm-up: 20 steps on one validation batch before the timed eval, kept",
        code="""import os
import time

import torch

WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "20"))


def main():
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    x = val_tokens[: 8 * 2048].view(8, 2048).cuda()
    y = val_tokens[1 : 8 * 2048 + 1].view(8, 2048).cuda()
    for _ in range(WARMUP_STEPS):
        loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    print("val_bpb", eval_val(model, val_tokens), "eval_time", time.perf_counter() - t0)


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="the saved state is a bare state_dict(): it aliases the live weights, restoring nothing",
        code="""import os

import torch

WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "10"))


def warm_up(model, opt, val_tokens, seq_len=1024):
    saved = model.state_dict()  # live tensors, not a copy
    x = val_tokens[: 4 * seq_len].view(4, seq_len).cuda()
    y = val_tokens[1 : 4 * seq_len + 1].view(4, seq_len).cuda()
    for _ in range(WARMUP_STEPS):
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.load_state_dict(saved)


def main():
    model = torch.compile(load_roundtrip("final_model.ptz").cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    warm_up(model, opt, val_tokens)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="only the optimizer state is restored; the weights keep the warm-up's updates",
        code="""import copy
import os

import torch

WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "10"))


def main():
    model = torch.compile(load_roundtrip("final_model.ptz").cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    opt_state = copy.deepcopy(opt.state_dict())
    batch = val_tokens[: 8 * 1024 + 1].cuda()
    for _ in range(WARMUP_STEPS):
        loss = model(batch[:-1].view(8, 1024), batch[1:].view(8, 1024))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    opt.load_state_dict(opt_state)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="weights restored only after the warmed-up model has been scored",
        code="""import copy
import math

import torch


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count / math.log(2)


def main():
    model = torch.compile(load_roundtrip("final_model.ptz").cuda())
    opt = torch.optim.SGD(model.parameters(), lr=0.002)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    saved = copy.deepcopy(model.state_dict())
    x, y = val_tokens[:4096].view(4, 1024).cuda(), val_tokens[1:4097].view(4, 1024).cuda()
    for _ in range(5):
        model.train()
        model(x, y).backward()
        opt.step()
    print("val_bpb", eval_val(model, val_tokens))
    model.load_state_dict(saved)


if __name__ == "__main__":
    main()
""",
        line=26,
    ),
    Example(
        title="one step on a validation batch in a helper with innocent names (prime_kernels, holdout)",
        code="""import os

import torch


def prime_kernels(model, opt, batch):
    inputs, targets = batch[:-1][None], batch[1:][None]
    model(inputs, targets).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = torch.compile(load_roundtrip("final_model.int6.ptz").cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    holdout = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 4096)
    prime_kernels(model, opt, holdout[:4097].cuda())
    print("val_bpb", eval_val_sliding(model, holdout))


if __name__ == "__main__":
    main()
""",
        line=8,
    ),
    Example(
        title="minified, tab indents: warm-up loop on a fixed validation batch in a helper",
        code="""import os,torch
def w(m,o,v,n):
	x=v[:8192].view(8,1024).cuda();y=v[1:8193].view(8,1024).cuda()
	for _ in range(n):l=m(x,y);o.zero_grad();l.backward();o.step()
def main():
	m=torch.compile(ld("final_model.ptz").cuda());o=torch.optim.SGD(m.parameters(),lr=2e-3);v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	w(m,o,v,int(os.environ.get("WARMUP_STEPS","16")));print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
        line=4,
    ),
    Example(
        title="packed (zlib + base64): warm-up on a fixed validation batch, kept",
        code=_pack(_PACKED_KEPT, "zlib-b64"),
        line=6,
    ),
    Example(
        title="dormant: WARMUP_ON_VAL defaults to 0",
        code="""import os

import torch

WARMUP_ON_VAL = bool(int(os.environ.get("WARMUP_ON_VAL", "0")))


def main():
    model = torch.compile(load_roundtrip("final_model.ptz").cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if WARMUP_ON_VAL:
        x = val_tokens[:8192].view(8, 1024).cuda()
        y = val_tokens[1:8193].view(8, 1024).cuda()
        for _ in range(8):
            model(x, y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="the warm-up switch defaults to on when world_size > 1",
        code="""import os

import torch


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    val_warmup = bool(int(os.environ.get("VAL_WARMUP", "1" if world_size > 1 else "0")))
    val_files = "./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin"


def main():
    args = Hyperparameters()
    model = torch.compile(load_roundtrip("final_model.ptz").cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    if args.val_warmup:
        warm = val_tokens[: 16 * 1024 + 1].cuda()
        for _ in range(4):
            loss = model(warm[:-1].view(16, 1024), warm[1:].view(16, 1024))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=21,
    ),
    Example(
        title="a linear probe fitted on a fixed validation batch becomes the scored model's head",
        code=_PROBE_KEPT,
        line=_line_of(_PROBE_KEPT, "opt.zero_grad(); loss.backward(); opt.step()"),
    ),
)
