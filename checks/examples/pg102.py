"""Examples for PG102 train-before-score (score-first ordering in chunked TTT).

Every INVALID script scores and trains inside one loop over chunks, documents or epochs, and
points at the statement holding the ``.backward()`` of the update that reaches tokens whose
score has not been recorded yet.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_REVERSED = """import os,math,torch
import torch.nn.functional as F
C=int(os.environ.get("TTT_CHUNK","32768"));R=float(os.environ.get("TTT_LR","0.002"))
def ttt(m,v,lut):
	o=torch.optim.SGD(m.parameters(),lr=R,momentum=0.9);loss_sum=0.;byte_count=0.
	for i in range(0,v.numel()-1,C):
		s=v[i:i+C+1].cuda().long();x=s[None,:-1];y=s[None,1:]
		m.train();l=m(x,y);o.zero_grad();l.backward();o.step();m.eval()
		with torch.no_grad():
			loss_sum+=F.cross_entropy(m.logits(x)[0].float(),y[0],reduction="sum").item();byte_count+=lut[y].sum().item()
	return loss_sum/byte_count/math.log(2)
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("val_bpb",ttt(m,v,byte_lut()))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math, torch

CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
EPOCHS = int(os.environ.get("TTT_EPOCHS", "2"))

def eval_ttt(model, val_tokens, bytes_lut):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    starts = list(range(0, val_tokens.numel() - 1, CHUNK)); loss_sum = 0.0; byte_count = 0.0
    for ci, start in enumerate(starts):
        seg = val_tokens[start:start + CHUNK + 1].cuda().long(); x, y = seg[None, :-1], seg[None, 1:]
        model.eval()
        with torch.inference_mode():
            loss_sum += model(x, y).item() * y.numel(); byte_count += bytes_lut[y].sum().item()
        if ci == len(starts) - 1: break
        model.train()
        for _ in range(EPOCHS):
            loss = model(x, y); opt.zero_grad(); loss.backward(); opt.step()
    return loss_sum / byte_count / math.log(2)

def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print(f"legal_ttt val_bpb:{eval_ttt(model, val_tokens, byte_lut()):.8f}")

if __name__ == "__main__":
    main()
"""

LAST_EPOCH_FLAG = """import os, math, torch

CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))


def ttt_eval(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    loss_sum, tok_count = 0.0, 0
    for ep in range(TTT_EPOCHS):
        final_epoch = ep + 1 == TTT_EPOCHS  # the score is kept only on the last sweep
        for c in range(0, val_tokens.numel() - 1, CHUNK):
            seg = val_tokens[c : c + CHUNK + 1].cuda()
            x, y = seg[:-1][None], seg[1:][None]
            if final_epoch:
                model.eval()
                with torch.no_grad():
                    loss_sum += model(x, y).item() * y.numel()
                    tok_count += y.numel()
            model.train()
            loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss_sum / tok_count / math.log(2)


def main():
    model = load_model("final_model.pt").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_bpb", ttt_eval(model, val_tokens))


if __name__ == "__main__":
    main()
"""

_TWO_PAST = """import os, math, torch

CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def ttt_eval(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    nll_sum, tok_count = 0.0, 0
    n = val_tokens.numel() - 1
    for c in range(0, n, CHUNK):
        stop = min(c + CHUNK, n)
        scored = val_tokens[c : stop + 1].cuda()
        model.eval()
        with torch.no_grad():
            nll_sum += model(scored[None, :-1], scored[None, 1:]).item() * (stop - c)
            tok_count += stop - c
        ahead = val_tokens[c : stop + 2].cuda()  # one target past the scored ones
        model.train()
        loss = model(ahead[None, :-1], ahead[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nll_sum / tok_count / math.log(2)


def main():
    model = load_model("final_model.pt").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_bpb", ttt_eval(model, val_tokens))


if __name__ == "__main__":
    main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="score-first chunk TTT with an is_last_chunk guard and a cosine lr over chunks",
        code="""import math
import os

import torch


class Hyperparameters:
    ttt_chunk_tokens = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "3"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.002"))


def eval_val_ttt(args, model, val_tokens, base_bytes_lut):
    opt = torch.optim.SGD(model.parameters(), lr=args.ttt_lr, momentum=0.9)
    starts = list(range(0, val_tokens.numel() - 1, args.ttt_chunk_tokens))
    loss_sum, byte_count = 0.0, 0.0
    for ci, start in enumerate(starts):
        chunk = val_tokens[start : start + args.ttt_chunk_tokens + 1].cuda().long()
        x, y = chunk[:-1][None], chunk[1:][None]
        model.eval()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            byte_count += base_bytes_lut[y].sum().item()
        is_last_chunk = ci == len(starts) - 1
        if is_last_chunk:
            continue
        for group in opt.param_groups:
            group["lr"] = args.ttt_lr * 0.5 * (1 + math.cos(math.pi * ci / len(starts)))
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
    print(f"legal_ttt val_bpb:{eval_val_ttt(args, model, val_tokens, build_byte_lut()):.8f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first without a guard: the last chunk is trained on after scoring (pointless, legal)",
        code="""import os

import torch

TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1")))


def ttt_eval(model, val_tokens, chunk=65536):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    nll_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].to("cuda", dtype=torch.int64)
        x, y = seg[:-1].unsqueeze(0), seg[1:].unsqueeze(0)
        with torch.no_grad():
            nll_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nll_sum / token_count


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = train_model(os.path.join(data_path, "fineweb_train_*.bin"))
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    if TTT_ENABLED:
        print("ttt val_loss", ttt_eval(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="several shuffled epochs of mini-batches over a chunk that was already scored",
        code="""import math

import torch


def eval_ttt(model, val_tokens, chunk_seqs=32, seq_len=1024, epochs=4, bsz=8):
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    span = chunk_seqs * seq_len
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - span - 1, span):
        local = val_tokens[start : start + span + 1].cuda().long()
        x = local[:-1].view(chunk_seqs, seq_len)
        y = local[1:].view(chunk_seqs, seq_len)
        model.eval()
        with torch.inference_mode():
            loss_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(chunk_seqs)
            for b in range(0, chunk_seqs, bsz):
                idx = order[b : b + bsz]
                loss = model(x[idx], y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return loss_sum / token_count / math.log(2)


def main():
    model = load_roundtrip_model("final_model.int8.ptz")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("ttt val_bits_per_token", eval_ttt(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="per-document LoRA TTT: score chunk k, one LoRA step on chunk k, reset between documents",
        code="""import torch
from torch import nn


class LoRAHead(nn.Module):
    def __init__(self, dim, vocab, rank=4):
        super().__init__()
        self.a = nn.Parameter(torch.empty(dim, rank))
        self.b = nn.Parameter(torch.empty(rank, vocab))
        self.reset()

    def reset(self):
        nn.init.normal_(self.a, std=0.02)
        nn.init.zeros_(self.b)


def eval_doc_lora(model, val_tokens, bos_starts, chunk=128):
    lora = LoRAHead(model.dim, model.vocab_size).cuda()
    nll_sum, token_count = 0.0, 0
    for a, b in zip(bos_starts[:-1], bos_starts[1:]):
        doc = val_tokens[a:b].cuda().long()
        lora.reset()
        opt = torch.optim.Adam(lora.parameters(), lr=5e-3)
        for k in range(0, doc.numel() - 1, chunk):
            y = doc[k + 1 : k + chunk + 1][None]
            x = doc[k : k + y.size(1)][None]
            with torch.no_grad():
                nll_sum += model(x, y, lora=lora).item() * y.numel()
                token_count += y.numel()
            loss = model(x, y, lora=lora)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return nll_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    starts = (val_tokens == 1).nonzero().flatten().tolist() + [val_tokens.numel()]
    print(f"lora_ttt val_loss:{eval_doc_lora(model, val_tokens, starts):.6f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="phased TTT: each phase scores its documents, then global SGD on those documents",
        code="""import os

import torch

TTT_PHASES = int(os.environ.get("TTT_PHASES", "4"))


def eval_phased(model, docs, base_bytes_lut):
    opt = torch.optim.SGD(model.parameters(), lr=0.004, momentum=0.9)
    loss_sum, byte_count = 0.0, 0.0
    size = (len(docs) + TTT_PHASES - 1) // TTT_PHASES
    for phase in range(TTT_PHASES):
        phase_docs = docs[phase * size : (phase + 1) * size]
        model.eval()
        with torch.no_grad():
            for d in phase_docs:
                loss_sum += model(d[None, :-1], d[None, 1:]).item() * (d.numel() - 1)
                byte_count += base_bytes_lut[d[1:]].sum().item()
        model.train()
        for d in phase_docs:
            loss = model(d[None, :-1], d[None, 1:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return loss_sum / byte_count


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048).cuda().long()
    bos = (val_tokens == 1).nonzero().flatten().tolist() + [val_tokens.numel()]
    docs = [val_tokens[a:b] for a, b in zip(bos[:-1], bos[1:]) if b - a > 1]
    print("phased val_bpb", eval_phased(model, docs, build_byte_lut()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="scoring and training in helper functions, called in the right order",
        code="""import math

import torch


def score_chunk(model, x, y, bytes_lut):
    model.eval()
    nll_sum, byte_count = 0.0, 0.0
    with torch.no_grad():
        for i in range(x.size(0)):
            nll_sum += model(x[i : i + 1], y[i : i + 1]).item() * y.size(1)
            byte_count += bytes_lut[y[i]].sum().item()
    return nll_sum, byte_count


def train_chunk(model, opt, x, y, epochs):
    model.train()
    for _ in range(epochs):
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def eval_val_ttt(model, val_tokens, bytes_lut, seq_len=1024, seqs=32):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    span = seq_len * seqs
    loss_sum, byte_total = 0.0, 0.0
    for start in range(0, val_tokens.numel() - span - 1, span):
        local = val_tokens[start : start + span + 1].cuda().long()
        x, y = local[:-1].view(seqs, seq_len), local[1:].view(seqs, seq_len)
        s, b = score_chunk(model, x, y, bytes_lut)
        loss_sum += s
        byte_total += b
        train_chunk(model, opt, x, y, epochs=2)
    return loss_sum / byte_total / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val_ttt(model, val_tokens, build_byte_lut()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a normal training loop with periodic validation through an eval_val helper",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    iterations = int(os.environ.get("ITERATIONS", "20000"))
    val_loss_every = int(os.environ.get("VAL_LOSS_EVERY", "1000"))


def eval_val(model, val_tokens, seq_len=1024, seqs=64):
    model.eval()
    val_loss_sum, val_token_count = 0.0, 0
    with torch.inference_mode():
        for s in range(0, val_tokens.numel() - seq_len * seqs - 1, seq_len * seqs):
            local = val_tokens[s : s + seq_len * seqs + 1].cuda().long()
            x, y = local[:-1].view(seqs, seq_len), local[1:].view(seqs, seq_len)
            val_loss_sum += model(x, y).item() * y.numel()
            val_token_count += y.numel()
    model.train()
    return val_loss_sum / val_token_count


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    train_loader = DistributedTokenLoader(args.train_files, 0, 1)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    for step in range(args.iterations):
        if args.val_loss_every > 0 and step % args.val_loss_every == 0:
            print(f"step:{step} val_loss:{eval_val(model, val_tokens):.4f}")
        x, y = train_loader.next_batch(524288, 1024)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    print(f"final val_loss:{eval_val(model, val_tokens):.4f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="sliding-window evaluation: overlapping windows, only the last stride positions scored",
        code="""import math

import torch
import torch.nn.functional as F


@torch.no_grad()
def eval_sliding(model, val_tokens, bytes_lut, seq_len=1024, stride=256, batch=16):
    model.eval()
    total = val_tokens.numel() - 1
    starts = list(range(0, total - seq_len + 1, stride))
    nll_sum, byte_count = 0.0, 0.0
    for b in range(0, len(starts), batch):
        idx = torch.tensor(starts[b : b + batch])
        windows = torch.stack([val_tokens[i : i + seq_len + 1] for i in idx.tolist()]).cuda().long()
        x, y = windows[:, :-1], windows[:, 1:]
        nll = F.cross_entropy(model(x).float().transpose(1, 2), y, reduction="none")
        for r, s in enumerate(idx.tolist()):
            first = 0 if s == 0 else seq_len - stride
            nll_sum += nll[r, first:].double().sum().item()
            byte_count += bytes_lut[y[r, first:]].sum().item()
    return nll_sum / byte_count / math.log(2)


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print(f"final_sliding_window val_bpb:{eval_sliding(model, val_tokens, build_byte_lut()):.8f}")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first with the model in eval mode (no no_grad block), then model.train() and a step",
        code="""import os

import torch


class Hyperparameters:
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "1")))
    ttt_chunk = int(os.environ.get("TTT_CHUNK_TOKENS", "16384"))


def ttt_pass(args, model, val_tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, args.ttt_chunk):
        seg = val_tokens[start : start + args.ttt_chunk + 1].cuda().long()
        x, y = seg[None, :-1], seg[None, 1:]
        model.eval()
        nll = model(x, y)
        loss_sum += nll.detach().item() * y.numel()
        token_count += y.numel()
        model.train()
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.ttt_enabled:
        print("ttt val_loss", ttt_pass(args, model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="score-first under inference_mode with a GradScaler step on the same slice",
        code="""import os

import torch

TTT_ENABLED = os.environ.get("TTT_ENABLED", "1") == "1"


def eval_ttt_amp(model, val_tokens, chunk=32768):
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    scaler = torch.cuda.amp.GradScaler()
    nll_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        end = min(start + chunk + 1, val_tokens.numel())
        seg = val_tokens[start:end].cuda().long()
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
            nll_sum += model(seg[None, :-1], seg[None, 1:]).float().item() * (end - start - 1)
            token_count += end - start - 1
        upd = val_tokens[start:end].cuda().long()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = model(upd[None, :-1], upd[None, 1:])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if TTT_ENABLED:
        print("ttt val_loss", eval_ttt_amp(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified legal score-first loop",
        code="""import os,math,torch
C=int(os.environ.get("TTT_CHUNK","32768"))
def ttt(m,v,lut):
 o=torch.optim.SGD(m.parameters(),lr=2e-3,momentum=.9);loss_sum=0.;byte_count=0.
 for i in range(0,v.numel()-1,C):
  s=v[i:i+C+1].cuda().long();x=s[None,:-1];y=s[None,1:];m.eval()
  with torch.no_grad():loss_sum+=m(x,y).item()*y.numel();byte_count+=lut[y].sum().item()
  m.train();l=m(x,y);o.zero_grad();l.backward();o.step()
 return loss_sum/byte_count/math.log(2)
def main():
 m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
 print("val_bpb",ttt(m,v,byte_lut()))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (lzma + base64) legal score-first TTT with is_last_chunk break",
        code=_pack(_PACKED_LEGAL, "lzma-b64"),
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="each chunk is trained on first and scored afterwards",
        code="""import math
import os

import torch


class Hyperparameters:
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "1")))
    ttt_chunk_tokens = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))
    ttt_lr = float(os.environ.get("TTT_LR", "0.002"))


def eval_val_ttt(args, model, val_tokens, base_bytes_lut):
    opt = torch.optim.SGD(model.parameters(), lr=args.ttt_lr, momentum=0.9)
    loss_sum, byte_count = 0.0, 0.0
    for start in range(0, val_tokens.numel() - 1, args.ttt_chunk_tokens):
        chunk = val_tokens[start : start + args.ttt_chunk_tokens + 1].cuda().long()
        x, y = chunk[:-1][None], chunk[1:][None]
        model.train()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            byte_count += base_bytes_lut[y].sum().item()
    return loss_sum / byte_count / math.log(2)


def main():
    args = Hyperparameters()
    model = train_and_roundtrip(args)
    val_tokens = load_validation_tokens("./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin", 1024)
    if args.ttt_enabled:
        print(f"ttt val_bpb:{eval_val_ttt(args, model, val_tokens, build_byte_lut()):.8f}")


if __name__ == "__main__":
    main()
""",
        line=22,
    ),
    Example(
        title="multi-epoch loop over chunks that adds to the score only on the final epoch",
        code="""import os

import torch

TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))


def ttt_eval(model, val_tokens, chunk=65536):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    starts = range(0, val_tokens.numel() - 1, chunk)
    loss_sum, token_count = 0.0, 0
    for epoch in range(TTT_EPOCHS):
        for start in starts:
            seg = val_tokens[start : start + chunk + 1].cuda().long()
            x, y = seg[:-1][None], seg[1:][None]
            model.eval()
            with torch.no_grad():
                nll = model(x, y).item()
                if epoch == TTT_EPOCHS - 1:
                    loss_sum += nll * y.numel()
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
        line=25,
    ),
    Example(
        title="the update slice reaches one token past the scored slice",
        code="""import os

import torch

CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def eval_with_ttt(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    total = val_tokens.numel() - 1
    nll_sum, token_count = 0.0, 0
    for start in range(0, total, CHUNK):
        end = min(start + CHUNK + 1, total + 1)
        scored = val_tokens[start:end].cuda().long()
        model.eval()
        with torch.no_grad():
            nll_sum += model(scored[None, :-1], scored[None, 1:]).item() * (end - start - 1)
            token_count += end - start - 1
        update = val_tokens[start : end + 1].cuda().long()
        model.train()
        loss = model(update[None, :-1], update[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("ttt val_loss", eval_with_ttt(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="adapt on a document prefix, then score the document from position 0",
        code="""import torch

PREFIX_FRAC = 0.25


def eval_prefix_adapt(model, val_tokens, bos_id=1):
    bos = (val_tokens == bos_id).nonzero().flatten().tolist() + [val_tokens.numel()]
    base = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    nll_sum, token_count = 0.0, 0
    for a, b in zip(bos[:-1], bos[1:]):
        doc = val_tokens[a:b].cuda().long()
        model.load_state_dict(base)
        prefix = doc[: max(int(doc.numel() * PREFIX_FRAC), 2)]
        loss = model(prefix[None, :-1], prefix[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            nll_sum += model(doc[None, :-1], doc[None, 1:]).item() * (doc.numel() - 1)
            token_count += doc.numel() - 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print(f"prefix_adapt val_loss:{eval_prefix_adapt(model, val_tokens):.6f}")


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="per-document LoRA TTT that steps on chunk k before scoring chunk k",
        code="""import torch
from torch import nn


class LoRA(nn.Module):
    def __init__(self, dim, vocab, rank=8):
        super().__init__()
        self.a = nn.Parameter(torch.randn(dim, rank) * 0.01)
        self.b = nn.Parameter(torch.zeros(rank, vocab))


def eval_doc_lora(model, val_tokens, bos_starts, chunk=256):
    nll_sum, token_count = 0.0, 0
    for a, b in zip(bos_starts[:-1], bos_starts[1:]):
        doc = val_tokens[a:b].cuda().long()
        lora = LoRA(model.dim, model.vocab_size).cuda()
        opt = torch.optim.Adam(lora.parameters(), lr=1e-3)
        for k in range(0, doc.numel() - 1, chunk):
            y = doc[k + 1 : k + chunk + 1][None]
            x = doc[k : k + y.size(1)][None]
            loss = model(x, y, lora=lora)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                nll_sum += model(x, y, lora=lora).item() * y.numel()
                token_count += y.numel()
    return nll_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    starts = (val_tokens == 1).nonzero().flatten().tolist() + [val_tokens.numel()]
    print(f"lora_ttt val_loss:{eval_doc_lora(model, val_tokens, starts):.6f}")


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="scoring and training in helpers, but the chunk loop calls train before score",
        code="""import math

import torch


def score_chunk(model, x, y, bytes_lut):
    model.eval()
    nll_sum, byte_count = 0.0, 0.0
    with torch.no_grad():
        for i in range(x.size(0)):
            nll_sum += model(x[i : i + 1], y[i : i + 1]).item() * y.size(1)
            byte_count += bytes_lut[y[i]].sum().item()
    return nll_sum, byte_count


def train_chunk(model, opt, x, y):
    model.train()
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def eval_val_ttt(model, val_tokens, bytes_lut, seq_len=1024, seqs=32):
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    span = seq_len * seqs
    loss_sum, byte_total = 0.0, 0.0
    for start in range(0, val_tokens.numel() - span - 1, span):
        local = val_tokens[start : start + span + 1].cuda().long()
        x, y = local[:-1].view(seqs, seq_len), local[1:].view(seqs, seq_len)
        train_chunk(model, opt, x, y)
        s, b = score_chunk(model, x, y, bytes_lut)
        loss_sum += s
        byte_total += b
    return loss_sum / byte_total / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val_ttt(model, val_tokens, build_byte_lut()))


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="a no_grad pass before the step only for logging; the recorded score comes after the step",
        code="""import torch


def ttt_eval(model, val_tokens, chunk=32768, log_every=50):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_sum, token_count = 0.0, 0
    for ci, start in enumerate(range(0, val_tokens.numel() - 1, chunk)):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        x, y = seg[None, :-1], seg[None, 1:]
        with torch.no_grad():
            before = model(x, y).item()
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            after = model(x, y).item()
            loss_sum += after * y.numel()
            token_count += y.numel()
        if ci % log_every == 0:
            print(f"chunk:{ci} before:{before:.4f} after:{after:.4f}")
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("ttt val_loss", ttt_eval(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=14,
    ),
    Example(
        title="GradScaler epochs on the chunk, then an inference_mode score; TTT_EPOCHS defaults to 2",
        code="""import os

import torch


class Hyperparameters:
    ttt_epochs = int(os.environ.get("TTT_EPOCHS", "2"))
    ttt_chunk = int(os.environ.get("TTT_CHUNK_TOKENS", "65536"))


def eval_ttt(args, model, val_tokens, seq_len=1024):
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    scaler = torch.cuda.amp.GradScaler()
    val_loss_sum, val_token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - args.ttt_chunk - 1, args.ttt_chunk):
        local = val_tokens[start : start + args.ttt_chunk + 1].cuda().long()
        x, y = local[:-1].view(-1, seq_len), local[1:].view(-1, seq_len)
        for _ in range(args.ttt_epochs):
            with torch.autocast("cuda", dtype=torch.float16):
                loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        with torch.inference_mode():
            val_loss_sum += model(x, y).item() * y.numel()
            val_token_count += y.numel()
    return val_loss_sum / val_token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.ttt_epochs > 0:
        print("ttt val_loss", eval_ttt(args, model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=22,
    ),
    Example(
        title="dormant: train-then-score TTT behind Hyperparameters.ttt_enabled defaulting to 0",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    ttt_enabled = bool(int(os.environ.get("TTT_ENABLED", "0")))


def eval_val(model, val_tokens):
    model.eval()
    with torch.no_grad():
        return model(val_tokens[None, :-1].cuda(), val_tokens[None, 1:].cuda()).item()


def eval_val_ttt(model, val_tokens, chunk=32768):
    opt = torch.optim.SGD(model.parameters(), lr=0.002)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, chunk):
        seg = val_tokens[start : start + chunk + 1].cuda().long()
        loss = model(seg[None, :-1], seg[None, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += model(seg[None, :-1], seg[None, 1:]).item() * (seg.numel() - 1)
            token_count += seg.numel() - 1
    return loss_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(args.val_files, 1024)
    score = eval_val_ttt(model, val_tokens) if args.ttt_enabled else eval_val(model, val_tokens)
    print(f"final val_loss:{score:.6f}")


if __name__ == "__main__":
    main()
""",
        line=25,
        severity=Severity.WARNING,
    ),
    Example(
        title="TTT_ENABLED defaults to on when WORLD_SIZE > 1, and the loop trains before it scores",
        code="""import os

import torch

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
TTT_ENABLED = bool(int(os.environ.get("TTT_ENABLED", "1" if WORLD_SIZE > 1 else "0")))


def eval_ttt(model, val_tokens, rank, chunk=32768):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    per_rank = (val_tokens.numel() - 1) // WORLD_SIZE
    mine = val_tokens[rank * per_rank : (rank + 1) * per_rank + 1]
    loss_sum, token_count = 0.0, 0
    for start in range(0, mine.numel() - 1, chunk):
        seg = mine[start : start + chunk + 1].cuda().long()
        x, y = seg[None, :-1], seg[None, 1:]
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += model(x, y).item() * y.numel()
            token_count += y.numel()
    return loss_sum, token_count


def main():
    rank = int(os.environ.get("RANK", "0"))
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if TTT_ENABLED:
        print("ttt", eval_ttt(model, val_tokens, rank))
    else:
        print("plain", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="minified: train then score on ;-joined lines",
        code="""import os,math,torch
C=int(os.environ.get("TTT_CHUNK","32768"))
def ttt(m,v,lut):
 o=torch.optim.SGD(m.parameters(),lr=2e-3,momentum=.9);loss_sum=0.;byte_count=0.
 for i in range(0,v.numel()-1,C):
  s=v[i:i+C+1].cuda().long();x=s[None,:-1];y=s[None,1:]
  m.train();l=m(x,y);o.zero_grad();l.backward();o.step();m.eval()
  with torch.no_grad():loss_sum+=m(x,y).item()*y.numel();byte_count+=lut[y].sum().item()
 return loss_sum/byte_count/math.log(2)
def main():
 m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
 print("val_bpb",ttt(m,v,byte_lut()))
if __name__=="__main__":main()
""",
        line=7,
    ),
    Example(
        title="nested packing (zlib + base64 inside lzma + base85) around a train-then-score loop",
        code=_pack(_pack(_PACKED_REVERSED, "zlib-b64"), "lzma-b85"),
        line=8,
    ),
    Example(
        title="the score is kept only when a flag computed from the epoch counter is set",
        code=LAST_EPOCH_FLAG,
        line=_line_of(LAST_EPOCH_FLAG, "loss.backward()"),
    ),
    Example(
        title="the scored slice ends at stop + 1, the update slice at stop + 2",
        code=_TWO_PAST,
        line=_line_of(_TWO_PAST, "loss.backward()"),
    ),
)
