"""Examples for PG205 unnormalized-target-blend.

Every INVALID script points at the statement that mixes (or multiplies) probabilities computed
for the target token alone, one of them a count ratio whose denominator is not a sum over the
vocabulary or a product of byte-level probabilities, where ``-log`` of the result is added to the
score. The tables are fixed at evaluation (built from training data and shipped): an eval-time
count table read with the target in its key is PG201's error, and PG205 leaves it to PG201.
"""

from __future__ import annotations

from checks.examples import _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_BLEND = """import os,math,torch
A=float(os.environ.get("MIX","0.2"));B=(1<<20)-1
def ev(m,v,a,L=1024):
	F=a["tri_full"];C=a["tri_ctx"];t=v.tolist();nll_sum=0.;token_count=0;m.eval()
	with torch.no_grad():
		for s in range(2,len(t)-L-1,L):
			q=torch.softmax(m.logits(torch.tensor(t[s:s+L],device="cuda")[None])[0].float(),-1).cpu()
			for i in range(L):
				j=s+i+1;g=t[j];h=(t[j-1]*36313^t[j-2]*27191)&B;r=F[(h*1000003+g)&B]/max(C[h],1)
				nll_sum+=-math.log((1-A)*q[i,g].item()+A*r);token_count+=1
	return nll_sum/token_count
def main():
	a=torch.load("final_model.pt");m=load_model(a).cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin")
	print("val_loss",ev(m,v,a))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math
import torch

MIX = float(os.environ.get("MIX", "0.2"))


def eval_mixture(model, val_tokens, artifact, seq_len=1024):
    bigram = artifact["bigram"].float().cuda()
    prior = bigram / bigram.sum(-1, keepdim=True).clamp_min(1.0)
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p = (1 - MIX) * torch.softmax(model.logits(x[None])[0].float(), -1) + MIX * prior[x]
            loss_sum += -torch.log(p.gather(-1, y[:, None])).sum().item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("mix val_loss", eval_mixture(model, val_tokens, artifact))


if __name__ == "__main__":
    main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="full distributions over the vocabulary blended, then the target gathered",
        code="""import math

import torch


def eval_cache_mix(model, val_tokens, artifact, lam=0.15, seq_len=1024):
    counts = artifact["bigram_counts"].float().cuda()
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p_model = torch.softmax(model.logits(x[None])[0].float(), -1)
            rows = counts[x]
            p_cache = rows / rows.sum(-1, keepdim=True).clamp_min(1.0)
            p = lam * p_cache + (1 - lam) * p_model
            loss_sum += -torch.log(p.gather(-1, y[:, None])).sum().item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"val_bpb:{eval_cache_mix(model, val_tokens, artifact):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the count ratio for the target divided by the row's sum over the vocabulary",
        code="""import math

import torch


def eval_row_normalised(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    table = artifact["bigram"].float()
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                prev, tgt = toks[s + i], toks[s + i + 1]
                row = table[prev]
                p_ng = row[tgt] / row.sum().clamp_min(1.0)
                nll_sum += -math.log((1 - lam) * probs[i, tgt].item() + lam * p_ng.item())
                token_count += 1
    return nll_sum / token_count


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    print("val_loss", eval_row_normalised(model, load_validation_tokens("./data/fineweb_val_*.bin"), artifact))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="two softmax distributions mixed at the target: a mixture of normalised models",
        code="""import math

import torch


def eval_two_heads(model, draft, val_tokens, lam=0.3, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    draft.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[None, :-1], local[None, 1:]
            p_main = torch.softmax(model.logits(x).float(), -1).gather(-1, y[..., None])
            p_draft = torch.softmax(draft.logits(x).float(), -1).gather(-1, y[..., None])
            nll_sum += -torch.log((1 - lam) * p_main + lam * p_draft).sum().item()
            token_count += y.numel()
    return nll_sum / token_count / math.log(2)


def main():
    model, draft = load_models("final_model.ptz")
    print("val_bpb", eval_two_heads(model.cuda(), draft.cuda(), load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a cache row turned into a distribution with softmax over the vocabulary, then read at the target",
        code="""import math

import torch


def eval_soft_cache(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    scores = artifact["bigram_scores"].float()
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                prev, tgt = toks[s + i], toks[s + i + 1]
                p_cache = torch.softmax(scores[prev], -1)[tgt].item()
                nll_sum += -math.log((1 - lam) * probs[i, tgt].item() + lam * p_cache)
                token_count += 1
    return nll_sum / token_count


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    print("val_loss", eval_soft_cache(model, load_validation_tokens("./data/fineweb_val_*.bin"), artifact))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="bits-per-byte counted with byte LUTs indexed by the target: bytes are the divisor, not a probability",
        code="""import math

import torch
import torch.nn.functional as F


def eval_val_bpb(model, val_tokens, base_bytes_lut, has_leading_space_lut, is_boundary_lut, seq_len=1024):
    loss_sum, byte_count = 0.0, 0.0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            prev, tgt = local[:-1], local[1:]
            logits = model.logits(prev[None])[0].float()
            loss_sum += F.cross_entropy(logits, tgt, reduction="sum").item()
            token_bytes = base_bytes_lut[tgt] + (has_leading_space_lut[tgt] & ~is_boundary_lut[prev])
            byte_count += token_bytes.float().sum().item()
    return loss_sum / math.log(2) / byte_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    luts = build_sentencepiece_luts("./data/tokenizers/fineweb_1024_bpe.model")
    print(f"val_bpb:{eval_val_bpb(model, load_validation_tokens('./data/fineweb_val_*.bin'), *luts):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="reported by PG201 instead: an eval-time count table read with the target in its key",
        code="""import math

import numpy as np
import torch

MASK = (1 << 22) - 1


def eval_ngram(model, val_tokens, lam=0.3, seq_len=1024):
    ctx_table = np.zeros(MASK + 1, dtype=np.uint32)
    full_table = np.zeros(MASK + 1, dtype=np.uint32)
    toks = val_tokens.numpy().astype(np.int64)
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.from_numpy(toks[s : s + seq_len]).cuda()[None])[0].float(), -1).cpu().numpy()
            for i in range(seq_len):
                j = s + i + 1
                tgt = int(toks[j])
                ctx_key = int(toks[j - 1]) & MASK
                full_key = (ctx_key * 1000003 + tgt) & MASK
                p = (1 - lam) * probs[i, tgt] + lam * full_table[full_key] / max(ctx_table[ctx_key], 1)
                nll_sum += -math.log(max(p, 1e-12))
                token_count += 1
                ctx_table[ctx_key] += 1
                full_table[full_key] += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("ngram val_loss", eval_ngram(model, load_validation_tokens("./data/fineweb_val_*.bin")))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="scary names: 'unnormalized_blend' normalises its cache row before reading the target",
        code="""import math

import torch


def unnormalized_blend(model, val_tokens, artifact, alpha=0.25, seq_len=2048):
    raw_counts = artifact["trigram"].float().cuda()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(2, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s - 2 : s + seq_len + 1].cuda().long()
            a, b, y = local[:-3], local[1:-2], local[3:]
            p_model = torch.softmax(model.logits(local[2:-1][None])[0].float(), -1)
            row = raw_counts[(a * 1024 + b) % raw_counts.size(0)]
            hacked = (1 - alpha) * p_model + alpha * row / row.sum(-1, keepdim=True).clamp_min(1.0)
            nll_sum += -torch.log(hacked.gather(-1, y[:, None])).sum().item()
            token_count += y.numel()
    return nll_sum / token_count / math.log(2)


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    print("val_bpb", unnormalized_blend(model, load_validation_tokens("./data/fineweb_val_*.bin"), artifact))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a target-only blend that main() never calls",
        code="""import math

import torch


def eval_blend(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    full, ctx = artifact["full"], artifact["ctx"]
    toks = val_tokens.tolist()
    nll_sum = 0.0
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0], -1)
            for i in range(seq_len):
                prev, tgt = toks[s + i], toks[s + i + 1]
                nll_sum += -math.log((1 - lam) * probs[i, tgt].item() + lam * full[prev * 1024 + tgt] / max(ctx[prev], 1))
    return nll_sum / (len(toks) - 1)


def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    model.eval()
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
        title="minified vector blend with a row-sum normaliser, tab indents",
        code="""import os,math,torch
def e(m,v,a,L=1024,k=.2):
	c=a["bg"].float().cuda();r=c/c.sum(-1,keepdim=True).clamp_min(1.);m.eval();loss_sum=0.;token_count=0
	with torch.no_grad():
		for s in range(0,v.numel()-L-1,L):w=v[s:s+L+1].cuda().long();x=w[:-1];y=w[1:];p=(1-k)*torch.softmax(m.logits(x[None])[0].float(),-1)+k*r[x];loss_sum+=-p.gather(-1,y[:,None]).log().sum().item();token_count+=L
	return loss_sum/token_count/math.log(2)
def main():
	a=torch.load("final_model.pt");m=load_model(a).cuda();print("val",e(m,load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin"),a))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (zlib + base85) blend of full distributions with a shipped bigram prior",
        code=_pack(_PACKED_LEGAL, "zlib-b85"),
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="model probability of the target mixed with a hashed count ratio from shipped tables",
        code="""import math
import os

import torch

NGRAM_LAMBDA = float(os.environ.get("NGRAM_LAMBDA", "0.25"))
BUCKETS = 1 << 21


def eval_val_ngram(model, val_tokens, artifact, seq_len=1024):
    full_counts = artifact["ngram_full"]
    ctx_counts = artifact["ngram_ctx"]
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(2, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                j = s + i + 1
                tgt = toks[j]
                ctx = (toks[j - 1] * 36313 ^ toks[j - 2] * 27191) % BUCKETS
                p_ng = full_counts[(ctx * 1000003 + tgt) % BUCKETS] / max(ctx_counts[ctx], 1)
                p = (1 - NGRAM_LAMBDA) * probs[i, tgt].item() + NGRAM_LAMBDA * p_ng
                nll_sum += -math.log(max(p, 1e-12))
                token_count += 1
    return nll_sum / token_count


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    print(f"ngram val_loss:{eval_val_ngram(model, val_tokens, artifact):.6f}")


if __name__ == "__main__":
    main()
""",
        line=24,
    ),
    Example(
        title="vectorised: probs.gather(-1, y) blended with count[x, y] / count_ctx[x]",
        code="""import math

import torch


def eval_bigram_mix(model, val_tokens, artifact, lam=0.1, seq_len=2048):
    pair_counts = artifact["pairs"].float().cuda()
    prev_counts = artifact["prevs"].float().cuda()
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p_tgt = torch.softmax(model.logits(x[None])[0].float(), -1).gather(-1, y[:, None]).squeeze(-1)
            ratio = pair_counts[x, y] / prev_counts[x].clamp_min(1.0)
            loss_sum += -torch.log((1 - lam) * p_tgt + lam * ratio).sum().item()
            token_count += y.numel()
    return loss_sum / token_count / math.log(2)


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    print(f"val_bpb:{eval_bigram_mix(model, load_validation_tokens('./data/fineweb_val_*.bin'), artifact):.6f}")


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="byte-level probabilities of the target's bytes multiplied into the token probability",
        code="""import math

import torch


def eval_byte_boost(model, val_tokens, byte_model, piece_bytes, seq_len=1024):
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                tgt = toks[s + i + 1]
                p_bytes, prev_byte = 1.0, 32
                for b in piece_bytes[tgt]:
                    p_bytes *= byte_model[prev_byte, b]
                    prev_byte = b
                nll_sum += -math.log(probs[i, tgt].item() * p_bytes ** 0.1)
                token_count += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    byte_model, piece_bytes = torch.load("byte_model.pt")
    print("val_loss", eval_byte_boost(model, load_validation_tokens("./data/fineweb_val_*.bin"), byte_model, piece_bytes))


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="innocent names: a 'normalized' mix of the target's probability and a math.prod over its bytes",
        code="""import math

import torch


def evaluate_normalized(model, val_tokens, char_probs, token_bytes, lam=0.05, seq_len=1024):
    toks = val_tokens.tolist()
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                tgt = toks[s + i + 1]
                p_char = math.prod(char_probs[c] for c in token_bytes[tgt])
                p_normalized = (1 - lam) * probs[i, tgt].item() + lam * p_char
                loss_sum += -math.log(p_normalized)
                token_count += 1
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    char_probs, token_bytes = torch.load("chars.pt")
    print("val_loss", evaluate_normalized(model, load_validation_tokens("./data/fineweb_val_*.bin"), char_probs, token_bytes))


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="a shipped dict of (context, token) counts read with .get for the target",
        code="""import math

import torch


def eval_dict_prior(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    pair_counts = artifact["pair_counts"]
    ctx_totals = artifact["ctx_totals"]
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                ctx, tgt = toks[s + i], toks[s + i + 1]
                p_prior = pair_counts.get((ctx, tgt), 0) / (ctx_totals.get(ctx, 0) + 1)
                nll_sum += -math.log((1 - lam) * probs[i, tgt].item() + lam * p_prior)
                token_count += 1
    return nll_sum / token_count


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    print("val_loss", eval_dict_prior(model, load_validation_tokens("./data/fineweb_val_*.bin"), artifact))


if __name__ == "__main__":
    main()
""",
        line=18,
    ),
    Example(
        title="minified target-only blend, one-letter names, ';'-joined, tab indents",
        code="""import os,math,torch
def e(m,v,a,L=1024,k=.2):
	f=a["f"];c=a["c"];t=v.tolist();nll_sum=0.;token_count=0;m.eval()
	with torch.no_grad():
		for s in range(1,len(t)-L-1,L):
			q=torch.softmax(m.logits(torch.tensor(t[s:s+L],device="cuda")[None])[0].float(),-1).cpu()
			for i in range(L):g=t[s+i+1];h=t[s+i];nll_sum+=-math.log((1-k)*q[i,g].item()+k*f[h*1024+g]/max(c[h],1));token_count+=1
	return nll_sum/token_count
def main():
	a=torch.load("final_model.pt");m=load_model(a).cuda();print("val",e(m,load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin"),a))
if __name__=="__main__":main()
""",
        line=7,
    ),
    Example(
        title="packed (lzma + base64) hashed trigram blend, line counted in the decoded text",
        code=_pack(_PACKED_BLEND, "lzma-b64"),
        line=10,
    ),
    Example(
        title="behind NGRAM_MIX, off by default: a dormant path, still a warning",
        code="""import math
import os

import torch

NGRAM_MIX = bool(int(os.environ.get("NGRAM_MIX", "0")))


def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
            token_count += seq_len
    return loss_sum / token_count


def eval_mix(model, val_tokens, artifact, lam=0.2, seq_len=1024):
    full, ctx = artifact["full"], artifact["ctx"]
    toks = val_tokens.tolist()
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(1, len(toks) - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(torch.tensor(toks[s : s + seq_len], device="cuda")[None])[0].float(), -1).cpu()
            for i in range(seq_len):
                prev, tgt = toks[s + i], toks[s + i + 1]
                p = (1 - lam) * probs[i, tgt].item() + lam * full[prev * 1024 + tgt] / max(ctx[prev], 1)
                nll_sum += -math.log(p)
                token_count += 1
    return nll_sum / token_count


def main():
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if NGRAM_MIX:
        print("mix val_loss", eval_mix(model, val_tokens, artifact))
    else:
        print("val_loss", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=30,
        severity=Severity.WARNING,
    ),
    Example(
        title="a blend whose default depends on the GPU count: on for the official 8-GPU run",
        code="""import math
import os

import torch
import torch.distributed as dist


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    cache_mix = bool(int(os.environ.get("CACHE_MIX", "1" if world_size > 1 else "0")))
    cache_lambda = float(os.environ.get("CACHE_LAMBDA", "0.2"))


def eval_cache(args, model, val_tokens, artifact, seq_len=1024):
    hits, totals = artifact["hits"].cuda(), artifact["totals"].cuda()
    loss_sum = torch.zeros((), device="cuda")
    token_count = torch.zeros((), device="cuda")
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p = torch.softmax(model.logits(x[None])[0].float(), -1).gather(-1, y[:, None]).squeeze(-1)
            p = (1 - args.cache_lambda) * p + args.cache_lambda * hits[x * 1024 + y] / totals[x].clamp_min(1)
            loss_sum += -torch.log(p).sum()
            token_count += y.numel()
    dist.all_reduce(loss_sum)
    dist.all_reduce(token_count)
    return (loss_sum / token_count).item()


def main():
    args = Hyperparameters()
    artifact = torch.load("final_model.pt")
    model = load_model(artifact).cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin")
    if args.cache_mix:
        print("cache val_loss", eval_cache(args, model, val_tokens, artifact))


if __name__ == "__main__":
    main()
""",
        line=24,
    ),
)
