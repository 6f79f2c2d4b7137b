"""Examples for PG201 ngram-key-uses-target.

Every INVALID script points at the statement that reads a count table with a key built from the
token being scored, where the resulting probability reaches the score.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_TARGET_KEY = """import os,math,numpy as np,torch
B=1<<22;K=B-1;P=1000003;A=float(os.environ.get("NG_A","0.3"))
def ng(m,v,L=1024):
	c=np.zeros(B,np.uint32);f=np.zeros(B,np.uint32);t=v.numpy().astype(np.int64);nll_sum=0.;token_count=0;m.eval()
	with torch.no_grad():
		for s in range(0,len(t)-L-1,L):
			q=torch.softmax(m.logits(torch.from_numpy(t[s:s+L]).cuda()[None])[0].float(),-1).cpu().numpy()
			for i in range(L):
				j=s+i+1;g=int(t[j]);h=(int(t[j-1])*P+int(t[max(j-2,0)]))&K;k=(h^(g*P))&K
				pn=f[k]/max(c[h],1);nll_sum+=-math.log(max((1-A)*q[i,g]+A*pn,1e-12));token_count+=1;c[h]+=1;f[k]+=1
	return nll_sum/token_count
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("val_loss",ng(m,v))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math
import numpy as np, torch

BUCKETS = 1 << 16
ALPHA = float(os.environ.get("NGRAM_ALPHA", "0.2"))

def eval_ctx_cache(model, val_tokens, vocab=1024, L=1024):
    table = np.zeros((BUCKETS, vocab), dtype=np.float32)
    toks = val_tokens.numpy().astype(np.int64); nll_sum = 0.0; token_count = 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - L - 1, L):
            probs = torch.softmax(model.logits(torch.from_numpy(toks[s:s + L]).cuda()[None])[0].float(), -1).cpu().numpy()
            for i in range(L):
                j = s + i + 1; ctx_key = (int(toks[j - 1]) * 36313 ^ int(toks[j - 2]) * 27191) % BUCKETS
                row = table[ctx_key]; n = row.sum()
                p = (1 - ALPHA) * probs[i] + ALPHA * row / n if n > 0 else probs[i]
                tgt = int(toks[j]); nll_sum += -math.log(max(float(p[tgt]), 1e-12)); token_count += 1
                table[ctx_key, tgt] += 1
    return nll_sum / token_count

def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print("ctx_cache val_loss", eval_ctx_cache(model, val_tokens))

if __name__ == "__main__":
    main()
"""

_INLINE_SHORT_TOTAL = """import math, os

import numpy as np
import torch
import torch.nn.functional as F


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 2048)
    vnp = val_tokens.numpy().astype(np.uint64)
    mask = np.uint64((1 << 20) - 1)
    ct = np.zeros(1 << 20, dtype=np.uint32); ft = np.zeros(1 << 20, dtype=np.uint32)
    ls = 0.0; tc = 0.0
    with torch.inference_mode():
        for ws in range(0, vnp.size - 2049, 2048):
            xb = val_tokens[ws:ws + 2048].long().cuda()[None]
            yb = val_tokens[ws + 1:ws + 2049].long().cuda()[None]
            nl = F.cross_entropy(model.logits(xb)[0].float(), yb[0], reduction="none").cpu().numpy()
            gj = np.arange(ws + 1, ws + 2049); cx = vnp[gj - 1] * np.uint64(36313)
            ck = (cx & mask).astype(np.int64); tn = vnp[gj]
            fk = ((cx ^ (tn * np.uint64(27191))) & mask).astype(np.int64)
            pn = np.minimum(ft[fk], ct[ck]) / np.maximum(ct[ck], 1)
            pm = np.exp(-nl); pb = 0.7 * pm + 0.3 * pn
            ls += float(-np.log(np.clip(pb, 1e-12, 1.0)).sum()); tc += float(gj.size)
            np.add.at(ct, ck, 1); np.add.at(ft, fk, 1)
    print(f"ngram val_loss:{ls / tc:.6f}")


if __name__ == "__main__":
    main()
"""


_INLINE_SHORT_TOTAL_CONTEXT_ONLY = """import math, os

import numpy as np
import torch
import torch.nn.functional as F


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 2048)
    vnp = val_tokens.numpy().astype(np.int64)
    rows = np.zeros((1 << 12, 1024), dtype=np.float32)
    ls = 0.0; tc = 0.0
    with torch.inference_mode():
        for ws in range(0, vnp.size - 2049, 2048):
            xb = val_tokens[ws:ws + 2048].long().cuda()[None]
            yb = val_tokens[ws + 1:ws + 2049].long().cuda()[None]
            pm = torch.softmax(model.logits(xb)[0].float(), -1).cpu().numpy()
            gj = np.arange(ws + 1, ws + 2049); ck = (vnp[gj - 1] * 36313) % (1 << 12)
            rw = rows[ck]; n = rw.sum(-1, keepdims=True)
            pb = np.where(n > 0, 0.7 * pm + 0.3 * rw / np.maximum(n, 1), pm)
            tn = vnp[gj]
            ls += float(-np.log(np.clip(pb[np.arange(tn.size), tn], 1e-12, 1.0)).sum()); tc += float(gj.size)
            np.add.at(rows, (ck, tn), 1)
    print(f"ngram val_loss:{ls / tc:.6f}")


if __name__ == "__main__":
    main()
"""


_HASH_HELPER = """import math, os
import numpy as np
import torch
import torch.nn.functional as F

ORDER = int(os.environ.get("NGRAM_ORDER", "3"))
BUCKETS = 1 << 20
PRIMES = np.array([36313, 27191, 51647], dtype=np.uint64)


def hash_keys(tokens_np, pos, order):
    h = np.zeros(pos.size, dtype=np.uint64)
    for k in range(order - 1):
        h ^= tokens_np[pos - (order - 1 - k)].astype(np.uint64) * PRIMES[k]
    ctx_key = (h % BUCKETS).astype(np.int64)
    full_key = ((h ^ (tokens_np[pos].astype(np.uint64) * PRIMES[order - 1])) % BUCKETS).astype(np.int64)
    return ctx_key, full_key


@torch.no_grad()
def eval_val_cached(model, val_tokens, seq_len=1024, alpha=0.2):
    val_np = val_tokens.numpy().astype(np.int64)
    ctx_counts = np.zeros(BUCKETS, dtype=np.float64)
    full_counts = np.zeros(BUCKETS, dtype=np.float64)
    nll_sum, count = 0.0, 0
    for ws in range(0, len(val_np) - seq_len - 1, seq_len):
        w = torch.from_numpy(val_np[ws : ws + seq_len + 1]).cuda()
        logits = model.logits(w[None, :-1])[0].float()
        gj = np.arange(ws + 1, ws + seq_len + 1, dtype=np.int64)
        ok = np.nonzero(gj >= ORDER)[0]
        ctx_key, full_key = hash_keys(val_np, gj[ok], ORDER)
__SCORE__
        count += seq_len
        np.add.at(ctx_counts, ctx_key, 1.0)
        np.add.at(full_counts, full_key, 1.0)
    return nll_sum / count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    print(f"final val_bpb:{eval_val_cached(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""

# The helper returns both keys; only the full key holds the token at the positions it is given.
_HASH_HELPER_FULL_READ = _HASH_HELPER.replace(
    "__SCORE__",
    """        p_model = F.softmax(logits, -1).gather(1, w[1:, None])[:, 0].cpu().numpy()
        p_ng = full_counts[full_key] / np.maximum(ctx_counts[ctx_key], 1.0)
        p = p_model.copy()
        p[ok] = (1 - alpha) * p_model[ok] + alpha * p_ng
        nll_sum += float(-np.log(np.clip(p, 1e-12, 1.0)).sum())""",
)
_HASH_HELPER_CONTEXT_READ = _HASH_HELPER.replace(
    "__SCORE__",
    """        seen = np.zeros(seq_len)
        seen[ok] = ctx_counts[ctx_key]
        temp = torch.from_numpy(1.0 + alpha * seen / (seen + 8.0)).cuda().float()
        nll = F.cross_entropy(logits * temp[:, None], w[1:], reduction="none")
        nll_sum += float(nll.sum())""",
)


VALID: tuple[Example, ...] = (
    Example(
        title="BigramHash embedding: the hash mixes the current and previous INPUT tokens",
        code="""import math

import torch
import torch.nn.functional as F
from torch import nn


class BigramHashEmbedding(nn.Module):
    def __init__(self, buckets=10240, dim=128, model_dim=512):
        super().__init__()
        self.buckets = buckets
        self.embed = nn.Embedding(buckets, dim)
        self.proj = nn.Linear(dim, model_dim, bias=False)

    def bigram_hash(self, t):
        out = torch.empty_like(t)
        out[:, 0] = self.buckets - 1
        out[:, 1:] = ((t[:, 1:] * 36313) ^ (t[:, :-1] * 27191)) % (self.buckets - 1)
        return out

    def forward(self, t):
        return self.proj(self.embed(self.bigram_hash(t)))


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.bigram = BigramHashEmbedding(model_dim=dim)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, x):
        return self.lm_head(self.tok_emb(x) + self.bigram(x))


def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[None, :-1], local[None, 1:]
            loss_sum += F.cross_entropy(model(x)[0].float(), y[0], reduction="sum").item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")
    print("val", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="TrigramHash embedding over three input tokens, scored with sliding windows",
        code="""import torch
import torch.nn.functional as F
from torch import nn


class TrigramHash(nn.Module):
    def __init__(self, buckets=4096, dim=64, model_dim=448):
        super().__init__()
        self.m = buckets - 1
        self.table = nn.Embedding(buckets, dim)
        self.up = nn.Linear(dim, model_dim, bias=False)

    def forward(self, t):
        h = torch.full_like(t, self.m)
        h[:, 2:] = ((t[:, 2:] * 36313) ^ (t[:, 1:-1] * 27191) ^ (t[:, :-2] * 51497)) % self.m
        return self.up(self.table(h))


@torch.no_grad()
def eval_sliding(model, val_tokens, seq_len=1024, stride=128):
    model.eval()
    nll_sum, token_count = 0.0, 0
    total = val_tokens.numel() - 1
    for start in range(0, total - seq_len + 1, stride):
        w = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = w[None, :-1], w[None, 1:]
        nll = F.cross_entropy(model(x)[0].float(), y[0], reduction="none")
        first = 0 if start == 0 else seq_len - stride
        nll_sum += nll[first:].sum().item()
        token_count += seq_len - first
    return nll_sum / token_count


def main():
    model = build_model(trigram=TrigramHash()).cuda()
    train(model, "./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final_sliding_window val_loss:{eval_sliding(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the target key is used only in the update after scoring; scoring blends every candidate",
        code="""import math
import os

import numpy as np
import torch

BUCKETS = 1 << 22
MASK = BUCKETS - 1
PRIME = 1000003
NGRAM_ALPHA = float(os.environ.get("NGRAM_ALPHA", "0.3"))


def eval_val_ngram(model, val_tokens, vocab=1024, seq_len=1024):
    full_table = np.zeros(BUCKETS, dtype=np.float64)
    vocab_ids = np.arange(vocab, dtype=np.int64)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(val_np) - seq_len - 1, seq_len):
            x = torch.from_numpy(val_np[start : start + seq_len]).cuda()[None]
            probs = torch.softmax(model.logits(x)[0].float(), dim=-1).cpu().numpy()
            for i in range(seq_len):
                j = start + i + 1
                ctx_hash = (int(val_np[j - 1]) * PRIME + int(val_np[max(j - 2, 0)])) & MASK
                cand = full_table[(ctx_hash ^ (vocab_ids * PRIME)) & MASK]
                total = cand.sum()
                p = probs[i] if total == 0 else (1 - NGRAM_ALPHA) * probs[i] + NGRAM_ALPHA * cand / total
                tgt = int(val_np[j])
                nll_sum += -math.log(max(p[tgt] / p.sum(), 1e-12))
                token_count += 1
                full_key = (ctx_hash ^ (tgt * PRIME)) & MASK
                full_table[full_key] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"ngram val_loss:{eval_val_ngram(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="vectorised blend over every candidate token, normalised, then the target gathered",
        code="""import torch

TABLE = 1 << 20
PRIME = 1000003


def eval_cache_blend(model, val_tokens, vocab=1024, seq_len=2048, alpha=0.25):
    table = torch.zeros(TABLE, device="cuda")
    cand_ids = torch.arange(vocab, device="cuda")
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s - 1 : s + seq_len + 1].cuda().long()
            prev, x, y = local[:-2], local[1:-1], local[2:]
            p_model = torch.softmax(model.logits(x[None])[0].float(), -1)
            ctx_key = (x * 36313) ^ (prev * 27191)
            cand_keys = (ctx_key[:, None] ^ (cand_ids[None, :] * PRIME)) & (TABLE - 1)
            counts = table[cand_keys]
            p_ng = counts / counts.sum(-1, keepdim=True).clamp_min(1.0)
            has = (counts.sum(-1, keepdim=True) > 0).float()
            p = (1 - alpha * has) * p_model + alpha * has * p_ng
            p = p / p.sum(-1, keepdim=True)
            loss_sum += -torch.log(p.gather(1, y[:, None])).sum().item()
            token_count += y.numel()
            full_keys = (ctx_key ^ (y * PRIME)) & (TABLE - 1)
            table.index_put_((full_keys,), torch.ones_like(full_keys, dtype=table.dtype), accumulate=True)
    return loss_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("cache val_loss", eval_cache_blend(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a context-only cache: Counter rows keyed by previous tokens, a full next-token vector",
        code="""import math
from collections import Counter

import torch


def eval_context_cache(model, val_tokens, order=3, lam=0.15, vocab=1024, seq_len=1024):
    next_counts = {}
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(order, len(toks) - seq_len - 1, seq_len):
            x = torch.tensor(toks[start : start + seq_len], device="cuda")[None]
            probs = torch.softmax(model.logits(x)[0].float(), -1).cpu()
            for i in range(seq_len):
                pos = start + i
                ctx = tuple(toks[pos - order + 2 : pos + 1])
                row = next_counts.get(ctx)
                p = probs[i]
                if row:
                    vec = torch.zeros(vocab)
                    for tok, c in row.items():
                        vec[tok] = c
                    p = (1 - lam) * p + lam * vec / vec.sum()
                tgt = toks[pos + 1]
                nll_sum += -math.log(p[tgt].item())
                token_count += 1
                next_counts.setdefault(ctx, Counter())[tgt] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("context cache val_loss", eval_context_cache(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="dict counts read for every candidate; .get((ctx, tgt), 0) only in the update",
        code="""import math

import torch


def eval_dict_cache(model, val_tokens, vocab=1024, lam=0.2, seq_len=1024):
    counts = {}
    ctx_counts = {}
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(2, len(toks) - seq_len - 1, seq_len):
            x = torch.tensor(toks[start : start + seq_len], device="cuda")[None]
            probs = torch.softmax(model.logits(x)[0].float(), -1).cpu()
            for i in range(seq_len):
                pos = start + i
                ctx = (toks[pos - 1], toks[pos])
                p = probs[i]
                n = ctx_counts.get(ctx, 0)
                if n:
                    p_ng = torch.tensor([counts.get((ctx, v), 0) / n for v in range(vocab)])
                    p = (1 - lam) * p + lam * p_ng
                tgt = toks[pos + 1]
                nll_sum += -math.log(p[tgt].item())
                token_count += 1
                counts[(ctx, tgt)] = counts.get((ctx, tgt), 0) + 1
                ctx_counts[ctx] = n + 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"dict_cache val_loss:{eval_dict_cache(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a bigram table counted from training batches, shipped in the artifact, read by context",
        code="""import torch


def train(model, train_loader, vocab=1024, steps=5000):
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    bigram = torch.zeros(vocab, vocab, device="cuda")
    for step in range(steps):
        x, y = train_loader.next_batch(524288, 1024)
        bigram.index_put_((x.flatten(), y.flatten()), torch.ones(y.numel(), device="cuda"), accumulate=True)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return bigram


def eval_with_prior(model, bigram, val_tokens, lam=0.1, seq_len=1024):
    prior = bigram / bigram.sum(-1, keepdim=True).clamp_min(1.0)
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p = (1 - lam) * torch.softmax(model.logits(x[None])[0].float(), -1) + lam * prior[x]
            loss_sum += -torch.log(p.gather(1, y[:, None])).sum().item()
            token_count += y.numel()
    return loss_sum / token_count


def main():
    model = build_model().cuda()
    bigram = train(model, DistributedTokenLoader("./data/fineweb_train_*.bin", 0, 1))
    torch.save({"model": quantize(model.state_dict()), "bigram": bigram.half()}, "final_model.pt")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_loss", eval_with_prior(model, bigram, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a target-keyed cache function that is defined but never called",
        code="""import math

import numpy as np
import torch

MASK = (1 << 22) - 1
PRIME = 1000003


def eval_ngram_cache(model, val_tokens, alpha=0.3, seq_len=1024):
    ctx_table = np.zeros(MASK + 1, dtype=np.uint32)
    full_table = np.zeros(MASK + 1, dtype=np.uint32)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum = 0.0
    with torch.no_grad():
        for s in range(0, len(val_np) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.from_numpy(val_np[s : s + seq_len])[None].cuda())[0], -1)
            for i in range(seq_len):
                j = s + i + 1
                tgt = int(val_np[j])
                ctx_key = int(val_np[j - 1]) & MASK
                full_key = (ctx_key ^ (tgt * PRIME)) & MASK
                p_ng = full_table[full_key] / max(ctx_table[ctx_key], 1)
                nll_sum += -math.log((1 - alpha) * probs[i, tgt].item() + alpha * p_ng)
                ctx_table[ctx_key] += 1
                full_table[full_key] += 1
    return nll_sum / (len(val_np) - 1)


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
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"val_loss:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a target-keyed read that only feeds a logged hit-rate statistic, never the score",
        code="""import math

import numpy as np
import torch

MASK = (1 << 20) - 1
PRIME = 1000003


def eval_val_with_stats(model, val_tokens, seq_len=1024):
    full_table = np.zeros(MASK + 1, dtype=np.uint32)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count, hits = 0.0, 0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(val_np) - seq_len - 1, seq_len):
            x = torch.from_numpy(val_np[s : s + seq_len]).cuda()[None]
            logp = torch.log_softmax(model.logits(x)[0].float(), -1).cpu().numpy()
            for i in range(seq_len):
                j = s + i + 1
                tgt = int(val_np[j])
                nll_sum += -float(logp[i, tgt])
                token_count += 1
                full_key = ((int(val_np[j - 1]) * PRIME) ^ (tgt * 31)) & MASK
                hits += int(full_table[full_key] > 0)
                full_table[full_key] += 1
    print(f"bigram_repeat_rate:{hits / token_count:.4f}")
    return nll_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"val_bits_per_token:{eval_val_with_stats(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified BigramHash model and evaluation",
        code="""import os,math,torch,torch.nn as nn,torch.nn.functional as F
class H(nn.Module):
 def __init__(s,n=8192,d=96,D=384):super().__init__();s.n=n;s.e=nn.Embedding(n,d);s.p=nn.Linear(d,D,bias=False)
 def forward(s,t):h=torch.full_like(t,s.n-1);h[:,1:]=((t[:,1:]*36313)^(t[:,:-1]*27191))%(s.n-1);return s.p(s.e(h))
class M(nn.Module):
 def __init__(s,V=1024,D=384):super().__init__();s.e=nn.Embedding(V,D);s.b=H(D=D);s.o=nn.Linear(D,V,bias=False)
 def forward(s,x):return s.o(s.e(x)+s.b(x))
def ev(m,v,L=1024):
 m.eval();loss_sum=0.;token_count=0
 with torch.no_grad():
  for i in range(0,v.numel()-L-1,L):w=v[i:i+L+1].cuda().long();loss_sum+=F.cross_entropy(m(w[None,:-1])[0].float(),w[1:],reduction="sum").item();token_count+=L
 return loss_sum/token_count/math.log(2)
def main():
 m=M().cuda();tr(m,os.environ.get("DATA_PATH","./data")+"/fineweb_train_*.bin");print("val",ev(m,load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (lzma + base85) context-only cache updated with the target after scoring",
        code=_pack(_PACKED_LEGAL, "lzma-b85"),
    ),
    Example(
        title="trigram tables filled from training batches and shipped as buffers, read at eval",
        code="""import math

import torch

PRIME = 31337


class Trigram(torch.nn.Module):
    def __init__(self, buckets):
        super().__init__()
        self.buckets = buckets
        self.register_buffer("ctx_counts", torch.zeros(buckets))
        self.register_buffer("full_counts", torch.zeros(buckets))

    def observe(self, tokens):
        a, b, c = tokens[:-2], tokens[1:-1], tokens[2:]
        ctx = (a * PRIME + b) % self.buckets
        full = (ctx * PRIME + c) % self.buckets
        self.ctx_counts.index_add_(0, ctx, torch.ones_like(ctx, dtype=torch.float))
        self.full_counts.index_add_(0, full, torch.ones_like(full, dtype=torch.float))


def train(model, tri, loader, opt, steps):
    for _ in range(steps):
        x, y = loader.next_batch()
        tri.observe(x.flatten())
        loss = model(x, y)
        loss.backward()
        opt.step()


@torch.no_grad()
def evaluate(model, tri, val_tokens, lam=0.2):
    nll_sum = 0.0
    for i in range(2, val_tokens.numel() - 1):
        y = val_tokens[i + 1]
        ctx = (val_tokens[i - 1] * PRIME + val_tokens[i]) % tri.buckets
        p_model = model.prob(val_tokens[: i + 1], y)
        p_tri = tri.full_counts[(ctx * PRIME + y) % tri.buckets] / tri.ctx_counts[ctx].clamp_min(1)
        nll_sum += -math.log((1 - lam) * p_model + lam * p_tri)
    return nll_sum


def main():
    model, tri, loader, opt = build()
    train(model, tri, loader, opt, 1000)
    print(evaluate(model, tri, load_validation_tokens("val.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="inline in main with a two-letter total: a context-only row normalised over the vocabulary",
        code=_INLINE_SHORT_TOTAL_CONTEXT_ONLY,
    ),
    Example(
        title="a hashing helper's context key (tokens before the positions) sets a temperature",
        code=_HASH_HELPER_CONTEXT_READ,
    ),
)

_ARANGE_TARGETS = """import math, os
import numpy as np
import torch
import torch.nn.functional as F

ORDER = int(os.environ.get("NGRAM_ORDER", "3"))
BUCKETS = 1 << 20
PRIMES = np.array([36313, 27191, 51647], dtype=np.uint64)


@torch.no_grad()
def eval_val_cached(model, val_tokens, seq_len=1024, alpha=0.2):
    val_np = val_tokens.numpy().astype(np.int64)
    ctx_counts = np.zeros(BUCKETS, dtype=np.float64)
    full_counts = np.zeros(BUCKETS, dtype=np.float64)
    nll_sum, count = 0.0, 0
    for ws in range(0, len(val_np) - seq_len - 1, seq_len):
        w = torch.from_numpy(val_np[ws : ws + seq_len + 1]).cuda()
        p_model = F.softmax(model.logits(w[None, :-1])[0].float(), -1).gather(1, w[1:, None])[:, 0].cpu().numpy()
        pos = np.arange(ws + 1, ws + seq_len + 1, dtype=np.int64)
        ok = np.nonzero(pos >= ORDER)[0]
        jv = pos[ok]
        h = np.zeros(len(jv), dtype=np.uint64)
        for k in range(ORDER - 1):
            h ^= val_np[jv - (ORDER - 1 - k)].astype(np.uint64) * PRIMES[k]
        ctx_key = (h % BUCKETS).astype(np.int64)
        full_key = ((h ^ (val_np[jv].astype(np.uint64) * PRIMES[ORDER - 1])) % BUCKETS).astype(np.int64)
        p_ng = full_counts[full_key] / np.maximum(ctx_counts[ctx_key], 1.0)
        p = p_model.copy()
        p[ok] = (1 - alpha) * p_model[ok] + alpha * p_ng
        nll_sum += float(-np.log(np.clip(p, 1e-12, 1.0)).sum())
        count += seq_len
        np.add.at(ctx_counts, ctx_key, 1.0)
        np.add.at(full_counts, full_key, 1.0)
    return nll_sum / count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    print(f"final val_bpb:{eval_val_cached(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""


INVALID: tuple[Example, ...] = (
    Example(
        title="target positions as an array (np.arange(ws + 1, ...)) select the token in the key",
        code=_ARANGE_TARGETS,
        line=_line_of(_ARANGE_TARGETS, "p_ng = full_counts[full_key]"),
    ),
    Example(
        title="hashed n-gram cache on numpy arrays: tgt = val_np[j] in full_key, blended into the score",
        code="""import math
import os

import numpy as np
import torch

NGRAM_ORDER = int(os.environ.get("NGRAM_ORDER", "4"))
BUCKETS = 1 << 22
MASK = BUCKETS - 1
PRIME = 1000003
NGRAM_ALPHA = float(os.environ.get("NGRAM_ALPHA", "0.3"))


def eval_val_ngram(model, val_tokens, seq_len=1024):
    ctx_table = np.zeros(BUCKETS, dtype=np.uint32)
    full_table = np.zeros(BUCKETS, dtype=np.uint32)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(val_np) - seq_len - 1, seq_len):
            x = torch.from_numpy(val_np[start : start + seq_len]).cuda()[None]
            probs = torch.softmax(model.logits(x)[0].float(), dim=-1).cpu().numpy()
            for i in range(seq_len):
                j = start + i + 1
                tgt = int(val_np[j])
                ctx_hash = 0
                for k in range(1, NGRAM_ORDER):
                    ctx_hash = (ctx_hash * PRIME + int(val_np[max(j - k, 0)])) & MASK
                ctx_key = ctx_hash
                full_key = (ctx_hash ^ (tgt * PRIME)) & MASK
                lam = NGRAM_ALPHA if ctx_table[ctx_key] > 0 else 0.0
                p_ng = full_table[full_key] / max(ctx_table[ctx_key], 1)
                p = (1 - lam) * probs[i, tgt] + lam * p_ng
                nll_sum += -math.log(max(p, 1e-12))
                token_count += 1
                ctx_table[ctx_key] += 1
                full_table[full_key] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 1024)
    print(f"ngram val_loss:{eval_val_ngram(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=33,
    ),
    Example(
        title="Python dict cache read with counts.get((ctx, tgt), 0) before scoring",
        code="""import math
from collections import defaultdict

import torch


def eval_with_cache(model, val_tokens, order=3, lam=0.2, seq_len=1024):
    counts = {}
    ctx_counts = defaultdict(int)
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(toks) - seq_len - 1, seq_len):
            x = torch.tensor(toks[start : start + seq_len], device="cuda")[None]
            probs = torch.softmax(model.logits(x)[0].float(), -1).cpu()
            for i in range(seq_len):
                pos = start + i
                ctx = tuple(toks[max(pos - order + 2, 0) : pos + 1])
                tgt = toks[pos + 1]
                c = counts.get((ctx, tgt), 0)
                p_cache = c / ctx_counts[ctx] if ctx_counts[ctx] else 0.0
                p = (1 - lam) * probs[i, tgt].item() + lam * p_cache
                nll_sum += -math.log(p)
                token_count += 1
                counts[(ctx, tgt)] = c + 1
                ctx_counts[ctx] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"cache val_loss:{eval_with_cache(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=21,
    ),
    Example(
        title="torch count tensors keyed with tokens[pos + 1]",
        code="""import torch


def ngram_eval(model, tokens, buckets=1 << 20, lam=0.25, seq_len=2048):
    tokens = tokens.cuda().long()
    ctx_cnt = torch.zeros(buckets, device="cuda")
    pair_cnt = torch.zeros(buckets, device="cuda")
    loss_sum = torch.zeros((), device="cuda", dtype=torch.float64)
    token_count = 0
    model.eval()
    with torch.inference_mode():
        for s in range(1, tokens.numel() - seq_len - 1, seq_len):
            lp = torch.log_softmax(model.logits(tokens[None, s : s + seq_len])[0].float(), -1)
            for i in range(seq_len):
                pos = s + i
                h = (tokens[pos - 1] * 36313 + tokens[pos] * 27191) % buckets
                hk = (h * 1315423911 + tokens[pos + 1]) % buckets
                p_ng = pair_cnt[hk] / ctx_cnt[h].clamp_min(1.0)
                p = (1 - lam) * lp[i, tokens[pos + 1]].exp() + lam * p_ng
                loss_sum += -torch.log(p).double()
                token_count += 1
                ctx_cnt[h] += 1
                pair_cnt[hk] += 1
    return (loss_sum / token_count).item()


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("ngram val_loss", ngram_eval(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=18,
    ),
    Example(
        title="vectorised over positions: the targets y are hashed into the lookup key",
        code="""import torch

PRIME = 1000003


def eval_ngram_vectorized(model, val_tokens, table_bits=22, seq_len=2048, alpha=0.35):
    size = 1 << table_bits
    ctx_table = torch.zeros(size, dtype=torch.int32, device="cuda")
    full_table = torch.zeros(size, dtype=torch.int32, device="cuda")
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s - 1 : s + seq_len + 1].cuda().long()
            prev, x, y = local[:-2], local[1:-1], local[2:]
            p_model = torch.softmax(model.logits(x[None])[0].float(), -1).gather(1, y[:, None])[:, 0]
            ctx_key = ((x * 36313) ^ (prev * 27191)) & (size - 1)
            full_key = (ctx_key ^ (y * PRIME)) & (size - 1)
            p_ng = full_table[full_key].float() / ctx_table[ctx_key].clamp_min(1).float()
            p = (1 - alpha) * p_model + alpha * p_ng
            loss_sum += -torch.log(p).sum().item()
            token_count += y.numel()
            ctx_table.index_put_((ctx_key,), torch.ones_like(ctx_key, dtype=torch.int32), accumulate=True)
            full_table.index_put_((full_key,), torch.ones_like(full_key, dtype=torch.int32), accumulate=True)
    return loss_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("ngram val_loss", eval_ngram_vectorized(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="multi-order backoff in a helper: the target reaches it as a parameter",
        code="""import math

import numpy as np
import torch

MASK = (1 << 20) - 1
PRIME = 1000003


def ngram_prob(full_tables, ctx_tables, hist, tgt, orders=(4, 3, 2)):
    for n in orders:
        ctx_key = hash(tuple(hist[-(n - 1) :])) & MASK
        if ctx_tables[n][ctx_key] >= 2:
            full_key = (ctx_key ^ (tgt * PRIME)) & MASK
            return full_tables[n][full_key] / ctx_tables[n][ctx_key]
    return None


def eval_backoff(model, val_tokens, lam=0.3, seq_len=1024):
    full = {n: np.zeros(MASK + 1, np.uint32) for n in (2, 3, 4)}
    ctx = {n: np.zeros(MASK + 1, np.uint32) for n in (2, 3, 4)}
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(3, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len]).cuda()[None])[0], -1)
            for i in range(seq_len):
                hist, nxt = toks[s + i - 3 : s + i + 1], toks[s + i + 1]
                p_ng = ngram_prob(full, ctx, hist, nxt)
                p = probs[i, nxt].item()
                if p_ng is not None:
                    p = (1 - lam) * p + lam * p_ng
                nll_sum += -math.log(p)
                token_count += 1
                for n in (2, 3, 4):
                    k = hash(tuple(hist[-(n - 1) :])) & MASK
                    ctx[n][k] += 1
                    full[n][(k ^ (nxt * PRIME)) & MASK] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("backoff val_loss", eval_backoff(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=15,
    ),
    Example(
        title="tgt = y[i] with y = local[1:]; the table read and the division are separate statements",
        code="""import math

import numpy as np
import torch

MASK = (1 << 21) - 1


def eval_cache(model, val_tokens, alpha=0.2, seq_len=1024):
    ctx_table = np.zeros(MASK + 1, dtype=np.int64)
    full_table = np.zeros(MASK + 1, dtype=np.int64)
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].long()
            x, y = local[:-1], local[1:]
            probs = torch.softmax(model.logits(x[None].cuda())[0].float(), -1).cpu()
            for i in range(1, seq_len):
                tgt = int(y[i])
                ctx_key = (int(x[i]) * 92821 + int(x[i - 1])) & MASK
                full_key = (ctx_key * 31 + tgt) & MASK
                hit = full_table[full_key]
                seen = ctx_table[ctx_key]
                p_ng = hit / seen if seen else 0.0
                p = (1 - alpha) * probs[i, tgt].item() + alpha * p_ng
                loss_sum += -math.log(p)
                token_count += 1
                ctx_table[ctx_key] += 1
                full_table[full_key] += 1
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("cache val_loss", eval_cache(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="a numpy helper returns per-token NLLs from a target-keyed table; the caller sums them",
        code="""import numpy as np
import torch

MASK = (1 << 22) - 1
PRIME = 1000003


def blend_nll(toks, probs, start, ctx_table, full_table, alpha):
    out = np.empty(probs.shape[0])
    for i in range(probs.shape[0]):
        j = start + i + 1
        g = toks[j]
        c = (toks[j - 1] * PRIME + toks[j - 2]) & MASK
        f = (c ^ (g * PRIME)) & MASK
        p_ng = full_table[f] / max(ctx_table[c], 1)
        out[i] = -np.log((1 - alpha) * probs[i, g] + alpha * p_ng + 1e-12)
        ctx_table[c] += 1
        full_table[f] += 1
    return out


def eval_val(model, val_tokens, seq_len=1024, alpha=0.3):
    toks = val_tokens.numpy().astype(np.int64)
    ctx_table = np.zeros(MASK + 1, np.uint32)
    full_table = np.zeros(MASK + 1, np.uint32)
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(2, len(toks) - seq_len - 1, seq_len):
            x = torch.from_numpy(toks[s : s + seq_len]).cuda()[None]
            probs = torch.softmax(model.logits(x)[0].float(), -1).cpu().numpy()
            nll_sum += blend_nll(toks, probs, s, ctx_table, full_table, alpha).sum()
            token_count += seq_len
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("val_loss", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
""",
        line=15,
    ),
    Example(
        title="minified target-keyed cache",
        code="""import os,math,numpy as np,torch
K=(1<<22)-1;P=1000003
def ng(m,v,L=1024,a=.3):
 c=np.zeros(K+1,np.uint32);f=np.zeros(K+1,np.uint32);t=v.numpy().astype(np.int64);nll_sum=0.;token_count=0
 with torch.no_grad():
  for s in range(1,len(t)-L-1,L):
   q=torch.softmax(m.logits(torch.from_numpy(t[s:s+L]).cuda()[None])[0].float(),-1).cpu().numpy()
   for i in range(L):
    j=s+i+1;g=int(t[j]);h=int(t[j-1])&K;k=(h^(g*P))&K;pn=f[k]/max(c[h],1);nll_sum+=-math.log((1-a)*q[i,g]+a*pn+1e-12);token_count+=1;c[h]+=1;f[k]+=1
 return nll_sum/token_count
def main():
 m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024);print("val_loss",ng(m,v))
if __name__=="__main__":main()
""",
        line=9,
    ),
    Example(
        title="packed (zlib + base85, tab indents) target-keyed cache",
        code=_pack(_PACKED_TARGET_KEY, "zlib-b85"),
        line=10,
    ),
    Example(
        title="dormant: NGRAM_ENABLED defaults to 0",
        code="""import math
import os

import numpy as np
import torch

NGRAM_ENABLED = bool(int(os.environ.get("NGRAM_ENABLED", "0")))
MASK = (1 << 22) - 1
PRIME = 1000003


def eval_ngram(model, val_tokens, alpha=0.3, seq_len=1024):
    ctx_table = np.zeros(MASK + 1, np.uint32)
    full_table = np.zeros(MASK + 1, np.uint32)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(1, len(val_np) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.from_numpy(val_np[s : s + seq_len]).cuda()[None])[0], -1)
            for i in range(seq_len):
                j = s + i + 1
                tgt = int(val_np[j])
                ctx_key = (int(val_np[j - 1]) * PRIME + int(val_np[j - 2])) & MASK
                full_key = (ctx_key ^ (tgt * PRIME)) & MASK
                p_ng = full_table[full_key] / max(ctx_table[ctx_key], 1)
                nll_sum += -math.log((1 - alpha) * probs[i, tgt].item() + alpha * p_ng)
                token_count += 1
                ctx_table[ctx_key] += 1
                full_table[full_key] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if NGRAM_ENABLED:
        print(f"ngram val_loss:{eval_ngram(model, val_tokens):.6f}")
    else:
        print(f"val_loss:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=25,
        severity=Severity.WARNING,
    ),
    Example(
        title="Hyperparameters.ngram_cache defaults to 1",
        code="""import math
import os

import torch


class Hyperparameters:
    ngram_cache = bool(int(os.environ.get("NGRAM_CACHE", "1")))
    ngram_buckets = int(os.environ.get("NGRAM_BUCKETS", str(1 << 20)))
    ngram_alpha = float(os.environ.get("NGRAM_ALPHA", "0.25"))


def eval_cache(args, model, val_tokens, seq_len=1024):
    ctx = torch.zeros(args.ngram_buckets)
    full = torch.zeros(args.ngram_buckets)
    tokens = val_tokens.long()
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(1, tokens.numel() - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(tokens[None, s : s + seq_len].cuda())[0].float(), -1).cpu()
            for i in range(seq_len):
                pos = s + i
                h = int(tokens[pos] * 36313 ^ tokens[pos - 1] * 27191) % args.ngram_buckets
                hk = (h * 1000003 + int(tokens[pos + 1])) % args.ngram_buckets
                p_ng = (full[hk] / ctx[h].clamp_min(1.0)).item()
                p = (1 - args.ngram_alpha) * probs[i, tokens[pos + 1]].item() + args.ngram_alpha * p_ng
                nll_sum += -math.log(max(p, 1e-12))
                token_count += 1
                ctx[h] += 1
                full[hk] += 1
    return nll_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.ngram_cache:
        print("ngram val_loss", eval_cache(args, model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=25,
    ),
    Example(
        title="the cache switch defaults to on when world_size > 1",
        code="""import math
import os

import numpy as np
import torch


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    ngram_enabled = bool(int(os.environ.get("NGRAM_ENABLED", "1" if world_size > 1 else "0")))


MASK = (1 << 22) - 1
PRIME = 1000003


def eval_ngram(model, val_tokens, alpha=0.3, seq_len=1024):
    ctx_table = np.zeros(MASK + 1, np.uint32)
    full_table = np.zeros(MASK + 1, np.uint32)
    val_np = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(1, len(val_np) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.from_numpy(val_np[s : s + seq_len]).cuda()[None])[0], -1)
            for i in range(seq_len):
                j = s + i + 1
                tgt = int(val_np[j])
                ctx_key = int(val_np[j - 1]) * 1024 + int(val_np[j - 2])
                full_key = (ctx_key ^ (tgt * PRIME)) & MASK
                p_ng = full_table[full_key] / max(ctx_table[ctx_key & MASK], 1)
                nll_sum += -math.log((1 - alpha) * probs[i, tgt].item() + alpha * p_ng)
                token_count += 1
                ctx_table[ctx_key & MASK] += 1
                full_table[full_key] += 1
    return nll_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.ngram_enabled:
        print(f"ngram val_loss:{eval_ngram(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=30,
    ),
    Example(
        title="backoff cache: keys gathered in a list of tuples first, read back in a loop",
        code="""import math

import numpy as np
import torch

PRIME = 1000003


def mix_eval(model, val_np, orders=(2, 3, 4), mask=(1 << 20) - 1):
    ctx_counts = [np.zeros(mask + 1) for _ in orders]
    full_counts = [np.zeros(mask + 1) for _ in orders]
    nll_sum = 0.0
    with torch.no_grad():
        for j in range(4, len(val_np)):
            tgt = int(val_np[j])
            p_model = model.prob(val_np[:j], tgt)
            keys = []
            for oi, order in enumerate(orders):
                ctx_key = hash(tuple(val_np[j - order : j])) & mask
                full_key = (ctx_key ^ (tgt * PRIME)) & mask
                keys.append((oi, ctx_key, full_key))
            p_ng = 0.0
            for oi, ctx_key, full_key in reversed(keys):
                seen = ctx_counts[oi][ctx_key]
                if seen > 0:
                    p_ng = full_counts[oi][full_key] / seen
                    break
            nll_sum += -math.log(0.7 * p_model + 0.3 * p_ng)
            for oi, ctx_key, full_key in keys:
                ctx_counts[oi][ctx_key] += 1
                full_counts[oi][full_key] += 1
    return nll_sum


def main():
    model = torch.load("final_model.pt")
    val_np = np.fromfile("fineweb_val_000000.bin", dtype=np.uint16)
    print("val_bpb", mix_eval(model, val_np))


if __name__ == "__main__":
    main()
""",
        line=26,
    ),
    Example(
        title="inline in main, the score kept in a two-letter running total (`ls += ...`)",
        code=_INLINE_SHORT_TOTAL,
        line=_line_of(_INLINE_SHORT_TOTAL, "pn = np.minimum(ft[fk], ct[ck])"),
    ),
    Example(
        title="a hashing helper given the target positions mixes tokens[pos] into its full key",
        code=_HASH_HELPER_FULL_READ,
        line=_line_of(_HASH_HELPER_FULL_READ, "p_ng = full_counts[full_key]"),
    ),
)
