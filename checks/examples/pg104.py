"""Examples for PG104 rescoring-pass (two passes over the same validation tokens).

Every INVALID script reports a score that depends on a second look at tokens it already scored:
a pass after state was built from a first pass (a cache, an adapted model, a temperature), a loop
that scores the same tokens on every epoch while adapting, or the better of two passes. Each points
at the statement where the tokens are scored the second time (or where the better pass is kept).
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from checks.examples.pg102 import LAST_EPOCH_FLAG
from checks.examples.pg204 import TEMPERATURE_SEARCH_ON_TRAIN, TEMPERATURE_SEARCH_ON_VAL
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_NGRAM_TWO_PASS = """import math
import os

import numpy as np
import torch

ORDER = int(os.environ.get("NGRAM_ORDER", "3"))
BUCKETS = 1 << 18


def context_hash(tokens, i):
    h = 0
    for k in range(1, ORDER):
        h = (h * 1000003 + int(tokens[i - k])) % BUCKETS
    return h


@torch.no_grad()
def eval_ngram(model, val_tokens, lam=0.2):
    probs = torch.softmax(model(val_tokens[None, :-1].cuda()).float(), -1)[0].cpu().numpy()
    val_np = val_tokens.numpy()
    counts = np.zeros((BUCKETS, probs.shape[-1]), dtype=np.float32)
    loss_sum, token_count = 0.0, 0
    for i in range(ORDER, len(val_np) - 1):
        ctx = context_hash(val_np, i + 1)
        row = counts[ctx]
        p = (1 - lam) * probs[i] + lam * row / max(row.sum(), 1.0)
        loss_sum += -math.log(p[val_np[i + 1]])
        token_count += 1
        counts[ctx, val_np[i + 1]] += 1
    rescored_loss_sum = 0.0
    for i in range(ORDER, len(val_np) - 1):
        ctx = context_hash(val_np, i + 1)
        row = counts[ctx]
        p = (1 - lam) * probs[i] + lam * row / max(row.sum(), 1.0)
        rescored_loss_sum += -math.log(p[val_np[i + 1]])
    return rescored_loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 1024)
    print(f"final_ngram val_loss:{eval_ngram(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""


def _timed(code: str) -> str:
    """``code`` with main calling the evaluation through a timing helper and a lambda."""
    helper = (
        "def timed(name, run):\n"
        "    start = time.perf_counter()\n"
        "    out = run()\n"
        '    print(f"{name}_ms:{1000 * (time.perf_counter() - start):.0f}")\n'
        "    return out\n\n\n"
        "def main():\n"
    )
    code = code.replace("import math\n", "import math\nimport time\n", 1).replace(
        "def main():\n", helper, 1
    )
    return code.replace(
        'print(f"final_ngram val_loss:{eval_ngram(model, val_tokens):.6f}")',
        'loss = timed("ngram_eval", lambda: eval_ngram(model, val_tokens))\n    print(f"final_ngram val_loss:{loss:.6f}")',
    )


_TIMED_TWO_PASS = _timed(_NGRAM_TWO_PASS)


def _preset(code: str, default_preset: str) -> str:
    """``code`` with the n-gram eval behind a config field (declared off) that a preset function
    turns on for every preset but the baseline, the preset chosen by ``MODEL_PRESET``."""
    config = (
        "def _env_bool(name, default):\n"
        "    raw = os.environ.get(name)\n"
        "    if raw is None:\n"
        "        return default\n"
        '    return raw.strip().lower() in {"1", "true", "yes"}\n\n\n'
        "def _env_str(name, default):\n"
        "    raw = os.environ.get(name)\n"
        "    return default if raw is None else raw.strip()\n\n\n"
        "@dataclass\n"
        "class EvalConfig:\n"
        '    ngram_eval_enabled: bool = _env_bool("NGRAM_EVAL_ENABLED", False)\n\n\n'
        "@dataclass\n"
        "class Config:\n"
        f'    model_preset: str = field(default_factory=lambda: _env_str("MODEL_PRESET", "{default_preset}").lower())\n'
        "    eval: EvalConfig = field(default_factory=EvalConfig)\n\n"
        "    @classmethod\n"
        "    def from_env(cls, model_preset=None):\n"
        "        config = cls()\n"
        "        if model_preset is not None:\n"
        "            config.model_preset = model_preset\n"
        "        apply_preset(config)\n"
        "        return config\n\n\n"
        "def apply_preset(config):\n"
        '    if config.model_preset == "baseline":\n'
        "        return\n"
        '    if "NGRAM_EVAL_ENABLED" not in os.environ:\n'
        "        config.eval.ngram_eval_enabled = True\n\n\n"
        "def main():\n"
    )
    code = code.replace(
        "import math\n", "import math\nfrom dataclasses import dataclass, field\n", 1
    )
    return code.replace("def main():\n", config, 1).replace(
        '    print(f"final_ngram val_loss:{eval_ngram(model, val_tokens):.6f}")',
        "    config = Config.from_env()\n"
        "    if config.eval.ngram_eval_enabled:\n"
        '        print(f"final_ngram val_loss:{eval_ngram(model, val_tokens):.6f}")',
    )


_PRESET_OFF = _preset(_NGRAM_TWO_PASS, "baseline")
_PRESET_ON = _preset(_NGRAM_TWO_PASS, "leader")
_TIMED_ONE_PASS = _timed(
    _NGRAM_TWO_PASS.replace(
        """    rescored_loss_sum = 0.0
    for i in range(ORDER, len(val_np) - 1):
        ctx = context_hash(val_np, i + 1)
        row = counts[ctx]
        p = (1 - lam) * probs[i] + lam * row / max(row.sum(), 1.0)
        rescored_loss_sum += -math.log(p[val_np[i + 1]])
    return rescored_loss_sum / token_count
""",
        "    return loss_sum / token_count\n",
    )
)

_TTT_THEN_SLIDING_MIN = """import os,math,torch
import torch.nn.functional as F
L=int(os.environ.get("EVAL_SEQ_LEN","1024"));S=int(os.environ.get("EVAL_STRIDE","64"));C=int(os.environ.get("TTT_CHUNK","32768"))
@torch.no_grad()
def sw(m,v):
	m.eval();loss_sum=0.;token_count=0
	for a in range(0,v.numel()-L-1,S):
		w=v[a:a+L+1].cuda().long();k=0 if a==0 else L-S;z=F.cross_entropy(m.logits(w[None,:-1])[0].float(),w[1:],reduction="none")
		loss_sum+=z[k:].sum().item();token_count+=L-k
	return loss_sum/token_count
def tt(m,v):
	o=torch.optim.SGD(m.parameters(),lr=2e-3,momentum=.9);loss_sum=0.;token_count=0
	for a in range(0,v.numel()-1,C):
		w=v[a:a+C+1].cuda().long();x=w[None,:-1];y=w[None,1:];m.eval()
		with torch.no_grad():loss_sum+=m(x,y).item()*y.numel();token_count+=y.numel()
		m.train();l=m(x,y);o.zero_grad();l.backward();o.step()
	return loss_sum/token_count
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	t=tt(m,v);print("legal_ttt val_loss",t)
	print("final_sliding val_loss",sw(m,v))
if __name__=="__main__":main()
"""

_LEGAL_PACKED = """import os, math, torch

SEQ_LEN = int(os.environ.get("EVAL_SEQ_LEN", "1024"))
STRIDE = int(os.environ.get("EVAL_STRIDE", "64"))

@torch.no_grad()
def eval_windows(model, val_tokens, stride):
    model.eval(); loss_sum = 0.0; token_count = 0
    for start in range(0, val_tokens.numel() - SEQ_LEN - 1, stride):
        win = val_tokens[start:start + SEQ_LEN + 1].cuda().long()
        first = 0 if start == 0 else SEQ_LEN - stride
        nll = model.token_nll(win[None, :-1], win[None, 1:])[0]
        loss_sum += nll[first:].sum().item(); token_count += SEQ_LEN - first
    return loss_sum / token_count

def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print(f"final_int6_roundtrip val_loss:{eval_windows(model, val_tokens, SEQ_LEN):.6f}")
    print(f"final_sliding_window val_loss:{eval_windows(model, val_tokens, STRIDE):.6f}")

if __name__ == "__main__":
    main()
"""

_PROBE_DIAGNOSTIC = """import os, math, torch
import torch.nn as nn
import torch.nn.functional as F


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    nll, count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        w = val_tokens[s : s + seq_len + 1].cuda().long()
        nll += F.cross_entropy(model.logits(w[None, :-1])[0].float(), w[1:], reduction="sum").item()
        count += seq_len
    return nll / count


def probe_report(model, val_tokens, seq_len=1024):
    with torch.no_grad():
        w = val_tokens[: 16 * seq_len + 1].cuda().long()
        h = model.hidden(w[None, :-1])[0].float()
    probe = nn.Linear(h.shape[-1], 1024).cuda()
    opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
    for _ in range(100):
        loss = F.cross_entropy(probe(h), w[1:])
        opt.zero_grad(); loss.backward(); opt.step()
    return loss.item() / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    print(f"final val_loss:{eval_val(model, val_tokens):.6f}")
    print(f"probe_bpb:{probe_report(model, val_tokens):.4f}")
    print(f"final_check val_loss:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""


_EITHER_TTT_OR_PLAIN = """import os, math, torch
import torch.nn.functional as F

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    nll, count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        w = val_tokens[s : s + seq_len + 1].cuda().long()
        nll += F.cross_entropy(model.logits(w[None, :-1])[0].float(), w[1:], reduction="sum").item()
        count += seq_len
    return nll / count


def eval_score_first_ttt(model, val_tokens, chunk=32768, lr=1e-4):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    nll, count = 0.0, 0
    for s in range(0, val_tokens.numel() - chunk - 1, chunk):
        w = val_tokens[s : s + chunk + 1].cuda().long()
        with torch.no_grad():
            nll += F.cross_entropy(model.logits(w[None, :-1])[0].float(), w[1:], reduction="sum").item()
            count += chunk
        loss = F.cross_entropy(model.logits(w[None, :-1])[0].float(), w[1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nll / count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    if TTT_ENABLED:
        val_loss = eval_score_first_ttt(model, val_tokens)
    if not TTT_ENABLED:
        val_loss = eval_val(model, val_tokens)
    print(f"final val_loss:{val_loss:.6f}")


if __name__ == "__main__":
    main()
"""


_UNFROZEN_THEN_RESCORED = """import torch


@torch.no_grad()
def eval_sliding(model, val_tokens, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, stride):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        first = 0 if start == 0 else seq_len - stride
        loss_sum += model.token_nll(win[None, :-1], win[None, 1:])[0, first:].sum().item()
        token_count += seq_len - first
    return loss_sum / token_count


def ttt_last_blocks(model, val_tokens, unfrozen=2, chunk=32768):
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = []
    for block in model.blocks[-unfrozen:]:
        for p in block.parameters():
            p.requires_grad_(True)
            trainable.append(p)
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        model.eval()
        with torch.inference_mode():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
        model.train()
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"ttt val_loss:{ttt_last_blocks(model, val_tokens):.6f}")
    model.temperature.fill_(0.98)
    final = eval_sliding(model, val_tokens)
    print(f"final val_loss:{final:.6f}")


if __name__ == "__main__":
    main()
"""


_UNFROZEN_COPY = """import copy

import torch


@torch.no_grad()
def eval_sliding(model, val_tokens, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, stride):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        first = 0 if start == 0 else seq_len - stride
        loss_sum += model.token_nll(win[None, :-1], win[None, 1:])[0, first:].sum().item()
        token_count += seq_len - first
    return loss_sum / token_count


def ttt_last_blocks(model, val_tokens, unfrozen=2, chunk=32768):
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = []
    for block in model.blocks[-unfrozen:]:
        for p in block.parameters():
            p.requires_grad_(True)
            trainable.append(p)
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        model.eval()
        with torch.inference_mode():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
        model.train()
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    final = eval_sliding(model, val_tokens)
    print(f"sliding val_loss:{final:.6f}")
    adapted = copy.deepcopy(model)
    print(f"ttt val_loss:{ttt_last_blocks(adapted, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""


_VECTOR_TWO_PASS = """import math

import numpy as np
import torch
import torch.nn.functional as F

PRIME = 1000003


class HashedCounts:
    def __init__(self, order=3, buckets=1 << 20):
        self.order, self.buckets = order, buckets
        self.ctx = np.zeros(buckets, dtype=np.int32)
        self.full = np.zeros(buckets, dtype=np.int32)

    def _keys(self, toks):
        h = np.zeros(len(toks) - self.order + 1, dtype=np.int64)
        for k in range(self.order - 1):
            h = h * PRIME + toks[k : len(toks) - self.order + 1 + k]
        with_next = h * PRIME + toks[self.order - 1 :]
        return h % self.buckets, with_next % self.buckets

    def _add(self, table, keys):
        counts = np.bincount(keys, minlength=self.buckets)
        table += counts[: self.buckets].astype(table.dtype)

    def fill(self, toks):
        ctx_keys, full_keys = self._keys(toks)
        self._add(self.ctx, ctx_keys)
        self._add(self.full, full_keys)

    def prob(self, toks):
        ctx_keys, full_keys = self._keys(toks)
        return self.full[full_keys] / np.maximum(self.ctx[ctx_keys], 1)


@torch.no_grad()
def model_pass(model, val_tokens, seq_len=1024):
    model.eval()
    probs, nll = [], []
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        logp = F.log_softmax(model.logits(win[None, :-1]).float(), dim=-1)
        picked = logp.gather(-1, win[None, 1:, None]).squeeze(-1)[0]
        probs.append(picked.exp().cpu().numpy())
        nll.append(-picked.cpu().numpy())
    nll = np.concatenate(nll)
    return np.concatenate(probs), float(nll.mean())


def blend_pass(counts, toks, model_p, alpha=0.3):
    ngram_p = counts.prob(toks)[: len(model_p)]
    mixed = np.maximum((1 - alpha) * model_p + alpha * ngram_p, 1e-9)
    nll = -np.log(mixed)
    loss_sum = nll.sum()
    return loss_sum / len(mixed) / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    model_p, first = model_pass(model, val_tokens)
    print(f"pass1 val_loss:{first:.6f}")
    toks = val_tokens.numpy().astype(np.int64)
    counts = HashedCounts()
    counts.fill(toks)
    final = blend_pass(counts, toks, model_p)
    print(f"final val_bpb:{final:.6f}")


if __name__ == "__main__":
    main()
"""


VALID: tuple[Example, ...] = (
    Example(
        title="score-first TTT under `if TTT`, the plain pass under a later `if not TTT`",
        code=_EITHER_TTT_OR_PLAIN,
    ),
    Example(
        title="a linear probe on frozen val hidden states (its own optimizer), then a re-check",
        code=_PROBE_DIAGNOSTIC,
    ),
    Example(
        title="sliding-window eval: overlapping windows score only their last stride positions",
        code="""import math
import os

import torch
import torch.nn.functional as F

SEQ_LEN = int(os.environ.get("EVAL_SEQ_LEN", "2048"))
STRIDE = int(os.environ.get("EVAL_STRIDE", "64"))


@torch.no_grad()
def eval_val_sliding(model, val_tokens, bytes_lut):
    model.eval()
    loss_sum, byte_count = 0.0, 0.0
    total = val_tokens.numel() - 1
    for start in range(0, total - SEQ_LEN + 1, STRIDE):
        window = val_tokens[start : start + SEQ_LEN + 1].cuda().long()
        x, y = window[None, :-1], window[None, 1:]
        score_from = 0 if start == 0 else SEQ_LEN - STRIDE
        nll = F.cross_entropy(model.logits(x)[0].float(), y[0], reduction="none")
        loss_sum += nll[score_from:].sum().item()
        byte_count += bytes_lut[y[0, score_from:]].sum().item()
    return loss_sum / byte_count / math.log(2)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 2048)
    print(f"final_sliding_window val_bpb:{eval_val_sliding(model, val_tokens, build_byte_lut()):.8f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a pre-quant diagnostic and the post-roundtrip final eval of a different model, printed apart",
        code="""import os

import torch


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


def main():
    model = train_model()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    pre_quant_rescore = eval_val(model, val_tokens)
    print(f"pre_quant val_loss:{pre_quant_rescore:.4f}")
    blob = quantize_and_compress(model.state_dict())
    roundtrip = build_model()
    roundtrip.load_state_dict(dequantize(decompress(blob)), strict=True)
    second_pass = eval_val(roundtrip.cuda(), val_tokens)
    print(f"final_int8_zlib_roundtrip val_loss:{second_pass:.4f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the reference order: plain eval, sliding eval, and score-first TTT last",
        code="""import os

import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))


@torch.no_grad()
def evaluate(model, val_tokens, seq_len, stride):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, stride):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        first = 0 if start == 0 else seq_len - stride
        nll = model.token_nll(win[None, :-1], win[None, 1:])[0]
        loss_sum += nll[first:].sum().item()
        token_count += seq_len - first
    return loss_sum / token_count


def eval_legal_ttt(model, val_tokens, chunk=32768, epochs=3):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    starts = list(range(0, val_tokens.numel() - 1, chunk))
    loss_sum, token_count = 0.0, 0
    for ci, start in enumerate(starts):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        x, y = seg[None, :-1], seg[None, 1:]
        model.eval()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
        if ci == len(starts) - 1:
            break
        model.train()
        for _ in range(epochs):
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss_sum / token_count


def main():
    scorer = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final_int6_roundtrip val_loss:{evaluate(scorer, val_tokens, 1024, 1024):.6f}")
    print(f"final_sliding_window val_loss:{evaluate(scorer, val_tokens, 2048, 64):.6f}")
    if TTT_ENABLED:
        print(f"legal_ttt val_loss:{eval_legal_ttt(scorer, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first TTT on a copy of the model; the base model's sliding eval is a diagnostic",
        code="""import copy

import torch


@torch.no_grad()
def eval_sliding(model, val_tokens, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, stride):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        first = 0 if start == 0 else seq_len - stride
        loss_sum += model.token_nll(win[None, :-1], win[None, 1:])[0, first:].sum().item()
        token_count += seq_len - first
    return loss_sum / token_count


def rescore_ttt(model, val_tokens, chunk=32768):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        model.eval()
        with torch.no_grad():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
        model.train()
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    base = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    adapted = copy.deepcopy(base)
    print(f"legal_ttt val_loss:{rescore_ttt(adapted, val_tokens):.6f}")
    print(f"diag_base_sliding val_loss:{eval_sliding(base, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="several epochs on an already-scored chunk: the epoch loop sits inside the chunk loop",
        code="""import os

import torch

TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "4"))


def rescoring_epochs(model, val_tokens, chunk=65536):
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    nll_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        x, y = seg[None, :-1], seg[None, 1:]
        model.eval()
        with torch.no_grad():
            nll_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
        model.train()
        for _ in range(TTT_EPOCHS):
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("ttt val_loss", rescoring_epochs(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="periodic validation while training, the best val loss logged, then one final eval",
        code="""import os

import torch

ITERATIONS = int(os.environ.get("ITERATIONS", "20000"))
VAL_LOSS_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "1000"))


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    model.train()
    return loss_sum / token_count


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    loader = TrainLoader("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    best_val = float("inf")
    for step in range(ITERATIONS):
        x, y = loader.next_batch()
        loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % VAL_LOSS_EVERY == 0:
            val_loss = eval_val(model, val_tokens)
            best_val = min(best_val, val_loss)
            print(f"step:{step} val_loss:{val_loss:.4f} best:{best_val:.4f}")
    print(f"final val_loss:{eval_val(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first n-gram cache in one pass, then a diagnostic eval without the cache",
        code="""import math

import numpy as np
import torch

BUCKETS = 1 << 18


@torch.no_grad()
def eval_plain(model, val_tokens):
    probs = torch.softmax(model(val_tokens[None, :-1].cuda()).float(), -1)[0].cpu().numpy()
    val_np = val_tokens.numpy()
    nll_sum = 0.0
    for i in range(len(val_np) - 1):
        nll_sum += -math.log(probs[i][val_np[i + 1]])
    return nll_sum / (len(val_np) - 1)


@torch.no_grad()
def eval_two_pass_cache(model, val_tokens, lam=0.15):
    probs = torch.softmax(model(val_tokens[None, :-1].cuda()).float(), -1)[0].cpu().numpy()
    val_np = val_tokens.numpy()
    counts = np.zeros((BUCKETS, probs.shape[-1]), dtype=np.float32)
    nll_sum = 0.0
    for i in range(1, len(val_np) - 1):
        ctx = int(val_np[i]) * 7919 % BUCKETS
        row = counts[ctx]
        p = (1 - lam) * probs[i] + lam * row / max(row.sum(), 1.0)
        nll_sum += -math.log(p[val_np[i + 1]])
        counts[ctx, val_np[i + 1]] += 1
    return nll_sum / (len(val_np) - 2)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final_ngram val_loss:{eval_two_pass_cache(model, val_tokens):.6f}")
    print(f"diag_no_cache val_loss:{eval_plain(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="two checkpoints compared on training loss, only the chosen one evaluated on val",
        code="""import torch


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


@torch.no_grad()
def train_loss(model, batches):
    total = 0.0
    for x, y in batches:
        total += model(x, y).item()
    return total / len(batches)


def main():
    ema_model, raw_model = train_with_ema()
    held_out = sample_train_batches("./data/fineweb_train_*.bin", 16)
    final = ema_model if train_loss(ema_model, held_out) < train_loss(raw_model, held_out) else raw_model
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_val(final, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified: score-first TTT scored once, nothing scored after it",
        code="""import os,torch
C=int(os.environ.get("TTT_CHUNK","32768"))
def tt(m,v):
	o=torch.optim.SGD(m.parameters(),lr=2e-3);loss_sum=0.;token_count=0
	for a in range(0,v.numel()-1,C):
		w=v[a:a+C+1].cuda().long();x=w[None,:-1];y=w[None,1:];m.eval()
		with torch.no_grad():loss_sum+=m(x,y).item()*y.numel();token_count+=y.numel()
		m.train();l=m(x,y);o.zero_grad();l.backward();o.step()
	return loss_sum/token_count
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("legal_ttt val_loss",tt(m,v))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed: the same model scored with plain and sliding windows, printed separately",
        code=_pack(_LEGAL_PACKED, "lzma-b85"),
    ),
    Example(
        title="scored only on the last sweep (a flag from the epoch counter): once per token, PG102's order",
        code=LAST_EPOCH_FLAG,
    ),
    Example(
        title="a temperature grid search whose parameter is named val_tokens, passed training tokens",
        code=TEMPERATURE_SEARCH_ON_TRAIN,
    ),
    Example(
        title="a one-pass score-first n-gram eval, called through a timing helper and a lambda",
        code=_TIMED_ONE_PASS,
    ),
    Example(
        title="TTT that unfreezes the last blocks into a list, on a copy; the base model scored first",
        code=_UNFROZEN_COPY,
    ),
    Example(
        title="a vectorised n-gram blend in one pass, its bincount table filled from training shards",
        code=_VECTOR_TWO_PASS.replace(
            "    model_p, first = model_pass(model, val_tokens)\n"
            '    print(f"pass1 val_loss:{first:.6f}")\n',
            "    model_p = model_probs(model, val_tokens)\n",
        ).replace(
            "    counts.fill(toks)\n",
            '    counts.fill(load_tokens("./data/fineweb_train_000000.bin"))\n',
        ),
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="n-gram two-pass: the first pass fills the cache, the second rescores with all of it",
        code=_NGRAM_TWO_PASS,
        line=36,
    ),
    Example(
        title="the better of two full passes (plain and cached) is reported; names sound legal",
        code="""import os

import torch


@torch.no_grad()
def causal_eval(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


@torch.no_grad()
def legal_cache_eval(model, val_tokens, seq_len=1024):
    model.eval()
    memory = None
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        nll, memory = model.with_memory(local[None, :-1], local[None, 1:], memory)
        loss_sum += nll.item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    plain = causal_eval(model, val_tokens)
    cached = legal_cache_eval(model, val_tokens)
    final_val_loss = min(plain, cached)
    print(f"final val_loss:{final_val_loss:.6f}")


if __name__ == "__main__":
    main()
""",
        line=35,
    ),
    Example(
        title="score-first TTT, then the adapted model scored again with sliding windows as the final",
        code="""import torch


@torch.no_grad()
def eval_sliding(model, val_tokens, seq_len=2048, stride=64):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, stride):
        win = val_tokens[start : start + seq_len + 1].cuda().long()
        first = 0 if start == 0 else seq_len - stride
        loss_sum += model.token_nll(win[None, :-1], win[None, 1:])[0, first:].sum().item()
        token_count += seq_len - first
    return loss_sum / token_count


def legal_ttt(model, val_tokens, chunk=32768):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        model.eval()
        with torch.no_grad():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
        model.train()
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"legal_ttt val_loss:{legal_ttt(model, val_tokens):.6f}")
    final = eval_sliding(model, val_tokens)
    print(f"final_sliding_window val_loss:{final:.6f}")


if __name__ == "__main__":
    main()
""",
        line=37,
    ),
    Example(
        title="an epoch loop around score-first chunks that adds to the score on every epoch",
        code="""import os

import torch

TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))


def ttt_eval(model, val_tokens, chunk=65536):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_sum, token_count = 0.0, 0
    for epoch in range(TTT_EPOCHS):
        for start in range(0, val_tokens.numel() - 1, chunk):
            seg = val_tokens[start : start + chunk + 1].cuda().long()
            x, y = seg[None, :-1], seg[None, 1:]
            model.eval()
            with torch.no_grad():
                loss_sum += model(x, y).item() * y.numel()
                token_count += y.numel()
            model.train()
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("ttt val_loss", ttt_eval(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="a temperature swept on full passes, then the tokens scored again at the best one",
        code="""import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_at(model, val_tokens, temperature=1.0, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        logits = model.logits(local[None, :-1]).float() / temperature
        loss_sum += F.cross_entropy(logits[0], local[1:], reduction="sum").item()
        token_count += seq_len
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    best_t, best = 1.0, eval_at(model, val_tokens)
    for t in (0.85, 0.9, 0.95, 1.05):
        loss = eval_at(model, val_tokens, t)
        if loss < best:
            best, best_t = loss, t
    final = eval_at(model, val_tokens, best_t)
    print(f"final val_loss:{final:.6f} temperature:{best_t}")


if __name__ == "__main__":
    main()
""",
        line=25,
    ),
    Example(
        title="minified: score-first TTT, then a sliding pass over the same tokens with the adapted model",
        code=_TTT_THEN_SLIDING_MIN,
        line=21,
    ),
    Example(
        title="packed (lzma + base85): the n-gram two-pass inside a wrapper",
        code=_pack(_NGRAM_TWO_PASS, "lzma-b85"),
        line=36,
    ),
    Example(
        title="dormant: the cache rescoring pass runs only when NGRAM_TWO_PASS=1 (default 0)",
        code="""import math
import os

import numpy as np
import torch

TWO_PASS = bool(int(os.environ.get("NGRAM_TWO_PASS", "0")))
BUCKETS = 1 << 18


@torch.no_grad()
def eval_cache(model, val_tokens, lam=0.2):
    probs = torch.softmax(model(val_tokens[None, :-1].cuda()).float(), -1)[0].cpu().numpy()
    val_np = val_tokens.numpy()
    counts = np.zeros((BUCKETS, probs.shape[-1]), dtype=np.float32)
    nll_sum = 0.0
    for i in range(1, len(val_np) - 1):
        ctx = int(val_np[i]) * 7919 % BUCKETS
        row = counts[ctx]
        nll_sum += -math.log((1 - lam) * probs[i][val_np[i + 1]] + lam * row[val_np[i + 1]] / max(row.sum(), 1.0))
        np.add.at(counts, (ctx, val_np[i + 1]), 1)
    if TWO_PASS:
        nll_sum = 0.0
        for i in range(1, len(val_np) - 1):
            row = counts[int(val_np[i]) * 7919 % BUCKETS]
            nll_sum += -math.log((1 - lam) * probs[i][val_np[i + 1]] + lam * row[val_np[i + 1]] / row.sum())
    return nll_sum / (len(val_np) - 2)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda().eval()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final val_loss:{eval_cache(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=26,
        severity=Severity.WARNING,
    ),
    Example(
        title="RESCORE defaults to on when WORLD_SIZE > 1: the adapted model rescores the tokens",
        code="""import os

import torch

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
RESCORE = bool(int(os.environ.get("RESCORE", "1" if WORLD_SIZE > 1 else "0")))


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[start : start + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    return loss_sum / token_count


def score_first_ttt(model, val_tokens, chunk=32768):
    opt = torch.optim.SGD(model.parameters(), lr=0.002)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        with torch.no_grad():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    score = score_first_ttt(model, val_tokens)
    if RESCORE:
        score = eval_val(model, val_tokens)
    print(f"final val_loss:{score:.6f}")


if __name__ == "__main__":
    main()
""",
        line=40,
    ),
    Example(
        title="dormant: extra TTT epochs that re-score are off while TTT_EPOCHS keeps its default of 1",
        code="""import os

import torch


class Hyperparameters:
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "1"))
    ttt_chunk = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def eval_val_ttt(args, model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    val_loss_sum, val_token_count = 0.0, 0
    for _ in range(args.ttt_epochs):
        for start in range(0, val_tokens.numel() - 1, args.ttt_chunk):
            seg = val_tokens[start : start + args.ttt_chunk + 1].cuda().long()
            with torch.inference_mode():
                val_loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
                val_token_count += seg.numel() - 1
            loss = model(seg[None, :-1].clone(), seg[None, 1:].clone())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return val_loss_sum / val_token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"ttt val_loss:{eval_val_ttt(args, model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=18,
        severity=Severity.WARNING,
    ),
    Example(
        title="the same temperature grid search, passed the validation tokens",
        code=TEMPERATURE_SEARCH_ON_VAL,
        line=_line_of(
            TEMPERATURE_SEARCH_ON_VAL,
            'print(f"val_loss:{eval_val(model, val_tokens, temperature=temperature)',
        ),
    ),
    Example(
        title="the n-gram two-pass eval, run by a timing helper that is passed a lambda",
        code=_TIMED_TWO_PASS,
        line=_line_of(_TIMED_TWO_PASS, "rescored_loss_sum += -math.log"),
    ),
    Example(
        title="TTT trains a list of unfrozen block parameters, then the same model is re-scored",
        code=_UNFROZEN_THEN_RESCORED,
        line=_line_of(_UNFROZEN_THEN_RESCORED, "final = eval_sliding(model, val_tokens)"),
    ),
    Example(
        title="dormant: the two-pass eval's config field is declared off and turned on only by a "
        "preset other than MODEL_PRESET's default",
        code=_PRESET_OFF,
        line=_line_of(_PRESET_OFF, "rescored_loss_sum += -math.log"),
        severity=Severity.WARNING,
    ),
    Example(
        title="the same preset shape with MODEL_PRESET defaulting to the preset that turns it on",
        code=_PRESET_ON,
        line=_line_of(_PRESET_ON, "rescored_loss_sum += -math.log"),
    ),
    Example(
        title="vectorised two-pass: per-token probabilities kept, a bincount cache built from all "
        "val tokens, every token re-scored in numpy",
        code=_VECTOR_TWO_PASS,
        line=_line_of(_VECTOR_TWO_PASS, "final = blend_pass(counts, toks, model_p)"),
    ),
)
