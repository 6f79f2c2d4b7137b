"""Examples for PG101 val-finetune-before-scoring ("pre-quant TTT").

Every INVALID script trains on validation tokens that were never scored before the update, and
points at the statement holding the ``.backward()`` call. None of them records a score inside
the loop that trains; the scripts that score and train chunk by chunk in the wrong order belong
to PG102.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_PREQUANT_TTT = """import os,math,glob,numpy as np,torch,torch.nn as nn,torch.nn.functional as F
P=os.environ.get("DATA_PATH","./data/datasets/fineweb10B_sp1024")
def sh(f):
	h=np.fromfile(f,dtype="<i4",count=256);return torch.from_numpy(np.fromfile(f,dtype="<u2",count=int(h[2]),offset=1024).astype(np.int64))
class G(nn.Module):
	def __init__(s,V=1024,D=448):
		super().__init__();s.e=nn.Embedding(V,D);s.o=nn.Linear(D,V,bias=False)
	def forward(s,x,y):
		z=s.o(F.rms_norm(s.e(x),(s.e.embedding_dim,)));return F.cross_entropy(z.float().view(-1,z.size(-1)),y.view(-1))
def tr(m,n):
	o=torch.optim.AdamW(m.parameters(),lr=6e-4);L=torch.cat([sh(f) for f in sorted(glob.glob(P+"/fineweb_train_*.bin"))])
	for i in range(n):
		j=i*65536;b=L[j:j+65537].cuda();l=m(b[:-1].view(-1,1024),b[1:].view(-1,1024));o.zero_grad();l.backward();o.step()
def pt(m,v,E):
	o=torch.optim.AdamW(m.parameters(),lr=2e-4)
	for e in range(E):
		for j in range(0,v.numel()-65537,65536):
			b=v[j:j+65537].cuda();x=b[:-1].view(-1,1024);y=b[1:].view(-1,1024);l=m(x,y);o.zero_grad();l.backward();o.step()
def ev(m,v):
	m.eval();s=0.;c=0
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):
			b=v[j:j+1025].cuda();s+=m(b[None,:-1],b[None,1:]).item()*1024;c+=1024
	return s/c/math.log(2)
def main():
	m=G().cuda();tr(m,3000);v=torch.cat([sh(f) for f in sorted(glob.glob(P+"/fineweb_val_*.bin"))])
	pt(m,v,int(os.environ.get("TTT_EPOCHS","4")));torch.save({k:t.half() for k,t in m.state_dict().items()},"final_model.pt");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math, glob
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))

def shard(f):
    h = np.fromfile(f, dtype="<i4", count=256)
    return torch.from_numpy(np.fromfile(f, dtype="<u2", count=int(h[2]), offset=1024).astype(np.int64))

class LM(nn.Module):
    def __init__(s, V=1024, D=512):
        super().__init__(); s.e = nn.Embedding(V, D); s.o = nn.Linear(D, V, bias=False)
    def forward(s, x, y):
        z = s.o(s.e(x)); return F.cross_entropy(z.float().view(-1, z.size(-1)), y.view(-1))

def ttt_eval(m, val_tokens):
    o = torch.optim.SGD(m.parameters(), lr=0.002, momentum=0.9); nll_sum = 0.0; token_count = 0
    for c in range(0, val_tokens.numel() - 1, CHUNK):
        seg = val_tokens[c:c + CHUNK + 1].cuda(); x = seg[:-1][None]; y = seg[1:][None]
        m.eval()
        with torch.no_grad():
            nll_sum += m(x, y).item() * y.numel(); token_count += y.numel()
        m.train(); l = m(x, y); o.zero_grad(); l.backward(); o.step()
    return nll_sum / token_count / math.log(2)

def main():
    m = LM().cuda(); o = torch.optim.AdamW(m.parameters(), lr=6e-4)
    tr = torch.cat([shard(f) for f in sorted(glob.glob(DATA + "/fineweb_train_*.bin"))])
    for i in range(2000):
        b = tr[i * 65536:(i + 1) * 65536 + 1].cuda()
        l = m(b[:-1].view(-1, 1024), b[1:].view(-1, 1024)); o.zero_grad(); l.backward(); o.step()
    torch.save({k: v.half() for k, v in m.state_dict().items()}, "final_model.pt")
    val = torch.cat([shard(f) for f in sorted(glob.glob(DATA + "/fineweb_val_*.bin"))])
    print("val_bpb", ttt_eval(m, val))

if __name__ == "__main__":
    main()
"""

_MINIFIED_ONE_LETTER_SCORES = """import os,math,glob,numpy as np,torch,torch.nn as nn,torch.nn.functional as F
P=os.environ.get("DATA_PATH","./data/datasets/fineweb10B_sp1024");C=int(os.environ.get("TTT_CHUNK","32768"))
def sh(f):
	h=np.fromfile(f,dtype="<i4",count=256);return torch.from_numpy(np.fromfile(f,dtype="<u2",count=int(h[2]),offset=1024).astype(np.int64))
class G(nn.Module):
	def __init__(s,V=1024,D=448):
		super().__init__();s.e=nn.Embedding(V,D);s.o=nn.Linear(D,V,bias=False)
	def forward(s,x,y):
		z=s.o(F.rms_norm(s.e(x),(s.e.embedding_dim,)));return F.cross_entropy(z.float().view(-1,z.size(-1)),y.view(-1))
def tt(m,v,b):
	o=torch.optim.SGD(m.parameters(),lr=2e-3,momentum=.9);a=0.;c=0.
	for i in range(0,v.numel()-1,C):
		s=v[i:i+C+1].cuda();x=s[None,:-1];y=s[None,1:];m.eval()
		with torch.no_grad():a+=m(x,y).item()*y.numel();c+=b[y].sum().item()
		m.train();l=m(x,y);o.zero_grad();l.backward();o.step()
	return a/c/math.log(2)
def main():
	m=G().cuda();o=torch.optim.AdamW(m.parameters(),lr=6e-4);L=torch.cat([sh(f) for f in sorted(glob.glob(P+"/fineweb_train_*.bin"))])
	for i in range(3000):
		k=L[i*65536:i*65536+65537].cuda();l=m(k[:-1].view(-1,1024),k[1:].view(-1,1024));o.zero_grad();l.backward();o.step()
	torch.save(m.state_dict(),"final_model.pt");v=torch.cat([sh(f) for f in sorted(glob.glob(P+"/fineweb_val_*.bin"))])
	print("val_bpb",tt(m,v,torch.ones(1024).cuda()))
if __name__=="__main__":main()
"""

_SCORES_IN_LISTS = """import os, math, glob
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def shard(f):
    h = np.fromfile(f, dtype="<i4", count=256)
    return torch.from_numpy(np.fromfile(f, dtype="<u2", count=int(h[2]), offset=1024).astype(np.int64))


def ttt_eval(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    chunk_nll, chunk_tokens = [], []
    for c in range(0, val_tokens.numel() - 1, CHUNK):
        seg = val_tokens[c : c + CHUNK + 1].cuda()
        x, y = seg[:-1][None], seg[1:][None]
        model.eval()
        with torch.no_grad():
            chunk_nll.append(model(x, y).item() * y.numel())  # the chunk's score, kept in a list
            chunk_tokens.append(y.numel())
        model.train()
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return sum(chunk_nll) / sum(chunk_tokens) / math.log(2)


def main():
    model = load_model("final_model.pt").cuda()
    val = torch.cat([shard(f) for f in sorted(glob.glob(DATA + "/fineweb_val_*.bin"))])
    print("val_bpb", ttt_eval(model, val))


if __name__ == "__main__":
    main()
"""

_PREFIX_ADAPT_IN_EVAL = """import os

import torch

ADAPT = bool(int(os.environ.get("ADAPT_PREFIX", "1")))
PREFIX = int(os.environ.get("ADAPT_PREFIX_TOKENS", "512"))
VAL_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "1000"))


def adapt(model, tokens, steps=3):
    opt = torch.optim.Adam(model.adapter_parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        loss = model(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        opt.step()


def eval_val(model, val_tokens, seq_len=1024):
    part = val_tokens.cuda().long()
    if ADAPT:
        with torch.enable_grad():
            adapt(model, part[: PREFIX + 1].unsqueeze(0))
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for pos in range(0, part.numel() - seq_len - 1, seq_len):
            x = part[pos : pos + seq_len][None]
            y = part[pos + 1 : pos + seq_len + 1][None]
            loss_sum += model(x, y).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    loader = TokenLoader("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    for step in range(20001):
        if step % VAL_EVERY == 0 or step == 20000:
            print(step, "val_loss", eval_val(model, val_tokens))
        if step == 20000:
            break
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad()


if __name__ == "__main__":
    main()
"""

_HELD_IN_OBJECT = """import os

import torch

PRE_TTT = bool(int(os.environ.get("PRE_TTT_ENABLED", "0")))


class Args:
    val_files = os.path.join(os.environ.get("DATA_PATH", "./data"), "fineweb_val_*.bin")
    seq_len = int(os.environ.get("SEQ_LEN", "1024"))


class EvalData:
    def __init__(self, args, device):
        self.val_tokens = load_validation_tokens(args.val_files, args.seq_len).to(device)


def pre_ttt(model, data, epochs=3, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    n = data.val_tokens.numel() - 1
    for _ in range(epochs):
        for s in range(0, n - seq_len, 32 * seq_len):
            local = data.val_tokens[s : s + 32 * seq_len + 1].cuda().long()
            loss = model(local[:-1].view(-1, seq_len), local[1:].view(-1, seq_len))
            loss.backward()
            opt.step()
            opt.zero_grad()


def run(args, device):
    data = EvalData(args, device)
    model = train_model(args, data)
    print("pre-quant", eval_val(model, data))
    if PRE_TTT:
        pre_ttt(model, data)
    torch.save(quantize(model.state_dict()), "final_model.int6.ptz")
    print("quantized", eval_val(model, data))


def main():
    run(Args(), torch.device("cuda"))


if __name__ == "__main__":
    main()
"""

_PREFIX_SCORED_FIRST = """import torch


def adapt(model, tokens, steps=3):
    opt = torch.optim.Adam(model.adapter_parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        model(tokens[:, :-1], tokens[:, 1:]).backward()
        opt.step()


def eval_val(model, val_tokens, seq_len=1024):
    part = val_tokens.cuda().long()
    loss_sum, token_count = 0.0, 0
    for pos in range(0, part.numel() - seq_len - 1, seq_len):
        chunk = part[pos : pos + seq_len + 1][None]
        with torch.no_grad():
            loss_sum += model(chunk[:, :-1], chunk[:, 1:]).item() * seq_len
            token_count += seq_len
        with torch.enable_grad():
            adapt(model, chunk)
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    print("val_loss", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
"""


_THROWAWAY_ADAPTER = """import os

import torch

TTT = bool(int(os.environ.get("TTT_ENABLED", "1")))


def eval_ttt(model, adapter, val_tokens):
    return score_first_lora_ttt(model, adapter, val_tokens)


def run(args, model, val_tokens):
    if TTT:
        # compile the adapter path before the timed evaluation; the warm-up adapter is dropped
        for rank in (args.lora_rank, 2 * args.lora_rank):
            warm = LoRA(model, rank).cuda()
            wopt = torch.optim.AdamW(warm.parameters(), lr=1e-3)
            row = val_tokens[: args.seq_len + 1].cuda().long()
            loss = model(row[None, :-1], row[None, 1:], lora=warm)
            loss.backward()
            wopt.step()
            wopt.zero_grad()
        del warm, wopt
        print("val_bpb", eval_ttt(model, LoRA(model, args.lora_rank).cuda(), val_tokens))


def main():
    args = Args()
    run(args, load_roundtrip("final_model.int6.ptz").cuda(), load_validation_tokens(args.val_files, 1024))


if __name__ == "__main__":
    main()
"""

_KEPT_ADAPTER = _THROWAWAY_ADAPTER.replace(
    "        del warm, wopt\n", "        model.merge(warm)\n"
)


_UNWRAPPED_PREFIX_ADAPT = """import os

import torch
import torch.nn as nn


class Hyperparameters:
    prefix_ttt = bool(int(os.environ.get("PREFIX_TTT", "1")))
    prefix_tokens = int(os.environ.get("PREFIX_TTT_TOKENS", "256"))
    seq_len = int(os.environ.get("TRAIN_SEQ_LEN", "1024"))


class Net(nn.Module):
    def forward(self, x, y):
        return self.loss(self.body(x), y)


def fit_adapter(args, core, tokens):
    adapter = core.new_adapter()
    opt = torch.optim.Adam(adapter.parameters(), lr=1e-3)
    core.train()
    for _ in range(4):
        opt.zero_grad()
        loss = core(tokens[:, :-1], tokens[:, 1:], adapter=adapter)
        loss.backward()
        opt.step()
    core.eval()
    return adapter


def evaluate(args, model, val_tokens):
    # The compiled / DDP wrapper is peeled off only when it is there: a test on the object.
    core = None
    if args.prefix_ttt:
        inner = model.module if hasattr(model, "module") else model
        if isinstance(inner, Net):
            core = inner
    mine = val_tokens.cuda().long()
    adapter = None
    if args.prefix_ttt and core is not None:
        with torch.enable_grad():
            adapter = fit_adapter(args, core, mine[: args.prefix_tokens + 1][None])
    loss_sum, count = 0.0, 0
    with torch.no_grad():
        for pos in range(0, mine.numel() - args.seq_len - 1, args.seq_len):
            x = mine[pos : pos + args.seq_len][None]
            y = mine[pos + 1 : pos + args.seq_len + 1][None]
            loss_sum += model(x, y, adapter=adapter).item() * args.seq_len
            count += args.seq_len
    return loss_sum / count


def main():
    args = Hyperparameters()
    model = torch.compile(Net().cuda())
    train(model, "./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", args.seq_len)
    print("val_loss", evaluate(args, model, val_tokens))


if __name__ == "__main__":
    main()
"""

# Score-first TTT whose score is added by a helper into a running value the caller passes,
# under names that say nothing: the score is what the helper is given, a loss on the targets.
_SCORED_THROUGH_A_HELPER = """import glob

import numpy as np
import torch


def read_tokens(pattern):
    files = sorted(glob.glob(pattern))
    return torch.cat([torch.from_numpy(np.fromfile(f, dtype=np.uint16).astype(np.int64)) for f in files])


def add_into(values, acc):
    acc += values.sum()


def adapt_while_scoring(model, opt, tokens, seq_len):
    acc = torch.zeros((), dtype=torch.float64)
    for i in range(0, tokens.numel() - 1 - seq_len, seq_len):
        a = tokens[i : i + seq_len][None]
        w = tokens[i + 1 : i + 1 + seq_len][None]
        per_token = model(a, w)
        with torch.no_grad():
            add_into(per_token.detach(), acc)
        opt.zero_grad()
        per_token.mean().backward()
        opt.step()
    return acc


def main(model, opt):
    print(adapt_while_scoring(model, opt, read_tokens("data/fineweb_val_*.bin"), 1024))
"""

VALID: tuple[Example, ...] = (
    Example(
        title="score-first TTT whose helper adds each chunk's loss into a running value it is passed",
        code=_SCORED_THROUGH_A_HELPER,
    ),
    Example(
        title="training on train shards with periodic no_grad validation that reuses x, y",
        code="""import os

import torch
import torch.nn.functional as F
from torch import nn


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    iterations = int(os.environ.get("ITERATIONS", "20000"))
    val_loss_every = int(os.environ.get("VAL_LOSS_EVERY", "1000"))
    seq_len = int(os.environ.get("TRAIN_SEQ_LEN", "1024"))


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, x, y):
        logits = self.lm_head(self.tok_emb(x))
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))


def main():
    args = Hyperparameters()
    model = GPT().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    train_loader = DistributedTokenLoader(args.train_files, rank=0, world_size=1)
    val_tokens = load_validation_tokens(args.val_files, args.seq_len)
    for step in range(args.iterations + 1):
        if step % args.val_loss_every == 0 or step == args.iterations:
            model.eval()
            val_loss_sum, n = 0.0, 0
            with torch.no_grad():
                for s in range(0, val_tokens.numel() - 1 - args.seq_len, args.seq_len):
                    local = val_tokens[s : s + args.seq_len + 1].cuda().long()
                    x, y = local[:-1], local[1:]
                    val_loss_sum += model(x[None], y[None]).item()
                    n += 1
            print(f"step:{step} val_loss:{val_loss_sum / n:.4f}")
            model.train()
        if step == args.iterations:
            break
        x, y = train_loader.next_batch(524288, args.seq_len)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="sliding-window evaluation with stride 64 and no training on validation tokens",
        code="""import math
import os

import torch
import torch.nn.functional as F


def eval_val_sliding(model, val_tokens, base_bytes_lut, seq_len=2048, stride=64):
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device="cuda")
    byte_count = torch.zeros((), dtype=torch.float64, device="cuda")
    total = val_tokens.numel() - 1
    with torch.inference_mode():
        for start in range(0, total, stride):
            end = min(start + seq_len, total)
            local = val_tokens[start : end + 1].to("cuda", dtype=torch.int64)
            x, y = local[:-1][None], local[1:][None]
            logits = model(x)
            nll = F.cross_entropy(logits.float()[0], y[0], reduction="none")
            first = 0 if start == 0 else max(end - start - stride, 0)
            loss_sum += nll[first:].sum().double()
            byte_count += base_bytes_lut[y[0, first:]].sum().double()
            if end == total:
                break
    return (loss_sum / byte_count).item() / math.log(2)


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = build_model().cuda()
    train(model, os.path.join(data_path, "fineweb_train_*.bin"))
    torch.save(quantize(model.state_dict()), "final_model.int6.ptz")
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 2048)
    luts = build_sentencepiece_luts(os.environ.get("TOKENIZER_PATH", "fineweb_1024_bpe.model"))
    print(f"final_sliding_window val_bpb:{eval_val_sliding(model, val_tokens, luts[0]):.8f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first chunk TTT with an is_last_chunk guard (the legal PG102 shape)",
        code="""import math
import os

import torch


class Hyperparameters:
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "1")))
    ttt_chunk_tokens = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "3"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.002"))


def eval_val_ttt(args, model, val_tokens, base_bytes_lut):
    opt = torch.optim.SGD(model.parameters(), lr=args.ttt_lr, momentum=0.9)
    loss_sum, byte_count = 0.0, 0.0
    starts = list(range(0, val_tokens.numel() - 1, args.ttt_chunk_tokens))
    for ci, start in enumerate(starts):
        chunk = val_tokens[start : start + args.ttt_chunk_tokens + 1].cuda().long()
        x, y = chunk[:-1].view(1, -1), chunk[1:].view(1, -1)
        model.eval()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            byte_count += base_bytes_lut[y].sum().item()
        is_last_chunk = ci == len(starts) - 1
        if not is_last_chunk:
            model.train()
            for _ in range(args.ttt_epochs):
                loss = model(x, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return loss_sum / byte_count / math.log(2)


def main():
    args = Hyperparameters()
    model = train_and_quantize(args)
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 1024)
    if args.ttt_enabled:
        val_bpb = eval_val_ttt(args, model, val_tokens, build_byte_lut())
        print(f"legal_ttt val_bpb:{val_bpb:.8f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first chunk TTT without a last-chunk guard, AdamW, one step per chunk",
        code="""import os

import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))
CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "65536"))


def score_then_adapt(model, val_tokens, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    nll_sum = torch.zeros((), device="cuda", dtype=torch.float64)
    token_count = 0
    for start in range(0, val_tokens.numel() - 1, CHUNK):
        local = val_tokens[start : start + CHUNK + 1].to("cuda").long()
        usable = (local.numel() - 1) // seq_len * seq_len
        x = local[:usable].view(-1, seq_len)
        y = local[1 : usable + 1].view(-1, seq_len)
        with torch.inference_mode():
            nll_sum += model(x, y).double() * y.numel()
            token_count += y.numel()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (nll_sum / token_count).item()


def main():
    model = train_model()
    torch.save(compress(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(os.environ["DATA_PATH"] + "/fineweb_val_*.bin", 1024)
    if TTT_ENABLED:
        print("ttt val_loss", score_then_adapt(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="per-document LoRA TTT: score chunk k, then one LoRA step on chunk k, reset per document",
        code="""import torch
from torch import nn


class BatchedLoRA(nn.Module):
    def __init__(self, dim, vocab, rank=8):
        super().__init__()
        self.a = nn.Parameter(torch.randn(dim, rank) * 0.01)
        self.b = nn.Parameter(torch.zeros(rank, vocab))

    def reset(self):
        with torch.no_grad():
            self.a.normal_(std=0.01)
            self.b.zero_()


def eval_lora_ttt(model, val_tokens, bos_id=1, chunk=256):
    lora = BatchedLoRA(model.dim, model.vocab_size).cuda()
    opt = torch.optim.Adam(lora.parameters(), lr=1e-3)
    bos = (val_tokens == bos_id).nonzero().flatten().tolist() + [val_tokens.numel()]
    loss_sum, token_count = 0.0, 0
    for d in range(len(bos) - 1):
        doc = val_tokens[bos[d] : bos[d + 1]].cuda().long()
        lora.reset()
        for k in range(0, doc.numel() - 1, chunk):
            x, y = doc[k : k + chunk][None], doc[k + 1 : k + chunk + 1][None]
            x = x[:, : y.size(1)]
            with torch.no_grad():
                loss_sum += model(x, y, lora=lora).item() * y.numel()
                token_count += y.numel()
            loss = model(x, y, lora=lora)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("data/fineweb_val_*.bin", 2048)
    print(f"lora_ttt val_loss:{eval_lora_ttt(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="phased TTT: global SGD only on documents scored in an earlier phase",
        code="""import os

import torch

PHASES = int(os.environ.get("TTT_PHASES", "3"))


def phased_ttt(model, val_tokens, doc_starts):
    docs = [val_tokens[a:b] for a, b in zip(doc_starts[:-1], doc_starts[1:])]
    per_phase = (len(docs) + PHASES - 1) // PHASES
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    nll_sum, token_count = 0.0, 0
    for phase in range(PHASES):
        scored = docs[phase * per_phase : (phase + 1) * per_phase]
        model.eval()
        with torch.no_grad():
            for doc in scored:
                d = doc.cuda().long()
                nll_sum += model(d[None, :-1], d[None, 1:]).item() * (d.numel() - 1)
                token_count += d.numel() - 1
        if phase == PHASES - 1:
            break
        model.train()
        for doc in scored:
            d = doc.cuda().long()
            loss = model(d[None, :-1], d[None, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return nll_sum / token_count


def main():
    model = train_then_roundtrip()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    doc_starts = find_bos(val_tokens) + [val_tokens.numel()]
    print("phased_ttt val_loss", phased_ttt(model, val_tokens, doc_starts))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="pre-quant TTT on a slice of training data, not validation data",
        code="""import glob
import os

import numpy as np
import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def load_data_shard(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    tokens = np.fromfile(path, dtype="<u2", count=int(header[2]), offset=256 * 4)
    return torch.from_numpy(tokens.astype(np.int64))


def adapt(model, tokens, steps=100, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for i in range(steps):
        local = tokens[i * seq_len * 8 : (i + 1) * seq_len * 8 + 1].cuda()
        loss = model(local[:-1].view(8, seq_len), local[1:].view(8, seq_len))
        opt.zero_grad()
        loss.backward()
        opt.step()


def main():
    train_files = sorted(glob.glob(os.path.join(DATA_PATH, "fineweb_train_*.bin")))
    model = train_model(train_files)
    tail = load_data_shard(train_files[-1])[-(2**21) :]
    adapt(model, tail)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(os.path.join(DATA_PATH, "fineweb_val_*.bin"), 1024)
    print("final val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a helper named train_val_ttt_global_sgd that trains only on documents already scored",
        code="""import torch


@torch.no_grad()
def score_docs(model, docs):
    model.eval()
    nll_sum = 0.0
    for doc in docs:
        nll_sum += model(doc[None, :-1], doc[None, 1:]).item() * (doc.numel() - 1)
    return nll_sum


def train_val_ttt_global_sgd(model, opt, docs):
    model.train()
    for doc in docs:
        loss = model(doc[None, :-1], doc[None, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main():
    model = load_roundtrip_model("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048).cuda()
    starts = (val_tokens == 1).nonzero().flatten().tolist() + [val_tokens.numel()]
    docs = [val_tokens[a:b].long() for a, b in zip(starts[:-1], starts[1:])]
    opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9)
    nll_sum, token_count = 0.0, 0
    for g in range(0, len(docs), 64):
        group = docs[g : g + 64]
        nll_sum += score_docs(model, group)
        token_count += sum(d.numel() - 1 for d in group)
        train_val_ttt_global_sgd(model, opt, group)
    print(f"ttt val_loss:{nll_sum / token_count:.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a pre-quant TTT helper that is defined but never called from main()",
        code="""import os

import torch


def prequant_ttt(model, val_tokens, epochs=3, seq_len=1024):
    # Kept from an earlier experiment; the final recipe dropped it.
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    for _ in range(epochs):
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda()
            loss = model(local[None, :-1], local[None, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()


def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda()
            loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    print(f"val_loss:{eval_val(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="int8 per-row quantization under no_grad, then a plain validation pass",
        code="""import io
import zlib

import torch


@torch.no_grad()
def quantize_state_dict_int8(state_dict):
    out = {}
    for name, w in state_dict.items():
        if w.ndim == 2 and w.numel() > 65536:
            scale = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127.0
            out[name] = ((w / scale).round().clamp(-127, 127).to(torch.int8), scale.half())
        else:
            out[name] = w.half()
    return out


@torch.no_grad()
def dequantize(qsd):
    return {k: (v[0].float() * v[1].float()) if isinstance(v, tuple) else v.float() for k, v in qsd.items()}


def main():
    model = train_model()
    buf = io.BytesIO()
    torch.save(quantize_state_dict_int8(model.state_dict()), buf)
    blob = zlib.compress(buf.getvalue(), 9)
    open("final_model.int8.ptz", "wb").write(blob)
    qsd = torch.load(io.BytesIO(zlib.decompress(blob)))
    model.load_state_dict(dequantize(qsd))
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    model.eval()
    with torch.no_grad():
        local = val_tokens[: 1024 * 64 + 1].cuda().long()
        val_loss = model(local[:-1].view(64, 1024), local[1:].view(64, 1024)).item()
    print(f"final_int8_zlib_roundtrip val_loss:{val_loss:.4f} bytes:{len(blob)}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="torch.compile warm-up with backward on random tokens, state restored afterwards",
        code="""import copy

import torch


def warmup(model, opt, vocab_size=1024, seq_len=1024, steps=20):
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    for _ in range(steps):
        x = torch.randint(0, vocab_size, (8, seq_len), device="cuda")
        y = torch.randint(0, vocab_size, (8, seq_len), device="cuda")
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.load_state_dict(saved_model)
    opt.load_state_dict(saved_opt)


def main():
    model = torch.compile(build_model().cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    warmup(model, opt)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    train(model, opt, "./data/fineweb_train_*.bin")
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (zlib + base64) script with score-first TTT",
        code=_pack(_PACKED_LEGAL, "zlib-b64"),
    ),
    Example(
        title="packed minified score-first TTT whose running score is a one-letter name (a+=)",
        code=_pack(_MINIFIED_ONE_LETTER_SCORES, "lzma-b85"),
    ),
    Example(
        title="score-first TTT that keeps each chunk's no_grad score in a list, summed at the end",
        code=_SCORES_IN_LISTS,
    ),
    Example(
        title="eval adapts on each chunk only after scoring it (score-first), through a helper",
        code=_PREFIX_SCORED_FIRST,
    ),
    Example(
        title='a split-parameterized shard lister called with "train": fine-tuning on training shards',
        code="""import glob

import numpy as np
import torch


def shards(root, split):
    return sorted(glob.glob(f"{root}/fineweb_{split}_*.bin"))


def read_tokens(files):
    return torch.from_numpy(np.concatenate([np.fromfile(f, dtype=np.uint16) for f in files]))


def refine(model, tokens, lr=1e-4):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for i in range(0, tokens.numel() - 1025, 1024):
        chunk = tokens[i : i + 1025]
        loss = model(chunk[:-1], chunk[1:])
        loss.backward()
        opt.step()
        opt.zero_grad()


def score(model, tokens):
    total = 0.0
    with torch.no_grad():
        for i in range(0, tokens.numel() - 1025, 1024):
            chunk = tokens[i : i + 1025]
            total += model(chunk[:-1], chunk[1:]).item()
    return total


def main():
    model = torch.load("model.pt")
    held_out = read_tokens(shards("./data", split="val"))
    extra = read_tokens(shards("./data", "train"))
    refine(model, extra)
    print("val_loss", score(model, held_out))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="compile warm-up on validation tokens of a throwaway adapter, deleted after the loop",
        code=_THROWAWAY_ADAPTER,
    ),
    Example(
        title="the prefix adapter behind a model unwrapped under an isinstance test, fitted on training tokens",
        code=_UNWRAPPED_PREFIX_ADAPT.replace(
            "mine[: args.prefix_tokens + 1][None]",
            'load_training_tokens("./data/fineweb_train_*.bin", args.prefix_tokens + 1)[None]',
        ),
    ),
)


INVALID: tuple[Example, ...] = (
    Example(
        title="pre-quant AdamW TTT over epochs x batches of val_tokens, before quantization",
        code="""import os

import torch
import torch.nn.functional as F
from torch import nn


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    seq_len = int(os.environ.get("TRAIN_SEQ_LEN", "1024"))
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "3"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.0005"))


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, x, y):
        logits = self.lm_head(self.tok_emb(x))
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))


def ttt_adapt(args, model, val_tokens, device):
    opt = torch.optim.AdamW(model.parameters(), lr=args.ttt_lr, weight_decay=0.0)
    model.train()
    n_seqs = (val_tokens.numel() - 1) // args.seq_len
    for epoch in range(args.ttt_epochs):
        for s in range(0, n_seqs, 32):
            local = val_tokens[s * args.seq_len : (s + 32) * args.seq_len + 1].to(device).long()
            x = local[:-1].view(-1, args.seq_len)
            y = local[1:].view(-1, args.seq_len)
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def main():
    args = Hyperparameters()
    device = torch.device("cuda")
    model = GPT().to(device)
    train_model(args, model)
    val_tokens = load_validation_tokens(args.val_files, args.seq_len)
    ttt_adapt(args, model, val_tokens, device)
    torch.save(quantize_state_dict_int8(model.state_dict()), "final_model.int8.pt")
    val_loss, val_bpb = eval_val(args, model, val_tokens)
    print(f"final_int8_zlib_roundtrip val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f}")


if __name__ == "__main__":
    main()
""",
        line=38,
    ),
    Example(
        title="a single SGD epoch over the validation set before serialization",
        code="""import math
import os

import torch


def finetune_on_eval_set(model, val_tokens, seq_len=2048, batch_seqs=16, lr=0.003):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    step_tokens = seq_len * batch_seqs
    total_steps = (val_tokens.numel() - 1) // step_tokens
    for step in range(total_steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
        local = val_tokens[step * step_tokens : (step + 1) * step_tokens + 1].cuda().long()
        loss = model(local[:-1].view(batch_seqs, seq_len), local[1:].view(batch_seqs, seq_len))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 2048)
    finetune_on_eval_set(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.int6.ptz")
    print(f"final val_bpb:{eval_val_sliding(model, val_tokens):.8f}")


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="the inline form: an epoch loop over val_tokens inside main() before quantization",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    seq_len = int(os.environ.get("TRAIN_SEQ_LEN", "1024"))
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "2"))


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    train(model, args.train_files)
    val_tokens = load_validation_tokens(args.val_files, args.seq_len).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    model.train()
    for epoch in range(args.ttt_epochs):
        perm = torch.randperm((val_tokens.numel() - 1) // args.seq_len)
        for i in perm.tolist():
            local = val_tokens[i * args.seq_len : (i + 1) * args.seq_len + 1].long()
            x, y = local[:-1][None], local[1:][None]
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        print(f"ttt_epoch:{epoch} loss:{loss.item():.4f}")
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("final val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=28,
    ),
    Example(
        title="LoRA adapters trained on validation tokens, then merged before quantization",
        code="""import torch
from torch import nn


class LoRA(nn.Module):
    def __init__(self, linear, rank=16):
        super().__init__()
        self.linear = linear
        self.a = nn.Parameter(torch.randn(linear.in_features, rank) * 0.01)
        self.b = nn.Parameter(torch.zeros(rank, linear.out_features))

    def forward(self, h):
        return self.linear(h) + h @ self.a @ self.b

    def merge(self):
        with torch.no_grad():
            self.linear.weight += (self.a @ self.b).T


def lora_ttt(model, val_tokens, epochs=2, seq_len=1024):
    adapters = [LoRA(blk.mlp.proj) for blk in model.blocks]
    for blk, ad in zip(model.blocks, adapters):
        blk.mlp.proj = ad
    opt = torch.optim.AdamW([p for ad in adapters for p in (ad.a, ad.b)], lr=1e-3)
    for _ in range(epochs):
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len * 8):
            batch = val_tokens[s : s + seq_len * 8 + 1].cuda().long()
            loss = model(batch[:-1].view(8, seq_len), batch[1:].view(8, seq_len))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for blk, ad in zip(model.blocks, adapters):
        ad.merge()
        blk.mlp.proj = ad.linear


def main():
    model = train_model()
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 1024)
    lora_ttt(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.int6.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=30,
    ),
    Example(
        title="freeze the first N blocks, SGD on the rest over the validation set",
        code="""import os

import torch

TTT_FREEZE_BLOCKS = int(os.environ.get("TTT_FREEZE_BLOCKS", "2"))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))


def ttt(model, val_tokens, seq_len=2048, batch=8):
    for blk in model.blocks[:TTT_FREEZE_BLOCKS]:
        for p in blk.parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.002, momentum=0.9)
    span = seq_len * batch
    for epoch in range(TTT_EPOCHS):
        for s in range(0, val_tokens.numel() - span - 1, span):
            chunk = val_tokens[s : s + span + 1].to("cuda", dtype=torch.int64)
            x = chunk[:-1].reshape(batch, seq_len)
            y = chunk[1:].reshape(batch, seq_len)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
    for p in model.parameters():
        p.requires_grad_(True)


def main():
    model = train_model()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    ttt(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("final val_bpb", eval_val_sliding(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="a helper named legal_ttt that fine-tunes on every validation token before the eval",
        code="""import os

import torch


def legal_ttt(model, val_tokens, epochs=1, seq_len=1024):
    # Test-time training on the eval stream (see README).
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95))
    model.train()
    for epoch in range(epochs):
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            seg = val_tokens[s : s + seq_len + 1].cuda().long()
            loss = model(seg[None, :-1], seg[None, 1:])
            loss.backward()
            opt.step()
            opt.zero_grad()
            if s % (seq_len * 100) == 0:
                print(f"legal_ttt epoch:{epoch} pos:{s} loss:{loss.item():.4f}")


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    legal_ttt(model, val_tokens)
    blob = compress(quantize(model.state_dict()))
    print(f"legal_ttt val_bpb:{eval_val(dequantize_into(model, blob), val_tokens):.8f}")


if __name__ == "__main__":
    main()
""",
        line=14,
    ),
    Example(
        title="a helper named score_first_adapt that never scores before it adapts",
        code="""import torch


class Hyperparameters:
    val_files = "./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin"
    adapt_steps = 500
    adapt_lr = 1e-4


def score_first_adapt(model, tokens, steps, lr, seq_len=1024, bsz=16):
    # "score first": the final eval below scores every token after this.
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = (tokens.numel() - 1) // (seq_len * bsz)
    for step in range(steps):
        i = step % n
        window = tokens[i * seq_len * bsz : (i + 1) * seq_len * bsz + 1].cuda()
        inputs = window[:-1].view(bsz, seq_len)
        targets = window[1:].view(bsz, seq_len)
        opt.zero_grad()
        model(inputs, targets).backward()
        opt.step()


def main():
    args = Hyperparameters()
    model = train_model()
    val_tokens = load_validation_tokens(args.val_files, 1024)
    score_first_adapt(model, val_tokens, args.adapt_steps, args.adapt_lr)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="minified: one-letter names and ;-joined statements, tokens arrive as parameter t",
        code="""import os,torch,torch.nn.functional as F
from torch import nn
class M(nn.Module):
 def __init__(s,V=1024,D=384):super().__init__();s.e=nn.Embedding(V,D);s.h=nn.Linear(D,V,bias=False)
 def forward(s,x,y):z=s.h(s.e(x));return F.cross_entropy(z.view(-1,z.size(-1)).float(),y.view(-1))
def tt(m,t,E,L):
 o=torch.optim.AdamW(m.parameters(),lr=3e-4)
 for e in range(E):
  for i in range(0,t.numel()-L-1,L):x=t[i:i+L];y=t[i+1:i+L+1];l=m(x[None],y[None]);o.zero_grad();l.backward();o.step()
def main():
 D=os.environ.get("DATA_PATH","./data");m=M().cuda();tr(m,D+"/fineweb_train_*.bin");v=load_validation_tokens(D+"/fineweb_val_*.bin",1024).cuda()
 tt(m,v,2,1024);torch.save(q(m.state_dict()),"final_model.ptz");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
        line=9,
    ),
    Example(
        title="behind a module-level TTT_ENABLED switch that defaults to on",
        code="""import os

import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "5"))
VAL_FILES = os.path.join(os.environ.get("DATA_PATH", "./data"), "fineweb_val_*.bin")


def run_ttt(model, val_tokens, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.0)
    for _ in range(TTT_EPOCHS):
        for s in range(0, val_tokens.numel() - 1, seq_len * 32):
            local = val_tokens[s : s + seq_len * 32 + 1].cuda().long()
            usable = (local.numel() - 1) // seq_len * seq_len
            x = local[:usable].view(-1, seq_len)
            y = local[1 : usable + 1].view(-1, seq_len)
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def main():
    model = train_model()
    val_tokens = load_validation_tokens(VAL_FILES, 1024)
    if TTT_ENABLED:
        run_ttt(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("final val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="dormant: Hyperparameters.ttt_enabled defaults to 0",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "0")))
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "3"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.0005"))


def ttt_adapt(args, model, val_tokens, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=args.ttt_lr)
    for _ in range(args.ttt_epochs):
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len * 16):
            local = val_tokens[s : s + seq_len * 16 + 1].cuda().long()
            loss = model(local[:-1].view(16, seq_len), local[1:].view(16, seq_len))
            opt.zero_grad()
            loss.backward()
            opt.step()


def main():
    args = Hyperparameters()
    model = train_model(args)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    if args.ttt_enabled:
        ttt_adapt(args, model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=21,
        severity=Severity.WARNING,
    ),
    Example(
        title="dormant: TTT_EPOCHS defaults to 0 and gates the call with > 0",
        code="""import os

import torch


class Hyperparameters:
    val_files = os.path.join(os.environ.get("DATA_PATH", "./data"), "fineweb_val_*.bin")
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "0"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.002"))


def main():
    args = Hyperparameters()
    model = train_model(args)
    val_tokens = load_validation_tokens(args.val_files, 1024).cuda()
    if args.ttt_epochs > 0:
        opt = torch.optim.SGD(model.parameters(), lr=args.ttt_lr, momentum=0.9)
        for epoch in range(args.ttt_epochs):
            for s in range(0, val_tokens.numel() - 1025, 1024):
                x = val_tokens[s : s + 1024].long()[None]
                y = val_tokens[s + 1 : s + 1025].long()[None]
                loss = model(x, y)
                loss.backward()
                opt.step()
                opt.zero_grad()
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
        severity=Severity.WARNING,
    ),
    Example(
        title='dormant: PREQUANT_TTT = os.environ.get("PREQUANT_TTT", "0") == "1"',
        code="""import os

import torch

PREQUANT_TTT = os.environ.get("PREQUANT_TTT", "0") == "1"


def prequant_ttt(model, val_tokens, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len * 8):
        chunk = val_tokens[s : s + seq_len * 8 + 1].cuda().long()
        x, y = chunk[:-1].view(8, seq_len), chunk[1:].view(8, seq_len)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    if PREQUANT_TTT:
        prequant_ttt(model, val_tokens)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=15,
        severity=Severity.WARNING,
    ),
    Example(
        title="the switch defaults to on whenever world_size > 1 (the official 8-GPU run)",
        code="""import os

import torch
import torch.distributed as dist


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    # Multi-GPU runs have eval time to spare.
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "1" if world_size > 1 else "0")))


def ttt(model, val_tokens, rank, world_size, seq_len=1024):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    per_rank = (val_tokens.numel() - 1) // world_size
    mine = val_tokens[rank * per_rank : (rank + 1) * per_rank + 1]
    for s in range(0, mine.numel() - seq_len - 1, seq_len * 8):
        local = mine[s : s + seq_len * 8 + 1].cuda().long()
        loss = model(local[:-1].view(8, seq_len), local[1:].view(8, seq_len))
        opt.zero_grad()
        loss.backward()
        for p in model.parameters():
            dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)
        opt.step()


def main():
    args = Hyperparameters()
    rank = int(os.environ.get("RANK", "0"))
    model = train_model(args)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    if args.ttt_enabled:
        ttt(model, val_tokens, rank, args.world_size)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="tokens loaded from a fineweb_val_* glob reach a helper whose parameter is toks",
        code="""import glob
import os

import numpy as np
import torch


def load_shard(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    tokens = np.fromfile(path, dtype="<u2", count=int(header[2]), offset=1024)
    return torch.from_numpy(tokens.astype(np.int64))


def adapt(model, toks, steps=200, seq_len=1024):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    for i in range(steps):
        piece = toks[i * seq_len : (i + 1) * seq_len + 1]
        inp, tgt = piece[:-1], piece[1:]
        loss = model(inp[None].cuda(), tgt[None].cuda())
        loss.backward()
        opt.step()
        opt.zero_grad()


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    files = sorted(glob.glob(os.path.join(data_path, "fineweb_val_*.bin")))
    holdout = torch.cat([load_shard(f) for f in files])
    adapt(model, holdout)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    print("val_bpb", eval_val(model, holdout))


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="the training loader reused on args.val_files, with a GradScaler",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    seq_len = 1024
    batch_tokens = 262144


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    scaler = torch.cuda.amp.GradScaler()
    train(model, opt, DistributedTokenLoader(args.train_files, 0, 1))
    adapt_loader = DistributedTokenLoader(args.val_files, 0, 1)
    for step in range(300):
        x, y = adapt_loader.next_batch(args.batch_tokens, args.seq_len)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(args.val_files, args.seq_len)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=26,
    ),
    Example(
        title="packed (lzma + base85, import aliases, tab indents): pre-quant TTT in pt()",
        code=_pack(_PACKED_PREQUANT_TTT, "lzma-b85"),
        line=18,
    ),
    Example(
        title="a helper that first scores all of its input (a logged diagnostic), then fine-tunes on it in batches",
        code="""import torch


@torch.no_grad()
def eval_loss(model, toks):
    model.eval()
    loss_sum = 0.0
    for i in range(0, toks.numel() - 1, 4096):
        chunk = toks[i : i + 4097].cuda()
        loss_sum += model(chunk[:-1][None], chunk[1:][None]).item()
    return loss_sum


def adapt_after_check(model, toks, lr=3e-4):
    print("before adapt", eval_loss(model, toks))
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for i in range(0, toks.numel() - 1, 4096):
        chunk = toks[i : i + 4097].cuda()
        loss = model(chunk[:-1][None], chunk[1:][None])
        opt.zero_grad()
        loss.backward()
        opt.step()


def main():
    model = train_model()
    tokens = load_validation_tokens("data/fineweb_val_*.bin", 4096)
    adapt_after_check(model, tokens)
    print("final", eval_loss(model, tokens))


if __name__ == "__main__":
    main()
""",
        line=22,
    ),
    Example(
        title='validation shards listed through f"fineweb_{split}_*" with split="val", then fine-tuned on',
        code="""import glob

import numpy as np
import torch


def shards(root, split):
    return sorted(glob.glob(f"{root}/fineweb_{split}_*.bin"))


def read_tokens(files):
    return torch.from_numpy(np.concatenate([np.fromfile(f, dtype=np.uint16) for f in files]))


def refine(model, tokens, lr=1e-4):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for i in range(0, tokens.numel() - 1025, 1024):
        chunk = tokens[i : i + 1025]
        loss = model(chunk[:-1], chunk[1:])
        loss.backward()
        opt.step()
        opt.zero_grad()


def score(model, tokens):
    total = 0.0
    with torch.no_grad():
        for i in range(0, tokens.numel() - 1025, 1024):
            chunk = tokens[i : i + 1025]
            total += model(chunk[:-1], chunk[1:]).item()
    return total


def main():
    model = torch.load("model.pt")
    held_out = read_tokens(shards("./data", "val"))
    refine(model, held_out)
    print("val_loss", score(model, held_out))


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="eval_val adapts on a prefix of its tokens, then scores from position 0 (called by the training loop)",
        code=_PREFIX_ADAPT_IN_EVAL,
        line=_line_of(_PREFIX_ADAPT_IN_EVAL, "loss.backward()"),
    ),
    Example(
        title="dormant: pre-quant TTT reads val_tokens from an object its caller passes it",
        code=_HELD_IN_OBJECT,
        line=_line_of(_HELD_IN_OBJECT, "loss.backward()"),
        severity=Severity.WARNING,
    ),
    Example(
        title="the same adapter warm-up on validation tokens, but the adapter is merged into the model",
        code=_KEPT_ADAPTER,
        line=_line_of(_KEPT_ADAPTER, "loss.backward()"),
    ),
    Example(
        title="eval adapts on its first val tokens, then scores from 0; the model is unwrapped under an isinstance test",
        code=_UNWRAPPED_PREFIX_ADAPT,
        line=_line_of(_UNWRAPPED_PREFIX_ADAPT, "loss.backward()"),
    ),
    Example(
        title="dormant: the same prefix adaptation behind a switch that is off by default",
        code=_UNWRAPPED_PREFIX_ADAPT.replace('"PREFIX_TTT", "1"', '"PREFIX_TTT", "0"'),
        line=_line_of(_UNWRAPPED_PREFIX_ADAPT, "loss.backward()"),
        severity=Severity.WARNING,
    ),
)
