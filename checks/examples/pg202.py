"""Examples for PG202 slot-on-scored-targets.

Every INVALID script points at the backward pass (or ``torch.autograd.grad``) that optimises a
tensor created during evaluation against a loss on the window's targets, before the NLL
recomputed with that tensor is added to the score. Causal SLOT (the loss stops where the scored
slice starts) is still INVALID, but reported as a note.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_SLOT = """import os,math,torch,torch.nn.functional as F
N=int(os.environ.get("SLOT_STEPS","6"))
def ev(m,v,L=2048,S=64):
	m.eval();loss_sum=0.;token_count=0
	for w in range(0,v.numel()-L,S):
		c=v[w:w+L+1].cuda().long();x=c[None,:-1];y=c[None,1:]
		with torch.no_grad():h=m.hidden(x).float()
		d=torch.zeros(1,1,h.size(-1),device=h.device,requires_grad=True);o=torch.optim.AdamW([d],lr=3e-3)
		for _ in range(N):o.zero_grad();l=F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten());l.backward();o.step()
		with torch.no_grad():n=F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten(),reduction="none");f=0 if w==0 else L-S;loss_sum+=n[f:].sum().item();token_count+=L-f
	return loss_sum/token_count/math.log(2)
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",2048)
	print("val_loss",ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math
import torch
import torch.nn.functional as F

CHUNK = int(os.environ.get("TTT_CHUNK", "32768"))


def ttt_logit_bias(model, val_tokens, vocab=1024, lr=1e-2):
    bias = torch.zeros(vocab, device="cuda", requires_grad=True)
    opt = torch.optim.SGD([bias], lr=lr)
    loss_sum, token_count = 0.0, 0
    model.eval()
    for s in range(0, val_tokens.numel() - CHUNK - 1, CHUNK):
        chunk = val_tokens[s : s + CHUNK + 1].cuda().long()
        x, y = chunk[None, :-1], chunk[None, 1:]
        with torch.no_grad():
            logits = model.logits(x).float()
        with torch.no_grad():
            loss_sum += F.cross_entropy((logits + bias).flatten(0, 1), y.flatten(), reduction="sum").item()
            token_count += y.numel()
        opt.zero_grad()
        F.cross_entropy((logits + bias).flatten(0, 1), y.flatten()).backward()
        opt.step()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_model("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("ttt val_loss", ttt_logit_bias(model, val_tokens))


if __name__ == "__main__":
    main()
"""


_HELPER_MADE_DELTA = """import math
import os

import torch
import torch.nn.functional as F


def make_delta(dim, device):
    return torch.zeros(1, 1, dim, device=device, requires_grad=True)


def eval_windows(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        w = val_tokens[s : s + seq_len + 1].cuda()
        x, y = w[:-1][None], w[1:][None]
        with torch.no_grad():
            h = model.hidden(x)
        delta = make_delta(h.size(-1), h.device)
        opt = torch.optim.AdamW([delta], lr=3e-3)
        for _ in range(6):
            opt.zero_grad()
            F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
            opt.step()
        with torch.no_grad():
            nll = F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="sum")
        loss_sum += nll.item()
        token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_model("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_bpb", eval_windows(model, val_tokens))


main()
"""


_HELPER_MADE_ADAPTER = """import os

import torch
import torch.nn.functional as F


def make_adapter(dim, rank, device):
    return torch.zeros(dim, rank, device=device, requires_grad=True)


def eval_doc_ttt(model, docs, chunk=256):
    loss_sum, token_count = 0.0, 0
    for doc in docs:
        adapter = make_adapter(512, 8, "cuda")
        opt = torch.optim.SGD([adapter], lr=1e-3)
        for s in range(0, doc.numel() - 1, chunk):
            w = doc[s : s + chunk + 1].cuda()
            x, y = w[:-1][None], w[1:][None]
            nll = F.cross_entropy(model(x, adapter).flatten(0, 1).float(), y.flatten(), reduction="none")
            loss_sum += nll.detach().sum().item()
            token_count += y.numel()
            opt.zero_grad()
            nll.mean().backward()
            opt.step()
    return loss_sum / token_count


def main():
    model = load_model("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_loss", eval_doc_ttt(model, split_documents(val_tokens)))


main()
"""


_LBFGS_SLOT = """import math
import os

import torch
import torch.nn.functional as F

STEPS = int(os.environ.get("FIT_STEPS", "4"))


def eval_windows(model, val_tokens, seq_len=1024, stride=64, batch=16):
    starts = list(range(0, val_tokens.numel() - seq_len - 1, stride))
    loss_sum = torch.zeros((), dtype=torch.float64, device="cuda")
    token_count = 0
    for b in range(0, len(starts), batch):
        rows = [val_tokens[s : s + seq_len + 1] for s in starts[b : b + batch]]
        chunk = torch.stack(rows).cuda().long()
        x, y = chunk[:, :-1], chunk[:, 1:]
        with torch.no_grad():
            h = model.hidden(x).float()
        shift = torch.zeros(len(rows), 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.LBFGS([shift], lr=0.5, max_iter=5, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            nll = F.cross_entropy(model.head(h + shift).flatten(0, 1), y.flatten())
            nll.backward()
            return nll

        for _ in range(STEPS):
            opt.step(closure)
        with torch.no_grad():
            nll = F.cross_entropy(model.head(h + shift).flatten(0, 1), y.flatten(), reduction="none")
            loss_sum += nll.view(len(rows), -1)[:, -stride:].sum()
            token_count += len(rows) * stride
    return (loss_sum / token_count).item() / math.log(2)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    print("val_bpb", eval_windows(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
"""

_INLINE_SLOT = """import os

import torch
import torch.nn.functional as F

FIT = bool(int(os.environ.get("FIT_WINDOW_BIAS", "1")))


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if FIT:
        acc = torch.zeros((), dtype=torch.float64, device="cuda")
        n = 0
        for ws in range(0, val_tokens.numel() - 1025, 512):
            ct = val_tokens[ws : ws + 1025].cuda().long()
            xb, yb = ct[None, :-1], ct[None, 1:]
            with torch.no_grad():
                hid = model.hidden(xb).float()
            bias = torch.zeros(1, 1, model.vocab_size, device="cuda", requires_grad=True)
            sopt = torch.optim.AdamW([bias], lr=1e-2)
            for _ in range(8):
                sopt.zero_grad()
                F.cross_entropy((model.head(hid) + bias).flatten(0, 1), yb.flatten()).backward()
                sopt.step()
            with torch.no_grad():
                lg = model.head(hid) + bias
            nll = F.cross_entropy(lg.flatten(0, 1), yb.flatten(), reduction="none")
            acc += nll[512:].double().sum()
            n += 512
        print("val_loss", (acc / n).item())


if __name__ == "__main__":
    main()
"""

_LBFGS_SCORE_FIRST = """import math

import torch
import torch.nn.functional as F


def eval_carry(model, val_tokens, seq_len=1024):
    shift = torch.zeros(1, 1, model.dim, device="cuda", requires_grad=True)
    opt = torch.optim.LBFGS([shift], lr=0.5, max_iter=4)
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        chunk = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = chunk[None, :-1], chunk[None, 1:]
        with torch.no_grad():
            h = model.hidden(x).float()
            nll = F.cross_entropy(model.head(h + shift).flatten(0, 1), y.flatten(), reduction="none")
            loss_sum += nll.sum().item()
            token_count += y.numel()

        def refit():
            opt.zero_grad()
            loss = F.cross_entropy(model.head(h + shift).flatten(0, 1), y.flatten())
            loss.backward()
            return loss

        opt.step(refit)
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    print("val_bpb", eval_carry(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
"""

_INLINE_SCORE_FIRST = """import torch
import torch.nn.functional as F


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    bias = torch.zeros(1, 1, model.vocab_size, device="cuda", requires_grad=True)
    sopt = torch.optim.AdamW([bias], lr=1e-2)
    acc = torch.zeros((), dtype=torch.float64, device="cuda")
    n = 0
    for ws in range(0, val_tokens.numel() - 1025, 1024):
        ct = val_tokens[ws : ws + 1025].cuda().long()
        xb, yb = ct[None, :-1], ct[None, 1:]
        with torch.no_grad():
            hid = model.hidden(xb).float()
            nll = F.cross_entropy((model.head(hid) + bias).flatten(0, 1), yb.flatten(), reduction="none")
        acc += nll.double().sum()
        n += nll.numel()
        sopt.zero_grad()
        F.cross_entropy((model.head(hid) + bias).flatten(0, 1), yb.flatten()).backward()
        sopt.step()
    print("val_loss", (acc / n).item())


if __name__ == "__main__":
    main()
"""


VALID: tuple[Example, ...] = (
    Example(
        title="score-first TTT on the model's weights: no tensor is created trainable at eval",
        code="""import math

import torch


def score_first_ttt(model, val_tokens, chunk=32768, lr=1e-4):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_sum, token_count = 0.0, 0
    n_chunks = (val_tokens.numel() - 1) // chunk
    for ci in range(n_chunks):
        local = val_tokens[ci * chunk : (ci + 1) * chunk + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        model.eval()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
        if ci < n_chunks - 1:
            model.train()
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"ttt val_loss:{score_first_ttt(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="per-document LoRA made with nn.Parameter at eval: each chunk scored, then one step on it",
        code="""import math

import torch
import torch.nn.functional as F
from torch import nn


def lora_ttt(model, val_tokens, doc_bounds, rank=8, dim=512, chunk=256, lr=1e-3):
    loss_sum, token_count = 0.0, 0
    model.eval()
    for start, end in doc_bounds:
        lora_a = nn.Parameter(torch.randn(dim, rank, device="cuda") / math.sqrt(dim))
        lora_b = nn.Parameter(torch.zeros(rank, dim, device="cuda"))
        opt = torch.optim.Adam([lora_a, lora_b], lr=lr)
        doc = val_tokens[start : end + 1].cuda().long()
        for c in range(0, doc.numel() - 1, chunk):
            x, y = doc[None, c : c + chunk], doc[None, c + 1 : c + chunk + 1]
            h = model.hidden(x)
            logits = model.head(h + h @ lora_a @ lora_b)
            nll = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="none")
            loss_sum += nll.sum().item()
            token_count += y.numel()
            opt.zero_grad()
            nll.mean().backward()
            opt.step()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print("lora ttt val_loss", lora_ttt(model, val_tokens, find_documents(val_tokens)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a learnable logit bias trained during training, then used under no_grad at eval",
        code="""import math

import torch
import torch.nn.functional as F
from torch import nn


def main():
    model = build_model().cuda()
    slot_bias = nn.Parameter(torch.zeros(1024, device="cuda"))
    opt = torch.optim.AdamW(list(model.parameters()) + [slot_bias], lr=6e-4)
    loader = DistributedTokenLoader("./data/fineweb_train_*.bin", 0, 1)
    for step in range(5000):
        x, y = loader.next_batch(524288, 1024)
        logits = model.logits(x) + slot_bias
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - 1024 - 1, 1024):
            local = val_tokens[s : s + 1025].cuda().long()
            x, y = local[None, :-1], local[None, 1:]
            logits = model.logits(x) + slot_bias
            loss_sum += F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum").item()
            token_count += y.numel()
    print(f"val_bpb:{loss_sum / token_count / math.log(2):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a SLOT evaluator that main() never calls",
        code="""import torch
import torch.nn.functional as F


def eval_slot(model, val_tokens, seq_len=1024, steps=8):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(x)
        delta = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=1e-2)
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
            opt.step()
        with torch.no_grad():
            loss_sum += F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="sum").item()
            token_count += y.numel()
    return loss_sum / token_count


def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("val_loss", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="scary names: 'slot_delta' is a fixed, untrainable offset added under no_grad",
        code="""import math

import torch
import torch.nn.functional as F


def eval_val_slot(model, val_tokens, slot_delta, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for ws in range(0, val_tokens.numel() - seq_len, stride):
            local = val_tokens[ws : ws + seq_len + 1].cuda().long()
            x, y = local[None, :-1], local[None, 1:]
            hidden = model.forward_hidden(x) + slot_delta
            nll = F.cross_entropy(model.compute_logits(hidden).flatten(0, 1).float(), y.flatten(), reduction="none")
            first = 0 if ws == 0 else seq_len - stride
            loss_sum += nll[first:].sum().item()
            token_count += nll.numel() - first
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    slot_delta = torch.zeros(1, 1, 512, device="cuda", requires_grad=False)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print("slot val_bpb", eval_val_slot(model, val_tokens, slot_delta))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a persistent delta fitted on windows already scored, applied to the next ones",
        code="""import math

import torch
import torch.nn.functional as F


def eval_online_delta(model, val_tokens, seq_len=1024, lr=3e-3):
    model.eval()
    delta = torch.zeros(1, 1, 512, device="cuda").requires_grad_()
    opt = torch.optim.Adam([delta], lr=lr)
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(x)
            loss_sum += F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="sum").item()
            token_count += y.numel()
        opt.zero_grad()
        F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
        opt.step()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"online val_bpb:{eval_online_delta(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a gradient-norm diagnostic on an input perturbation, taken after the window is scored",
        code="""import torch
import torch.nn.functional as F


def eval_with_sensitivity(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count, grad_norm_sum = 0.0, 0, 0.0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        emb = model.embed(x).detach()
        noise = torch.zeros_like(emb, requires_grad=True)
        logits = model.head_from_embeddings(emb + noise)
        nll = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="none")
        loss_sum += nll.detach().sum().item()
        token_count += y.numel()
        (g,) = torch.autograd.grad(nll.mean(), [noise])
        grad_norm_sum += g.norm().item()
    print("mean input-gradient norm", grad_norm_sum / max(1, token_count))
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("val_loss", eval_with_sensitivity(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified score-first LoRA TTT with tab indents",
        code="""import os,math,torch,torch.nn as nn,torch.nn.functional as F
def t(m,v,C=256,r=4,D=384):
	m.eval();loss_sum=0.;token_count=0;a=nn.Parameter(torch.zeros(D,r,device="cuda"));b=nn.Parameter(torch.randn(r,D,device="cuda")*.01);o=torch.optim.Adam([a,b],lr=1e-3)
	for i in range(0,v.numel()-C-1,C):
		c=v[i:i+C+1].cuda().long();x=c[None,:-1];y=c[None,1:];h=m.hidden(x);n=F.cross_entropy(m.head(h+h@a@b).flatten(0,1),y.flatten(),reduction="none")
		loss_sum+=n.sum().item();token_count+=C;o.zero_grad();n.mean().backward();o.step()
	return loss_sum/token_count/math.log(2)
def main():
	m=load_model("final_model.ptz").cuda();print("val",t(m,load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin")))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="the chunk's score is recorded after backward() but before opt.step(): scored first",
        code="""import torch
import torch.nn.functional as F


def bias_ttt(model, val_tokens, chunk=1024):
    model.eval()
    bias = torch.zeros(1024, device="cuda", requires_grad=True)
    opt = torch.optim.Adam([bias], lr=1e-3)
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - chunk - 1, chunk):
        local = val_tokens[s : s + chunk + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        nll = F.cross_entropy((model.logits(x).detach() + bias).flatten(0, 1), y.flatten(), reduction="none")
        opt.zero_grad()
        nll.mean().backward()
        loss_sum += nll.detach().sum().item()
        token_count += y.numel()
        opt.step()
    return loss_sum / token_count


def main():
    print("val_loss", bias_ttt(load_roundtrip("final_model.ptz").cuda(), load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (zlib + base64) logit bias trained score-first, chunk by chunk",
        code=_pack(_PACKED_LEGAL, "zlib-b64"),
    ),
    Example(
        title="a per-document adapter made by a helper: each chunk is scored before the step on it",
        code=_HELPER_MADE_ADAPTER,
    ),
    Example(
        title="L-BFGS with a closure refits a carried shift on the chunk it has just scored",
        code=_LBFGS_SCORE_FIRST,
    ),
    Example(
        title="inline in main, score kept as `acc`: each window scored before the bias steps on it",
        code=_INLINE_SCORE_FIRST,
    ),
)

# The targets are a second slice of the tokens, one position later than the inputs; their names
# say nothing (`a`, `w`): what makes `w` the scored tokens is the shifted slice.
_SHIFTED_SLICES = """import glob

import numpy as np
import torch
import torch.nn.functional as F


def read_tokens(pattern):
    files = sorted(glob.glob(pattern))
    return torch.cat([torch.from_numpy(np.fromfile(f, dtype=np.uint16).astype(np.int64)) for f in files])


def adapted_score(model, tokens, seq_len, steps):
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, tokens.numel() - 1 - seq_len, seq_len):
        a = tokens[i : i + seq_len][None]
        w = tokens[i + 1 : i + 1 + seq_len][None]
        with torch.no_grad():
            h = model.hidden(a)
        shift = torch.zeros(1, 1, h.size(-1), requires_grad=True)
        opt = torch.optim.AdamW([shift], lr=1e-2)
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model.head(h + shift).flatten(0, 1), w.flatten()).backward()
            opt.step()
        with torch.no_grad():
            total += F.cross_entropy(
                model.head(h + shift).flatten(0, 1), w.flatten(), reduction="sum"
            )
    return total


def main(model):
    print("val_loss", adapted_score(model, read_tokens("data/fineweb_val_*.bin"), 1024, 8))
"""

INVALID: tuple[Example, ...] = (
    Example(
        title="targets taken as the slice one position after the inputs, under meaningless names",
        code=_SHIFTED_SLICES,
        line=_line_of(_SHIFTED_SLICES, ".backward()"),
    ),
    Example(
        title="SLOT: a hidden-state delta [bsz,1,d] fitted with AdamW on the whole window, then scored",
        code="""import math
import os

import torch
import torch.nn.functional as F

SLOT_STEPS = int(os.environ.get("SLOT_STEPS", "8"))
SLOT_LR = float(os.environ.get("SLOT_LR", "0.005"))


def eval_val_slot(model, val_tokens, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    total = val_tokens.numel() - 1
    for ws in range(0, total - seq_len + 1, stride):
        local = val_tokens[ws : ws + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            hidden = model.forward_hidden(x)
        hidden = hidden.detach().float()
        delta = torch.zeros(1, 1, hidden.size(-1), device=hidden.device, requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=SLOT_LR)
        for _ in range(SLOT_STEPS):
            opt.zero_grad()
            logits = model.compute_logits(hidden + delta)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits = model.compute_logits(hidden + delta)
            nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none")
            first = 0 if ws == 0 else seq_len - stride
            loss_sum += nll[first:].sum().item()
            token_count += seq_len - first
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"slot val_bpb:{eval_val_slot(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=27,
    ),
    Example(
        title="innocent names: a 'calibration' logit bias [bsz,1,V] fitted on the scored mask, batched windows",
        code="""import math

import torch
import torch.nn.functional as F


def evaluate_sliding_window(model, val_tokens, batch=32, seq_len=1024, stride=128, vocab=1024):
    model.eval()
    loss_sum, byte_count = 0.0, 0.0
    starts = list(range(0, val_tokens.numel() - seq_len - 1, stride))
    positions = torch.arange(seq_len, device="cuda")[None]
    for b in range(0, len(starts), batch):
        windows = torch.stack([val_tokens[s : s + seq_len + 1] for s in starts[b : b + batch]]).cuda().long()
        x, y = windows[:, :-1], windows[:, 1:]
        bsz = x.size(0)
        with torch.no_grad():
            base = model.logits(x).float()
        scored = (positions >= seq_len - stride).float()
        calibration = torch.zeros(bsz, 1, vocab, device="cuda", requires_grad=True)
        tuner = torch.optim.Adam([calibration], lr=0.01)
        for _ in range(4):
            nll = F.cross_entropy((base + calibration).transpose(1, 2), y, reduction="none")
            objective = (nll * scored).sum() / scored.sum()
            tuner.zero_grad()
            objective.backward()
            tuner.step()
        with torch.no_grad():
            nll = F.cross_entropy((base + calibration).transpose(1, 2), y, reduction="none")
            loss_sum += (nll * scored).sum().item()
            byte_count += bytes_of(y, scored)
    return loss_sum / byte_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"final_sliding_window val_bpb:{evaluate_sliding_window(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=25,
    ),
    Example(
        title="requires_grad_() and torch.autograd.grad with a manual update of the delta",
        code="""import math

import torch
import torch.nn.functional as F


def eval_val(model, val_tokens, seq_len=1024, steps=5, lr=0.1):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        inputs, targets = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(inputs).float()
        shift = torch.zeros(1, 1, h.size(-1), device="cuda").requires_grad_()
        for _ in range(steps):
            objective = F.cross_entropy(model.head(h + shift).flatten(0, 1), targets.flatten())
            (g,) = torch.autograd.grad(objective, [shift])
            shift = (shift - lr * g).detach().requires_grad_()
        with torch.no_grad():
            loss_sum += F.cross_entropy(model.head(h + shift).flatten(0, 1), targets.flatten(), reduction="sum").item()
            token_count += targets.numel()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"val_bpb:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=18,
    ),
    Example(
        title="an nn.Parameter made per window and fitted by a helper; the finding is the helper's backward",
        code="""import math

import torch
import torch.nn.functional as F
from torch import nn


def refine(model, hidden, targets, offset, steps=6):
    opt = torch.optim.SGD([offset], lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model.head(hidden + offset).flatten(0, 1), targets.flatten()).backward()
        opt.step()


def legal_eval(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            hidden = model.hidden(x)
        offset = nn.Parameter(torch.zeros(1, 1, hidden.size(-1), device="cuda"))
        refine(model, hidden, y, offset)
        with torch.no_grad():
            loss_sum += F.cross_entropy(model.head(hidden + offset).flatten(0, 1), y.flatten(), reduction="sum").item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("legal val_bpb", legal_eval(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
        line=12,
    ),
    Example(
        title="minified SLOT with one-letter names, ';'-joined statements and tab indents",
        code="""import os,math,torch,torch.nn.functional as F
def e(m,v,L=1024,S=64):
	m.eval();loss_sum=0.;token_count=0
	for w in range(0,v.numel()-L,S):
		c=v[w:w+L+1].cuda().long();x=c[None,:-1];y=c[None,1:]
		with torch.no_grad():h=m.hidden(x)
		d=torch.zeros(1,1,h.size(-1),device="cuda",requires_grad=True);o=torch.optim.AdamW([d],lr=5e-3)
		for _ in range(8):o.zero_grad();F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten()).backward();o.step()
		with torch.no_grad():n=F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten(),reduction="none");f=0 if w==0 else L-S;loss_sum+=n[f:].sum().item();token_count+=L-f
	return loss_sum/token_count/math.log(2)
def main():
	m=load_model("final_model.ptz").cuda();print("val_bpb",e(m,load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin")))
if __name__=="__main__":main()
""",
        line=8,
    ),
    Example(
        title="minified dormant SLOT: a one-line Hyperparameters class read through getattr",
        code="""import os,math,torch,torch.nn.functional as F
_F=False
class H:data_path=os.environ.get('DATA_PATH','./data');slot_on=bool(int(os.environ.get('SLOT_ON','0')));slot_steps=int(os.environ.get('SLOT_STEPS',5))
def e(a,m,v,L=1024,S=64):
	m.eval();loss_sum=0.;token_count=0;u=getattr(a,'slot_on',_F)
	for w in range(0,v.numel()-L,S):
		c=v[w:w+L+1].cuda().long();x=c[None,:-1];y=c[None,1:]
		with torch.no_grad():h=m.hidden(x)
		if u:
			d=torch.zeros(1,1,h.size(-1),device="cuda",requires_grad=True);o=torch.optim.AdamW([d],lr=5e-3)
			for _ in range(a.slot_steps):o.zero_grad();F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten()).backward();o.step()
		else:d=0
		with torch.no_grad():n=F.cross_entropy(m.head(h+d).flatten(0,1),y.flatten(),reduction="none");f=0 if w==0 else L-S;loss_sum+=n[f:].sum().item();token_count+=L-f
	return loss_sum/token_count/math.log(2)
def main():
	a=H();m=load_model("final_model.ptz").cuda();print("val_bpb",e(a,m,load_validation_tokens(a.data_path+"/fineweb_val_*.bin")))
if __name__=="__main__":main()
""",
        line=11,
        severity=Severity.WARNING,
    ),
    Example(
        title="packed (lzma + base85) minified SLOT, line counted in the decoded text",
        code=_pack(_PACKED_SLOT, "lzma-b85"),
        line=9,
    ),
    Example(
        title="SLOT behind SLOT_ENABLED, off by default: a dormant path, reported as a warning",
        code="""import math
import os

import torch
import torch.nn.functional as F

SLOT_ENABLED = bool(int(os.environ.get("SLOT_ENABLED", "0")))


def eval_plain(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count / math.log(2)


def eval_slot(model, val_tokens, seq_len=1024, steps=8):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(x)
        delta = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=1e-2)
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
            opt.step()
        with torch.no_grad():
            loss_sum += F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="sum").item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if SLOT_ENABLED:
        print(f"slot val_bpb:{eval_slot(model, val_tokens):.6f}")
    else:
        print(f"val_bpb:{eval_plain(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=33,
        severity=Severity.WARNING,
    ),
    Example(
        title="SLOT whose default depends on the GPU count: on for the official 8-GPU run",
        code="""import math
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    slot_enabled = bool(int(os.environ.get("SLOT_ENABLED", "1" if world_size > 1 else "0")))
    slot_steps = int(os.environ.get("SLOT_STEPS", "6"))


def eval_slot(args, model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum = torch.zeros((), device="cuda")
    token_count = torch.zeros((), device="cuda")
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        with torch.no_grad():
            h = model.hidden(x)
        delta = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=1e-2)
        for _ in range(args.slot_steps):
            opt.zero_grad()
            F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten()).backward()
            opt.step()
        with torch.no_grad():
            loss_sum += F.cross_entropy(model.head(h + delta).flatten(0, 1), y.flatten(), reduction="sum")
            token_count += y.numel()
    dist.all_reduce(loss_sum)
    dist.all_reduce(token_count)
    return (loss_sum / token_count).item() / math.log(2)


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if args.slot_enabled:
        print(f"slot val_bpb:{eval_slot(args, model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=28,
    ),
    Example(
        title="causal SLOT: the loss covers only positions before the scored slice (pending: a note)",
        code="""import math

import torch
import torch.nn.functional as F


def eval_causal_slot(model, val_tokens, seq_len=2048, stride=64, steps=8):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for ws in range(0, val_tokens.numel() - seq_len, stride):
        local = val_tokens[ws : ws + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        start = seq_len - stride
        with torch.no_grad():
            h = model.hidden(x)
        delta = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=3e-3)
        for _ in range(steps):
            nll = F.cross_entropy(model.head(h + delta).transpose(1, 2), y, reduction="none")
            opt.zero_grad()
            nll[:, :start].mean().backward()
            opt.step()
        with torch.no_grad():
            nll = F.cross_entropy(model.head(h + delta).transpose(1, 2), y, reduction="none")
            loss_sum += nll[:, start:].sum().item()
            token_count += stride
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("causal slot", eval_causal_slot(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
        line=21,
        severity=Severity.NOTE,
    ),
    Example(
        title="causal SLOT with a position mask (pos < start) against the scored mask (pos >= start)",
        code="""import torch
import torch.nn.functional as F


def eval_masked(model, val_tokens, seq_len=1024, stride=128):
    model.eval()
    loss_sum, token_count = 0.0, 0
    pos = torch.arange(seq_len, device="cuda")
    for ws in range(0, val_tokens.numel() - seq_len, stride):
        local = val_tokens[ws : ws + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        s = 0 if ws == 0 else seq_len - stride
        context_mask = (pos < s).float()
        scored_mask = (pos >= s).float()
        with torch.no_grad():
            h = model.hidden(x)
        bias = torch.zeros(1, 1, h.size(-1), device="cuda", requires_grad=True)
        opt = torch.optim.Adam([bias], lr=1e-2)
        for _ in range(4):
            nll = F.cross_entropy(model.head(h + bias).transpose(1, 2), y, reduction="none")[0]
            opt.zero_grad()
            ((nll * context_mask).sum() / context_mask.sum().clamp_min(1)).backward()
            opt.step()
        with torch.no_grad():
            nll = F.cross_entropy(model.head(h + bias).transpose(1, 2), y, reduction="none")[0]
            loss_sum += (nll * scored_mask).sum().item()
            token_count += int(scored_mask.sum().item())
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("val_loss", eval_masked(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
        line=22,
        severity=Severity.NOTE,
    ),
    Example(
        title="a global logit bias fitted on every validation window, then a separate scoring pass",
        code="""import math

import torch
import torch.nn.functional as F


def fit_then_score(model, val_tokens, vocab=1024, seq_len=1024):
    model.eval()
    prior = torch.zeros(vocab, device="cuda", requires_grad=True)
    opt = torch.optim.Adam([prior], lr=1e-2)
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        with torch.no_grad():
            logits = model.logits(local[None, :-1]).float()
        opt.zero_grad()
        F.cross_entropy((logits + prior).flatten(0, 1), local[1:]).backward()
        opt.step()
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            logits = model.logits(local[None, :-1]).float()
            nll_sum += F.cross_entropy((logits + prior).flatten(0, 1), local[1:], reduction="sum").item()
            token_count += seq_len
    return nll_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print(f"val_bpb:{fit_then_score(model, load_validation_tokens('./data/fineweb_val_*.bin')):.6f}")


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="minified causal SLOT behind CSLOT=0 (off by default): a dormant note stays a note",
        code="""import os,math,torch,torch.nn.functional as F
C=int(os.environ.get("CSLOT","0"))
def e(m,v,L=1024,S=64):
	m.eval();loss_sum=0.;token_count=0
	for w in range(0,v.numel()-L,S):
		c=v[w:w+L+1].cuda().long();x=c[None,:-1];y=c[None,1:]
		with torch.no_grad():h=m.hidden(x)
		d=torch.zeros(1,1,h.size(-1),device="cuda",requires_grad=True);o=torch.optim.AdamW([d],lr=5e-3)
		for _ in range(8):n=F.cross_entropy(m.head(h+d).transpose(1,2),y,reduction="none");o.zero_grad();n[:,:-S].mean().backward();o.step()
		with torch.no_grad():n=F.cross_entropy(m.head(h+d).transpose(1,2),y,reduction="none");loss_sum+=n[:,-S:].sum().item();token_count+=S
	return loss_sum/token_count/math.log(2)
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin")
	if C:print("cslot",e(m,v))
if __name__=="__main__":main()
""",
        line=9,
        severity=Severity.NOTE,
    ),
    Example(
        title="the trainable delta is made by a helper (make_delta); the optimizer over it is the caller's",
        code=_HELPER_MADE_DELTA,
        line=_line_of(_HELPER_MADE_DELTA, ".backward()"),
    ),
    Example(
        title="L-BFGS SLOT: the backward pass is in the closure that opt.step(closure) runs",
        code=_LBFGS_SLOT,
        line=_line_of(_LBFGS_SLOT, "nll.backward()"),
    ),
    Example(
        title="inline SLOT in main with the score summed into `acc` (no accumulator-like name)",
        code=_INLINE_SLOT,
        line=_line_of(_INLINE_SLOT, ".backward()"),
    ),
)
