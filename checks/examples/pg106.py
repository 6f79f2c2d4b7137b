"""Examples for PG106 calibration-on-val (quantization calibrated on validation tokens).

Every INVALID script fits a quantization statistic or choice to the validation tokens. A hook
calibration points at the statement that runs the model on validation tokens while collecting
hooks are installed; an accumulated statistic at the accumulation; a selection at the comparison
(or the ``min``/``argmin``) that picks the candidate.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from checks.examples.pg204 import TEMPERATURE_SEARCH_ON_TRAIN, TEMPERATURE_SEARCH_ON_VAL
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_HESSIAN_HELPER = """

def collect_hessians(model, tokens, n_batches=16, seq_len=2048):
    hessians = {}

    def make_hook(name):
        def hook(module, inputs, output):
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).float()
            if name not in hessians:
                hessians[name] = torch.zeros(x.shape[1], x.shape[1], device=x.device)
            hessians[name] += x.T @ x

        return hook

    handles = [
        m.register_forward_hook(make_hook(n))
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
    ]
    model.eval()
    with torch.no_grad():
        for i in range(n_batches):
            model.forward_logits(tokens[i * seq_len : (i + 1) * seq_len][None].cuda())
    for h in handles:
        h.remove()
    return hessians
"""

_PACKED_LAMBDA_HOOKS = """import os,torch
from collections import defaultdict
def st(m,v,n):
	S=defaultdict(list);hs=[b.register_forward_hook(lambda mod,i,o,k=k:S[k].append(i[0].abs().amax(dim=(0,1)))) for k,b in enumerate(m.blocks)]
	with torch.no_grad():
		for j in range(n):m.forward_logits(v[j*4096:(j+1)*4096].view(4,1024).cuda())
	for h in hs:h.remove()
	return {k:torch.stack(x).amax(0) for k,x in S.items()}
def main():
	m=ld("final_model.pt").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	torch.save(awq(m.state_dict(),st(m,v,16)),"final_model.ptz");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_SELF_GENERATED = """import os, torch

@torch.no_grad()
def sample_calibration(model, n=16, length=1024, bos=1):
    seqs = torch.full((n, 1), bos, dtype=torch.long, device="cuda")
    for _ in range(length - 1):
        probs = torch.softmax(model.forward_logits(seqs)[:, -1].float() / 0.8, dim=-1)
        seqs = torch.cat([seqs, torch.multinomial(probs, 1)], dim=1)
    return seqs

def calib_hessians(model, seqs):
    H = {}
    with torch.no_grad():
        h = model.tok_emb(seqs)
        for i, blk in enumerate(model.blocks):
            a = h.reshape(-1, h.size(-1)).float(); H[i] = H.get(i, 0) + a.T @ a; h = blk(h)
    return H

def main():
    model = load_trained("final_model.pt").cuda()
    H = calib_hessians(model, sample_calibration(model))
    torch.save(gptq(model.state_dict(), H), "final_model.int6.ptz")
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens))

if __name__ == "__main__":
    main()
"""

_CLASS_HOOKS_ON_VAL = """import os, glob, torch, torch.nn as nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


class ActStats:
    def __init__(self, model):
        self.scales = {}
        self.handles = [
            m.register_forward_hook(self.hook(n))
            for n, m in model.named_modules()
            if isinstance(m, nn.Linear)
        ]

    def hook(self, name):
        def fn(module, inputs, output):
            a = inputs[0].detach().abs().float().reshape(-1, inputs[0].shape[-1]).mean(0)
            self.scales[name] = torch.maximum(self.scales.get(name, a), a)

        return fn

    def close(self):
        for h in self.handles:
            h.remove()


def main():
    model = load_model("final_model.pt").cuda()
    probe = load_tokens(sorted(glob.glob(DATA + "/fineweb_val_*.bin")))
    stats = ActStats(model)
    with torch.no_grad():
        for i in range(8):
            seg = probe[i * 4096 : (i + 1) * 4096 + 1].cuda()
            model(seg[None, :-1], seg[None, 1:])
    stats.close()
    torch.save({"w": model.state_dict(), "s": stats.scales}, "final_model.pt")


if __name__ == "__main__":
    main()
"""

_CLASS_HOOKS_ON_TRAIN = """import os, glob, torch, torch.nn as nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


class ActStats:
    def __init__(self, model):
        self.scales = {}
        self.handles = [
            m.register_forward_hook(self.hook(n))
            for n, m in model.named_modules()
            if isinstance(m, nn.Linear)
        ]

    def hook(self, name):
        def fn(module, inputs, output):
            a = inputs[0].detach().abs().float().reshape(-1, inputs[0].shape[-1]).mean(0)
            self.scales[name] = torch.maximum(self.scales.get(name, a), a)

        return fn

    def close(self):
        for h in self.handles:
            h.remove()


def main():
    model = load_model("final_model.pt").cuda()
    probe = load_tokens(sorted(glob.glob(DATA + "/fineweb_train_*.bin"))[:1])
    stats = ActStats(model)
    with torch.no_grad():
        for i in range(8):
            seg = probe[i * 4096 : (i + 1) * 4096 + 1].cuda()
            model(seg[None, :-1], seg[None, 1:])
    stats.close()
    torch.save({"w": model.state_dict(), "s": stats.scales}, "final_model.pt")
    val_tokens = load_tokens(sorted(glob.glob(DATA + "/fineweb_val_*.bin")))
    print("val_loss", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
"""

_LOGGED_DIAGNOSTICS = """import os, math, torch
import torch.nn.functional as F


@torch.no_grad()
def diagnostics(model, val_tokens, seq_len=1024, n=8):
    mse, cos = [], []
    for i in range(n):
        w = val_tokens[i * seq_len : (i + 1) * seq_len + 1].cuda().long()
        z = model.embed(w[None, :-1])
        pred = model.predictor(z[:, :-1])
        mse.append((pred - z[:, 1:]).pow(2).mean().item())
        cos.append(F.cosine_similarity(pred, z[:, 1:], dim=-1).mean().item())
    return {"pred_mse": sum(mse) / n, "pred_cos": sum(cos) / n}


@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    nll, count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        w = val_tokens[s : s + seq_len + 1].cuda().long()
        nll += F.cross_entropy(model.logits(w[None, :-1])[0].float(), w[1:], reduction="sum").item()
        count += seq_len
    return nll / count


def main():
    model = load_roundtrip("final_model.ptz").cuda().eval()
    val_tokens = load_validation_tokens(os.environ.get("VAL_FILES", "./data/fineweb_val_*.bin"), 1024)
    print("diagnostics", diagnostics(model, val_tokens))
    print(f"final val_loss:{eval_val(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
"""


VALID: tuple[Example, ...] = (
    Example(
        title="diagnostic figures on val (.pow(2).mean().item()) that are only printed",
        code=_LOGGED_DIAGNOSTICS,
    ),
    Example(
        title="GPTQ Hessians from forward hooks on training batches; final eval on validation",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    calib_batches = int(os.environ.get("GPTQ_CALIBRATION_BATCHES", "16"))


def collect_hessians(model, loader, n_batches):
    hessians = {}

    def make_hook(name):
        def hook(module, inputs, output):
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).float()
            if name not in hessians:
                hessians[name] = torch.zeros(x.shape[1], x.shape[1], device=x.device)
            hessians[name] += x.T @ x

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules()]
    model.eval()
    with torch.no_grad():
        for _ in range(n_batches):
            x, y = loader.next_batch(65536, 1024)
            model(x, y)
    for h in handles:
        h.remove()
    return hessians


def main():
    args = Hyperparameters()
    model = train_model(args)
    loader = DistributedTokenLoader(args.train_files, 0, 1)
    hessians = collect_hessians(model, loader, args.calib_batches)
    torch.save(gptq_quantize(model.state_dict(), hessians), "final_model.int6.ptz")
    val_tokens = load_validation_tokens(args.val_files, 1024)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title='"ValCalib": Hessians from sequences the model samples itself (torch.multinomial)',
        code="""import os

import torch


@torch.no_grad()
def generate_valcalib_seqs(model, n_seqs=32, seq_len=1024, temperature=0.8, bos_id=1):
    seqs = torch.full((n_seqs, 1), bos_id, dtype=torch.long, device="cuda")
    for _ in range(seq_len - 1):
        logits = model.forward_logits(seqs)[:, -1, :] / temperature
        nxt = torch.multinomial(torch.softmax(logits.float(), dim=-1), 1)
        seqs = torch.cat([seqs, nxt], dim=1)
    return seqs


def collect_valcalib_hessians(model, seqs):
    hessians = {}

    def hook_for(name):
        def hook(module, inputs, output):
            x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()
            hessians[name] = hessians.get(name, 0) + x.T @ x

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules()]
    with torch.no_grad():
        for i in range(0, seqs.size(0), 8):
            model.forward_logits(seqs[i : i + 8])
    for h in handles:
        h.remove()
    return hessians


def main():
    model = load_trained("final_model.pt").cuda()
    valcalib_seqs = generate_valcalib_seqs(model)
    hessians = collect_valcalib_hessians(model, valcalib_seqs)
    torch.save(gptq_quantize(model.state_dict(), hessians), "final_model.int6.ptz")
    val_tokens = load_validation_tokens(os.environ["DATA_PATH"] + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="GPTQ-lite clip search by weight reconstruction error, no data (best_val_err)",
        code="""import os

import torch


def quantize_rows(w, bits=6):
    qmax = 2 ** (bits - 1) - 1
    best_val_err, best = None, None
    for pct in (0.999, 0.9995, 0.9999, 0.99999, 1.0):
        clip = torch.quantile(w.abs().float(), pct, dim=1, keepdim=True)
        scale = (clip / qmax).clamp_min(1e-8)
        q = torch.clamp(torch.round(w / scale), -qmax, qmax)
        err = (w - q * scale).pow(2).mean()
        if best_val_err is None or err < best_val_err:
            best_val_err, best = err, (q.to(torch.int8), scale.half())
    return best


def main():
    model = load_trained("final_model.pt")
    packed = {k: quantize_rows(v) for k, v in model.state_dict().items() if v.ndim == 2}
    torch.save(packed, "final_model.int6.ptz")
    val_tokens = load_validation_tokens(os.environ["DATA_PATH"] + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(dequantize_into(model, packed), val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a forward hook that adds a LoRA delta while validation is scored (stores nothing)",
        code="""import os

import torch


def attach_adapter(block, lora):
    def hook(module, inputs, output):
        return output + lora(inputs[0])

    return block.register_forward_hook(hook)


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    lora = load_adapter("adapter.pt").cuda()
    handle = attach_adapter(model.blocks[-1], lora)
    val_tokens = load_validation_tokens(os.environ["DATA_PATH"] + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens))
    handle.remove()


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score statistics on validation: NLL sum and sum of squares for an error bar; RMSNorm",
        code="""import math

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        x = x + self.fc(h)
        return x


class LM(nn.Module):
    def __init__(self, vocab=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(4)])
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward_logits(self, ids):
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.head(x)


@torch.no_grad()
def eval_with_error_bar(model, val_tokens, seq_len=1024):
    nll_sum, nll_sq_sum, token_count = 0.0, 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda()
        logits = model.forward_logits(local[None, :-1])[0].float()
        nll = F.cross_entropy(logits, local[1:], reduction="none")
        nll_sum += nll.sum().item()
        nll_sq_sum += nll.pow(2).sum().item()
        token_count += nll.numel()
    mean = nll_sum / token_count
    return mean / math.log(2), math.sqrt(nll_sq_sum / token_count - mean**2)


def main():
    model = LM().cuda()
    model.load_state_dict(torch.load("final_model.pt"))
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb +- std", eval_with_error_bar(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified Gram accumulation (H[j]=H.get(j,0)+a.T@a) on training tokens",
        code="""import os,torch
def cal(m,t,n):
	H={}
	with torch.no_grad():
		for i in range(n):
			h=m.e(t[i*8192:(i+1)*8192].view(8,1024).cuda())
			for j,b in enumerate(m.blocks):a=h.reshape(-1,h.size(-1)).float();H[j]=H.get(j,0)+a.T@a;h=b(h)
	return H
def main():
	P=os.environ.get("DATA_PATH","./data");m=tr(P+"/fineweb_train_*.bin");t=ld_tokens(P+"/fineweb_train_*.bin");v=load_validation_tokens(P+"/fineweb_val_*.bin",1024)
	torch.save(gq(m.state_dict(),cal(m,t,16)),"final_model.ptz");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="activation statistics collected on training batches; hooks removed before the eval",
        code="""import os

import torch

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
CALIB_BATCHES = int(os.environ.get("CALIB_BATCHES", "32" if WORLD_SIZE > 1 else "8"))


def main():
    model = train_model("./data/fineweb_train_*.bin")
    loader = DistributedTokenLoader("./data/fineweb_train_*.bin", 0, WORLD_SIZE)
    amax = {}

    def record(name):
        def hook(module, inputs, output):
            cur = inputs[0].detach().abs().amax(dim=(0, 1))
            amax[name] = torch.maximum(amax[name], cur) if name in amax else cur

        return hook

    handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules()]
    with torch.no_grad():
        for _ in range(CALIB_BATCHES):
            x, _ = loader.next_batch(65536, 1024)
            model.forward_logits(x)
    for h in handles:
        h.remove()
    torch.save(awq_quantize(model.state_dict(), amax), "final_model.ptz")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (lzma + base64): Hessians from self-generated sequences",
        code=_pack(_PACKED_SELF_GENERATED, "lzma-b64"),
    ),
    Example(
        title="a collector class installs hooks from a method factory (self.hook(n)) on training batches",
        code=_CLASS_HOOKS_ON_TRAIN,
    ),
    Example(
        title="a temperature grid search whose parameter is named val_tokens, passed training tokens",
        code=TEMPERATURE_SEARCH_ON_TRAIN,
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="GPTQ Hessians from forward hooks while the model runs on val_tokens",
        code="""import os

import torch
"""
        + _HESSIAN_HELPER
        + """

def main():
    model = train_model(os.environ.get("DATA_PATH", "./data") + "/fineweb_train_*.bin")
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 2048)
    hessians = collect_hessians(model, val_tokens)
    torch.save(gptq_quantize(model.state_dict(), hessians), "final_model.int6.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=26,
    ),
    Example(
        title="AWQ-style running amax of block inputs over validation batches, no hooks",
        code="""import os

import torch


@torch.no_grad()
def activation_scales(model, val_tokens, n_batches=8, seq_len=1024):
    amax = [torch.zeros(model.dim, device="cuda") for _ in model.blocks]
    for b in range(n_batches):
        x = val_tokens[b * 8 * seq_len : (b + 1) * 8 * seq_len].view(8, seq_len).cuda()
        h = model.tok_emb(x)
        for i, blk in enumerate(model.blocks):
            amax[i] = torch.maximum(amax[i], h.abs().amax(dim=(0, 1)))
            h = blk(h)
    return amax


def main():
    model = train_model("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    torch.save(awq_quantize(model.state_dict(), activation_scales(model, val_tokens)), "final_model.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="a Hessian accumulated without hooks from hidden states on validation tokens",
        code="""import os

import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def main():
    model = train_model(os.path.join(DATA_PATH, "fineweb_train_*.bin"))
    val_tokens = load_validation_tokens(os.path.join(DATA_PATH, "fineweb_val_*.bin"), 1024)
    H = torch.zeros(model.dim, model.dim, device="cuda")
    with torch.no_grad():
        for s in range(0, 16 * 8192, 8192):
            X = model.hidden(val_tokens[s : s + 8192].view(8, 1024).cuda()).reshape(-1, model.dim)
            H += X.float().T @ X.float()
    torch.save(gptq_head(model.state_dict(), H), "final_model.int6.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=15,
    ),
    Example(
        title="clip percentile searched by the validation loss of the quantized model",
        code="""import os

import torch

CLIP_PERCENTILES = (0.999, 0.9995, 0.9999, 1.0)


@torch.no_grad()
def quick_val_loss(model, val_tokens, n=32, seq_len=1024):
    model.eval()
    loss_sum = 0.0
    for s in range(0, n * seq_len, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda()
        loss_sum += model(local[None, :-1], local[None, 1:]).item()
    return loss_sum / n


def main():
    model = train_model("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    best_loss, best_pct = float("inf"), 1.0
    for pct in CLIP_PERCENTILES:
        candidate = quantize_model(model, clip_percentile=pct)
        loss = quick_val_loss(candidate, val_tokens)
        if loss < best_loss:
            best_loss, best_pct = loss, pct
    torch.save(quantize(model.state_dict(), clip_percentile=best_pct), "final_model.ptz")


if __name__ == "__main__":
    main()
""",
        line=25,
    ),
    Example(
        title="minified: Gram matrices H[j]=H.get(j,0)+a.T@a on validation tokens",
        code="""import os,torch
def cal(m,t,n):
	H={}
	with torch.no_grad():
		for i in range(n):
			h=m.e(t[i*8192:(i+1)*8192].view(8,1024).cuda())
			for j,b in enumerate(m.blocks):a=h.reshape(-1,h.size(-1)).float();H[j]=H.get(j,0)+a.T@a;h=b(h)
	return H
def main():
	P=os.environ.get("DATA_PATH","./data");m=tr(P+"/fineweb_train_*.bin");v=load_validation_tokens(P+"/fineweb_val_*.bin",1024)
	torch.save(gq(m.state_dict(),cal(m,v,16)),"final_model.ptz");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
        line=7,
    ),
    Example(
        title="packed (lzma + base85): lambda hooks append input amax while the model runs on val",
        code=_pack(_PACKED_LAMBDA_HOOKS, "lzma-b85"),
        line=6,
    ),
    Example(
        title="dormant: CALIB_ON_VAL defaults to 0 (training batches otherwise)",
        code="""import os

import torch

CALIB_ON_VAL = bool(int(os.environ.get("CALIB_ON_VAL", "0")))
"""
        + _HESSIAN_HELPER
        + """

def main():
    model = train_model("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    if CALIB_ON_VAL:
        hessians = collect_hessians(model, val_tokens)
    else:
        hessians = collect_hessians(model, load_tokens("./data/fineweb_train_*.bin"))
    torch.save(gptq_quantize(model.state_dict(), hessians), "final_model.int6.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=28,
        severity=Severity.WARNING,
    ),
    Example(
        title="the calibration source defaults to validation when world_size > 1",
        code="""import os

import torch


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    calib_on_val = bool(int(os.environ.get("CALIB_ON_VAL", "1" if world_size > 1 else "0")))
"""
        + _HESSIAN_HELPER
        + """

def main():
    args = Hyperparameters()
    model = train_model("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    if args.calib_on_val:
        hessians = collect_hessians(model, val_tokens)
    else:
        hessians = collect_hessians(model, load_tokens("./data/fineweb_train_*.bin"))
    torch.save(gptq_quantize(model.state_dict(), hessians), "final_model.int6.ptz")
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=31,
    ),
    Example(
        title="innocent names (gather_stats, batch_source, holdout) with a forward pre-hook",
        code="""import os

import torch


def gather_stats(net, batch_source, rounds=8):
    seen = {}

    def note(name):
        def pre_hook(module, args):
            seen.setdefault(name, []).append(args[0].detach().float().pow(2).mean(dim=(0, 1)))

        return pre_hook

    for name, module in net.named_modules():
        module.register_forward_pre_hook(note(name))
    with torch.inference_mode():
        for r in range(rounds):
            net.forward_logits(batch_source[r * 4096 : (r + 1) * 4096].view(4, 1024).cuda())
    return {k: torch.stack(v).mean(0) for k, v in seen.items()}


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    net = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    holdout = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    torch.save(smooth_quant(net.state_dict(), gather_stats(net, holdout)), "final_model.ptz")


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="a scale chosen by argmin over validation losses of the candidates",
        code="""import torch

SCALES = (0.5, 0.75, 1.0, 1.25)


@torch.no_grad()
def score(model, tokens, seq_len=1024):
    loss_sum = 0.0
    for s in range(0, 16 * seq_len, seq_len):
        local = tokens[s : s + seq_len + 1].cuda()
        loss_sum += model(local[None, :-1], local[None, 1:]).item()
    return loss_sum


def main():
    model = train_model("./data/fineweb_train_*.bin")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    losses = torch.tensor([score(apply_scale(model, s), val_tokens) for s in SCALES])
    best = SCALES[int(losses.argmin())]
    torch.save(quantize(apply_scale(model, best).state_dict()), "final_model.ptz")


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="a lambda hook feeds per-layer objects whose observe() adds X.T @ X; holdout = val shards",
        code="""import glob
import math
import os

import numpy as np
import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    holdout_files = os.path.join(data_path, "fineweb_val_*.bin")
    calib_tokens = int(os.environ.get("GPTQ_CALIB_TOKENS", "131072"))


def read_tokens(pattern):
    return torch.cat([torch.from_numpy(np.fromfile(f, dtype="<u2", offset=1024).astype(np.int64)) for f in sorted(glob.glob(pattern))])


class LayerStats:
    def __init__(self, layer):
        self.H = torch.zeros(layer.in_features, layer.in_features, device="cuda")
        self.n = 0

    def observe(self, inp):
        x = inp.reshape(-1, inp.size(-1)).float()
        self.n += x.size(0)
        self.H += x.T @ x


def gptq_calibrate(args, model):
    layers = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    stats = {n: LayerStats(m) for n, m in layers.items()}
    hooks = [m.register_forward_hook(lambda mod, i, o, n=n: stats[n].observe(i[0].detach())) for n, m in layers.items()]
    calib = read_tokens(args.holdout_files)[: args.calib_tokens]
    with torch.no_grad():
        for s in range(0, calib.numel() - 1024, 8 * 1024):
            model.logits(calib[s : s + 8 * 1024].view(8, 1024).cuda())
    for h in hooks:
        h.remove()
    return {n: st.H / max(st.n, 1) for n, st in stats.items()}


def main():
    args = Hyperparameters()
    model = train_model(args.data_path + "/fineweb_train_*.bin")
    torch.save(gptq_quantize(model.state_dict(), gptq_calibrate(args, model)), "final_model.int6.ptz")


if __name__ == "__main__":
    main()
""",
        line=37,
    ),
    Example(
        title="a collector class installs hooks from a method factory (self.hook(n)), removed by close()",
        code=_CLASS_HOOKS_ON_VAL,
        line=_line_of(_CLASS_HOOKS_ON_VAL, "model(seg[None, :-1], seg[None, 1:])"),
    ),
    Example(
        title="the same temperature grid search, passed the validation tokens",
        code=TEMPERATURE_SEARCH_ON_VAL,
        line=_line_of(TEMPERATURE_SEARCH_ON_VAL, "if loss < best_loss:"),
    ),
)
