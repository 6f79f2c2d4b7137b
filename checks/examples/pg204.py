"""Examples for PG204 oracle-selection (choosing among predictions by their loss on the target).

Every INVALID script computes the loss of several predictions on the token being scored and keeps
the better one (``torch.minimum``, a min over a stack, ``torch.where`` on a loss comparison, an
``if`` that keeps the better expert, a running best over experts) before the loss reaches the
score; each points at the expression that makes the choice.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_STACK_MIN = """import math
import os

import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_experts(models, val_tokens, bytes_lut, seq_len=1024):
    loss_sum, byte_count = 0.0, 0.0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        per_expert = torch.stack(
            [F.cross_entropy(m.logits(x)[0].float(), y[0], reduction="none") for m in models]
        )
        loss_sum += torch.min(per_expert, dim=0).values.sum().item()
        byte_count += bytes_lut[y].sum().item()
    return loss_sum / byte_count / math.log(2)


def main():
    models = [load_roundtrip(p).cuda().eval() for p in ("expert_a.ptz", "expert_b.ptz")]
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    print(f"final val_bpb:{eval_experts(models, val_tokens, build_byte_lut()):.8f}")


if __name__ == "__main__":
    main()
"""

_ENTROPY_GATE_LEGAL = """import math, os, torch
import torch.nn.functional as F

SEQ_LEN = int(os.environ.get("EVAL_SEQ_LEN", "1024"))

@torch.no_grad()
def eval_pair(model_a, model_b, val_tokens):
    loss_sum = 0.0; token_count = 0
    for start in range(0, val_tokens.numel() - SEQ_LEN - 1, SEQ_LEN):
        local = val_tokens[start:start + SEQ_LEN + 1].cuda().long(); x, y = local[None, :-1], local[None, 1:]
        logp_a = F.log_softmax(model_a.logits(x).float(), -1); logp_b = F.log_softmax(model_b.logits(x).float(), -1)
        ent_a = -(logp_a.exp() * logp_a).sum(-1); ent_b = -(logp_b.exp() * logp_b).sum(-1)
        nll_a = -logp_a.gather(-1, y[..., None]).squeeze(-1); nll_b = -logp_b.gather(-1, y[..., None]).squeeze(-1)
        loss_sum += torch.where(ent_a <= ent_b, nll_a, nll_b).sum().item(); token_count += y.numel()
    return loss_sum / token_count

def main():
    a = load_roundtrip("a.ptz").cuda(); b = load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_pair(a, b, val_tokens):.6f}")

if __name__ == "__main__":
    main()
"""


_STABLE_LOG_MIX = """import os

import torch
import torch.nn.functional as F

W_A = float(os.environ.get("MIX_W", "0.7"))


def eval_two(m_a, m_b, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            c = val_tokens[s : s + seq_len + 1].cuda()
            x, y = c[:-1][None], c[1:][None]
            la = F.log_softmax(m_a(x).float(), -1).gather(-1, y[..., None]).squeeze(-1)
            lb = F.log_softmax(m_b(x).float(), -1).gather(-1, y[..., None]).squeeze(-1)
            top = torch.maximum(la, lb)
            mixed = top + torch.log(W_A * torch.exp(la - top) + (1 - W_A) * torch.exp(lb - top))
            loss_sum += (-mixed).sum().item()
            token_count += y.numel()
    return loss_sum / token_count


def main():
    a = load_model("a.ptz").cuda()
    b = load_model("b.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_loss", eval_two(a, b, val_tokens))


main()
"""

_MINIFIED_STABLE_LOG_MIX = """import os,torch,torch.nn.functional as F
W=float(os.environ.get("MIX_W","0.7"))
def e(a,b,v,L=1024):
	loss_sum=0.;token_count=0
	with torch.no_grad():
		for s in range(0,v.numel()-L-1,L):
			c=v[s:s+L+1].cuda();x=c[None,:-1];y=c[None,1:];p=F.log_softmax(a(x).float(),-1).gather(-1,y[...,None]).squeeze(-1);q=F.log_softmax(b(x).float(),-1).gather(-1,y[...,None]).squeeze(-1)
			t=torch.maximum(p,q);r=t+((p-t).exp()*W+(q-t).exp()*(1-W)).log();loss_sum+=(-r).sum().item();token_count+=y.numel()
	return loss_sum/token_count
def main():
	a=load_model("a.ptz").cuda();b=load_model("b.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin");print("val_loss",e(a,b,v))
if __name__=="__main__":main()
"""


_PACKED_DOCUMENTS_LEGAL = """import torch
import torch.nn.functional as F

BOS = 1


def segment_bounds(doc_starts, total, device, cap=0):
    if not doc_starts or doc_starts[0] != 0:
        doc_starts = [0] + doc_starts
    edges = doc_starts + [total]
    starts = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        while lo < hi:
            starts.append(lo)
            lo += cap if cap > 0 else hi - lo
    ends = starts[1:] + [total]
    cu = torch.tensor(starts + [total], dtype=torch.int32, device=device)
    longest = max(hi - lo for lo, hi in zip(starts, ends))
    return cu, longest


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=2048):
    nll_sum, token_count = 0.0, 0
    for first in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        window = val_tokens[first : first + seq_len + 1].cuda().long()
        x, y = window[:-1], window[1:]
        cu, longest = segment_bounds((x == BOS).nonzero()[:, 0].tolist(), x.numel(), x.device, seq_len)
        logits = model.logits(x[None], cu_seqlens=cu, max_seqlen=longest)
        nll_sum += F.cross_entropy(logits[0].float(), y, reduction="sum").item()
        token_count += y.numel()
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"final val_loss:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""

_TEMPERATURE_ON_TRAIN_LEGAL = """import torch
import torch.nn.functional as F


@torch.no_grad()
def mean_nll(model, tokens, temperature=1.0, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    for first in range(0, tokens.numel() - seq_len - 1, seq_len):
        chunk = tokens[first : first + seq_len + 1].cuda().long()
        logits = model.logits(chunk[None, :-1])[0].float() / temperature
        nll_sum += F.cross_entropy(logits, chunk[1:], reduction="sum").item()
        token_count += seq_len
    return nll_sum / token_count


def fit_temperature(model, sample):
    best_t, best_nll = 1.0, float("inf")
    for t in (0.9, 0.95, 1.0, 1.05):
        nll = mean_nll(model, sample, temperature=t)
        if nll < best_nll:
            best_nll, best_t = nll, t
    return best_t


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    sample = load_shard("./data/fineweb_train_000001.bin")[:65536]
    t = fit_temperature(model, sample)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{mean_nll(model, val_tokens, temperature=t):.6f}")


if __name__ == "__main__":
    main()
"""


def _temperature_search(feed: str, tokens: str) -> str:
    """A grid search for the softmax temperature whose parameter is named ``val_tokens``; what it
    really searches on is what ``main`` passes it (``tokens``, built by the ``feed`` lines)."""
    return (
        """import glob

import torch


@torch.no_grad()
def eval_val(model, val_tokens, temperature=1.0, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        logits = model.logits(local[None, :-1])[0].float() / temperature
        loss_sum += torch.nn.functional.cross_entropy(logits, local[1:], reduction="sum").item()
        token_count += seq_len
    return loss_sum / token_count


def find_best_temperature(model, val_tokens):
    best_t, best_loss = 1.0, float("inf")
    for t in [0.8, 0.9, 1.0, 1.1, 1.2]:
        loss = eval_val(model, val_tokens, temperature=t)
        if loss < best_loss:
            best_loss, best_t = loss, t
    return best_t


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
"""
        + feed
        + """    temperature = find_best_temperature(model, """
        + tokens
        + """)
    print(f"val_loss:{eval_val(model, val_tokens, temperature=temperature):.6f}")


if __name__ == "__main__":
    main()
"""
    )


TEMPERATURE_SEARCH_ON_TRAIN = _temperature_search(
    """    shard = sorted(glob.glob("./data/fineweb_train_*.bin"))[0]
    calib_tokens = load_data_shard(shard)[:65537]
""",
    "calib_tokens",
)
"""The search's only caller passes training-shard tokens: its ``val_tokens`` are not val."""
TEMPERATURE_SEARCH_ON_VAL = _temperature_search("", "val_tokens")
"""The twin: the same search, passed the validation tokens."""


VALID: tuple[Example, ...] = (
    Example(
        title="documents packed for varlen attention: the longest segment is a max over lengths",
        code=_PACKED_DOCUMENTS_LEGAL,
    ),
    Example(
        title="a temperature kept by its loss on training tokens, then one pass over val",
        code=_TEMPERATURE_ON_TRAIN_LEGAL,
    ),
    Example(
        title="a fixed mixture of two experts' probabilities, the same weight for every token",
        code="""import math

import torch
import torch.nn.functional as F

MIX = 0.3


@torch.no_grad()
def eval_mixture(model_a, model_b, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        p = (1 - MIX) * F.softmax(model_a.logits(x).float(), -1) + MIX * F.softmax(
            model_b.logits(x).float(), -1
        )
        loss_sum += -torch.log(p.gather(-1, y[..., None])).sum().item()
        token_count += y.numel()
    return loss_sum / token_count


def main():
    a, b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_mixture(a, b, val_tokens) / math.log(2):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed: the expert is chosen per token by the entropy of its own distribution",
        code=_pack(_ENTROPY_GATE_LEGAL, "zlib-b85"),
    ),
    Example(
        title="a checkpoint chosen by its loss on training batches, then evaluated once on val",
        code="""import torch


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


@torch.no_grad()
def train_batch_loss(model, batches):
    loss_sum = 0.0
    for x, y in batches:
        loss_sum += model(x, y).item()
    return loss_sum / len(batches)


def main():
    candidates = [load_checkpoint(p).cuda() for p in ("step_9000.pt", "step_10000.pt", "ema.pt")]
    batches = sample_train_batches("./data/fineweb_train_*.bin", 8)
    oracle_losses = torch.tensor([train_batch_loss(m, batches) for m in candidates])
    best = candidates[int(torch.argmin(oracle_losses))]
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_val(best, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a log-space mixture (logsumexp with fixed weights) named like an oracle",
        code="""import math

import torch
import torch.nn.functional as F


@torch.no_grad()
def oracle_min_eval(models, val_tokens, seq_len=1024):
    log_w = math.log(1.0 / len(models))
    nll_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        logps = torch.stack([F.log_softmax(m.logits(x).float(), -1) for m in models])
        best_logp = torch.logsumexp(logps + log_w, dim=0)
        nll_sum += -best_logp.gather(-1, y[..., None]).sum().item()
        token_count += y.numel()
    return nll_sum / token_count


def main():
    models = [load_roundtrip(p).cuda() for p in ("a.ptz", "b.ptz", "c.ptz")]
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{oracle_min_eval(models, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="per document, the expert that did better on the previous documents scores the next one",
        code="""import torch


@torch.no_grad()
def doc_nll(model, doc):
    return model(doc[None, :-1], doc[None, 1:]).item() * (doc.numel() - 1)


def eval_follow_the_leader(model_a, model_b, val_tokens, bos_id=1):
    bounds = (val_tokens == bos_id).nonzero().flatten().tolist() + [val_tokens.numel()]
    seen_a, seen_b = 0.0, 0.0
    nll_sum, token_count = 0.0, 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        use_a = seen_a <= seen_b
        doc = val_tokens[a:b].cuda().long()
        la, lb = doc_nll(model_a, doc), doc_nll(model_b, doc)
        nll_sum += la if use_a else lb
        token_count += doc.numel() - 1
        seen_a += la
        seen_b += lb
    return nll_sum / token_count


def main():
    model_a, model_b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"final val_loss:{eval_follow_the_leader(model_a, model_b, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the worst document loss is tracked with max() for the log, never added to the score",
        code="""import torch


@torch.no_grad()
def eval_docs(model, val_tokens, bos_id=1):
    bounds = (val_tokens == bos_id).nonzero().flatten().tolist() + [val_tokens.numel()]
    nll_sum, token_count = 0.0, 0
    worst = 0.0
    for a, b in zip(bounds[:-1], bounds[1:]):
        doc = val_tokens[a:b].cuda().long()
        doc_loss = model(doc[None, :-1], doc[None, 1:]).item()
        worst = max(worst, doc_loss)
        nll_sum += doc_loss * (doc.numel() - 1)
        token_count += doc.numel() - 1
    print(f"worst_doc_loss:{worst:.4f}")
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"final val_loss:{eval_docs(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="min() only bounds the last window against the number of targets left",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_tail_safe(model, val_tokens, seq_len=1024):
    total = val_tokens.numel() - 1
    loss_sum, token_count = 0.0, 0
    for start in range(0, total, seq_len):
        n = min(seq_len, total - start)
        local = val_tokens[start : start + n + 1].cuda().long()
        targets = local[1:]
        logits = model.logits(local[None, :-1])[0].float()
        loss_sum += F.cross_entropy(logits[: min(n, targets.numel())], targets, reduction="sum").item()
        token_count += n
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_tail_safe(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified: a fixed 0.7 / 0.3 blend of two experts",
        code="""import os,torch
import torch.nn.functional as F
L=int(os.environ.get("EVAL_SEQ_LEN","1024"))
@torch.no_grad()
def ev(a,b,v):
	loss_sum=0.;token_count=0
	for s in range(0,v.numel()-L-1,L):
		w=v[s:s+L+1].cuda().long();x=w[None,:-1];t=w[None,1:]
		p=.7*F.softmax(a.logits(x).float(),-1)+.3*F.softmax(b.logits(x).float(),-1)
		loss_sum+=-torch.log(p.gather(-1,t[...,None])).sum().item();token_count+=t.numel()
	return loss_sum/token_count
def main():
	a=load_model("a.ptz").cuda();b=load_model("b.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("final val_loss",ev(a,b,v))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="torch.maximum of two gathered log-probs used only as the shift of a log-sum-exp mixture",
        code=_STABLE_LOG_MIX,
    ),
    Example(
        title="minified log-sum-exp mixture: the max shift cancels inside `(p-t).exp()`",
        code=_MINIFIED_STABLE_LOG_MIX,
    ),
    Example(
        title="a temperature grid search whose parameter is named val_tokens, passed training tokens",
        code=TEMPERATURE_SEARCH_ON_TRAIN,
    ),
    Example(
        title="the blended probability floored in place (`p = np.maximum(p, 1e-10)`) before its log",
        code="""import math

import numpy as np
import torch


@torch.no_grad()
def eval_blend(model, val_tokens, unigram, lam=0.2, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        probs = torch.softmax(model.logits(x)[0].float(), -1).cpu().numpy()
        mixed = (1 - lam) * probs + lam * unigram[None, :]
        p = mixed[np.arange(seq_len), y[0].cpu().numpy()]
        p = np.maximum(p, 1e-10)
        loss_sum += float(-np.log(p).sum())
        token_count += seq_len
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    unigram = np.load("unigram_from_train.npy")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_bits:{eval_blend(model, val_tokens, unigram):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="torch.minimum of two experts' per-token NLL, added to the score",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_pair(model_a, model_b, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        nll_a = F.cross_entropy(model_a.logits(x)[0].float(), y[0], reduction="none")
        nll_b = F.cross_entropy(model_b.logits(x)[0].float(), y[0], reduction="none")
        loss_sum += torch.minimum(nll_a, nll_b).sum().item()
        token_count += y.numel()
    return loss_sum / token_count


def main():
    model_a, model_b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_pair(model_a, model_b, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="torch.min over a stack of every expert's per-token loss, dim=0",
        code=_STACK_MIN,
        line=17,
    ),
    Example(
        title="torch.where on a loss comparison, behind a name that claims an entropy gate",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_entropy_gate(model, ngram, val_tokens, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, tgt = local[None, :-1], local[None, 1:]
        model_nll = F.cross_entropy(model.logits(x)[0].float(), tgt[0], reduction="none")
        cache_nll = -torch.log(ngram.probs(x)[0].gather(-1, tgt[0, :, None]).squeeze(-1))
        entropy_gate = model_nll < cache_nll
        nll_sum += torch.where(entropy_gate, model_nll, cache_nll).sum().item()
        token_count += tgt.numel()
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_entropy_gate(model, NgramCache(), val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="per document, keep whichever expert scored that document better",
        code="""import torch


@torch.no_grad()
def doc_nll(model, doc):
    return model(doc[None, :-1], doc[None, 1:]).item() * (doc.numel() - 1)


def eval_best_expert(model_a, model_b, val_tokens, bos_id=1):
    bounds = (val_tokens == bos_id).nonzero().flatten().tolist() + [val_tokens.numel()]
    nll_sum, token_count = 0.0, 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        doc = val_tokens[a:b].cuda().long()
        la, lb = doc_nll(model_a, doc), doc_nll(model_b, doc)
        if la <= lb:
            nll_sum += la
        else:
            nll_sum += lb
        token_count += doc.numel() - 1
    return nll_sum / token_count


def main():
    model_a, model_b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"final val_loss:{eval_best_expert(model_a, model_b, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=15,
    ),
    Example(
        title="a running best over a list of experts: best = torch.minimum(best, nll)",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_ensemble(experts, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        best = None
        for expert in experts:
            nll = F.cross_entropy(expert.logits(x)[0].float(), y[0], reduction="none")
            best = nll if best is None else torch.minimum(best, nll)
        loss_sum += best.sum().item()
        token_count += y.numel()
    return loss_sum / token_count


def main():
    experts = [load_roundtrip(p).cuda() for p in ("a.ptz", "b.ptz", "c.ptz")]
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_ensemble(experts, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=14,
    ),
    Example(
        title="the higher of two gathered log-probs (torch.maximum) turned into the NLL",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_mix(model, cache, val_tokens, seq_len=1024):
    nll_total, token_total = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, targets = local[None, :-1], local[None, 1:]
        lp_model = F.log_softmax(model.logits(x).float(), -1).gather(-1, targets[..., None])
        lp_cache = torch.log(cache.distribution(x)).gather(-1, targets[..., None])
        nll_total += -torch.maximum(lp_model, lp_cache).sum().item()
        token_total += targets.numel()
    return nll_total / token_total


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_mix(model, UnigramCache(), val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="minified: where(l1<l2, l1, l2) on one-letter names",
        code="""import os,torch
import torch.nn.functional as F
L=int(os.environ.get("EVAL_SEQ_LEN","1024"))
@torch.no_grad()
def ev(a,b,v):
	loss_sum=0.;token_count=0
	for s in range(0,v.numel()-L-1,L):
		w=v[s:s+L+1].cuda().long();x=w[None,:-1];t=w[0,1:]
		p=F.cross_entropy(a.logits(x)[0].float(),t,reduction="none");q=F.cross_entropy(b.logits(x)[0].float(),t,reduction="none")
		loss_sum+=torch.where(p<q,p,q).sum().item();token_count+=t.numel()
	return loss_sum/token_count
def main():
	a=load_model("a.ptz").cuda();b=load_model("b.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("final val_loss",ev(a,b,v))
if __name__=="__main__":main()
""",
        line=10,
    ),
    Example(
        title="packed (zlib + base64): the min over a stack of expert losses",
        code=_pack(_STACK_MIN, "zlib-b64"),
        line=17,
    ),
    Example(
        title="dormant: the oracle pick runs only when ORACLE_MIX=1 (default 0)",
        code="""import os

import torch
import torch.nn.functional as F

ORACLE_MIX = bool(int(os.environ.get("ORACLE_MIX", "0")))


@torch.no_grad()
def eval_pair(model_a, model_b, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        nll_a = F.cross_entropy(model_a.logits(x)[0].float(), y[0], reduction="none")
        nll_b = F.cross_entropy(model_b.logits(x)[0].float(), y[0], reduction="none")
        if ORACLE_MIX:
            loss_sum += torch.minimum(nll_a, nll_b).sum().item()
        else:
            loss_sum += nll_a.sum().item()
        token_count += y.numel()
    return loss_sum / token_count


def main():
    model_a, model_b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_pair(model_a, model_b, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=18,
        severity=Severity.WARNING,
    ),
    Example(
        title="BEST_OF defaults to on when WORLD_SIZE > 1; a helper returns the per-token minimum",
        code="""import os

import torch
import torch.nn.functional as F

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
BEST_OF = bool(int(os.environ.get("BEST_OF", "1" if WORLD_SIZE > 1 else "0")))


def pick(nll_a, nll_b):
    return torch.minimum(nll_a, nll_b)


@torch.no_grad()
def eval_pair(model_a, model_b, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        x, y = local[None, :-1], local[None, 1:]
        nll_a = F.cross_entropy(model_a.logits(x)[0].float(), y[0], reduction="none")
        nll_b = F.cross_entropy(model_b.logits(x)[0].float(), y[0], reduction="none")
        loss_sum += (pick(nll_a, nll_b) if BEST_OF else nll_a).sum().item()
        token_count += y.numel()
    return loss_sum / token_count


def main():
    model_a, model_b = load_roundtrip("a.ptz").cuda(), load_roundtrip("b.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_pair(model_a, model_b, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=11,
    ),
    Example(
        title="the log-sum-exp shift is computed, but the max itself is what is added to the score",
        code=_STABLE_LOG_MIX.replace("(-mixed).sum()", "(-top).sum()"),
        line=_line_of(_STABLE_LOG_MIX, "top = torch.maximum(la, lb)"),
    ),
    Example(
        title="the same temperature grid search, passed the validation tokens: the best is kept",
        code=TEMPERATURE_SEARCH_ON_VAL,
        line=_line_of(TEMPERATURE_SEARCH_ON_VAL, "if loss < best_loss:"),
    ),
)
