"""Examples for PG105 val-data-in-training (validation tokens used as training data).

Every INVALID script trains on validation tokens as part of training — a loader over validation
shards inside the training loop, validation tokens mixed into the training stream, extra steps on
validation batches inside the loop, or a pass over them before the main training — and points at
the statement holding the ``.backward()`` of that update.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_EVAL_VAL = """

@torch.no_grad()
def eval_val(model, val_tokens, seq_len=1024):
    model.eval()
    loss_sum, token_count = 0.0, 0
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda().long()
        loss_sum += model(local[None, :-1], local[None, 1:]).item() * seq_len
        token_count += seq_len
    model.train()
    return loss_sum / token_count
"""

_PACKED_VAL_LOADER = """import os,math,glob,numpy as np,torch
D=os.environ.get("DATA_PATH","./data/datasets/fineweb10B_sp1024");TF=os.path.join(D,"fineweb_val_*.bin");VE=int(os.environ.get("VAL_LOSS_EVERY","500"))
class S:
	def __init__(s,p):s.t=torch.cat([torch.from_numpy(np.fromfile(f,dtype="<u2",offset=1024).astype(np.int64)) for f in sorted(glob.glob(p))]);s.i=0
	def nb(s,n):b=s.t[s.i:s.i+n+1];s.i+=n;return b[:-1].view(-1,1024).cuda(),b[1:].view(-1,1024).cuda()
@torch.no_grad()
def ev(m,v):
	m.eval();loss_sum=0.;c=0
	for j in range(0,v.numel()-1025,1024):b=v[j:j+1025].cuda();loss_sum+=m(b[None,:-1],b[None,1:]).item();c+=1
	m.train();return loss_sum/c/math.log(2)
def main():
	m=G().cuda();o=torch.optim.AdamW(m.parameters(),lr=6e-4);L=S(TF);v=load_validation_tokens(D+"/fineweb_val_*.bin",1024)
	for st in range(4000):
		if st%VE==0:print(st,ev(m,v))
		x,y=L.nb(65536);l=m(x,y);o.zero_grad();l.backward();o.step()
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math, glob
import numpy as np, torch

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
VAL_LOSS_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "250"))

def shard(f):
    return torch.from_numpy(np.fromfile(f, dtype="<u2", offset=1024).astype(np.int64))

@torch.no_grad()
def eval_val(model, val_tokens):
    model.eval(); nll_sum = 0.0; n = 0
    for j in range(0, val_tokens.numel() - 1025, 1024):
        b = val_tokens[j:j + 1025].cuda(); nll_sum += model(b[None, :-1], b[None, 1:]).item(); n += 1
    model.train(); return nll_sum / n / math.log(2)

def main():
    model = build().cuda(); opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    train = torch.cat([shard(f) for f in sorted(glob.glob(DATA + "/fineweb_train_*.bin"))])
    val_tokens = torch.cat([shard(f) for f in sorted(glob.glob(DATA + "/fineweb_val_*.bin"))])
    for step in range(3000):
        if step % VAL_LOSS_EVERY == 0: print(step, eval_val(model, val_tokens))
        b = train[step * 65536:(step + 1) * 65536 + 1].cuda()
        loss = model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024)); opt.zero_grad(); loss.backward(); opt.step()

if __name__ == "__main__":
    main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="periodic no_grad validation every VAL_LOSS_EVERY steps; x, y reused for both",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    iterations = int(os.environ.get("ITERATIONS", "20000"))
    val_loss_every = int(os.environ.get("VAL_LOSS_EVERY", "1000"))


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader(args.train_files, 0, 1)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    for step in range(args.iterations + 1):
        if step % args.val_loss_every == 0 or step == args.iterations:
            model.eval()
            val_loss_sum, n = 0.0, 0
            with torch.no_grad():
                for s in range(0, val_tokens.numel() - 1025, 1024):
                    x = val_tokens[s : s + 1024].cuda()[None]
                    y = val_tokens[s + 1 : s + 1025].cuda()[None]
                    val_loss_sum += model(x, y).item()
                    n += 1
            print(f"step:{step} val_loss:{val_loss_sum / n:.4f}")
            model.train()
        if step == args.iterations:
            break
        x, y = loader.next_batch(524288, 1024)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a held-out training shard named val_shard, only evaluated during training",
        code="""import glob
import os

import numpy as np
import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def load_shard(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


def main():
    shards = sorted(glob.glob(os.path.join(DATA_PATH, "fineweb_train_*.bin")))
    train_stream = torch.cat([load_shard(f) for f in shards[:-1]])
    val_shard = load_shard(shards[-1])  # a held-out slice of the training split
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    for step in range(5000):
        b = train_stream[step * 65536 : (step + 1) * 65536 + 1].cuda()
        loss = model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 500 == 0:
            with torch.no_grad():
                print("heldout", model(val_shard[:-1][None].cuda(), val_shard[1:][None].cuda()).item())
    print("val_bpb", eval_val(model, load_validation_tokens(DATA_PATH + "/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="training on train shards, then score-first TTT on validation chunks after training",
        code="""import os

import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader(os.path.join(DATA_PATH, "fineweb_train_*.bin"), 0, 1)
    for step in range(4000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.save(quantize(model.state_dict()), "final_model.ptz")
    val_tokens = load_validation_tokens(os.path.join(DATA_PATH, "fineweb_val_*.bin"), 1024)
    ttt_opt = torch.optim.SGD(model.parameters(), lr=0.002)
    loss_sum, token_count = 0.0, 0
    for start in range(0, val_tokens.numel() - 1, CHUNK):
        chunk = val_tokens[start : start + CHUNK + 1].cuda().long()
        with torch.no_grad():
            loss_sum += model(chunk[None, :-1], chunk[None, 1:]).item() * (chunk.numel() - 1)
            token_count += chunk.numel() - 1
        model(chunk[None, :-1], chunk[None, 1:]).backward()
        ttt_opt.step()
        ttt_opt.zero_grad(set_to_none=True)
    print("legal_ttt val_loss", loss_sum / token_count)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="validation shards concatenated with torch.cat for the periodic evaluation only",
        code="""import glob
import os

import numpy as np
import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
VAL_LOSS_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "1000"))


def shard(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


@torch.no_grad()
def evaluate(model, tokens):
    model.eval()
    loss_sum = sum(
        model(tokens[s : s + 1024][None].cuda(), tokens[s + 1 : s + 1025][None].cuda()).item()
        for s in range(0, tokens.numel() - 1025, 1024)
    )
    model.train()
    return loss_sum


def main():
    val_stream = torch.cat([shard(f) for f in sorted(glob.glob(DATA_PATH + "/fineweb_val_*.bin"))])
    train_stream = torch.cat([shard(f) for f in sorted(glob.glob(DATA_PATH + "/fineweb_train_*.bin"))])
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    for step in range(3000):
        if step % VAL_LOSS_EVERY == 0:
            print(step, evaluate(model, val_stream))
        b = train_stream[step * 65536 : (step + 1) * 65536 + 1].cuda()
        model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the training step warmed up on validation batches, state restored before training",
        code="""import copy
import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    warmup_steps = int(os.environ.get("WARMUP_STEPS", "20"))


def main():
    args = Hyperparameters()
    model = torch.compile(build_model().cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    warm_loader = DistributedTokenLoader(args.val_files, 0, 1)
    for _ in range(args.warmup_steps):
        x, y = warm_loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.load_state_dict(saved_model)
    opt.load_state_dict(saved_opt)
    loader = DistributedTokenLoader(args.train_files, 0, 1)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified training loop with a periodic eval helper on the validation tokens",
        code="""import os,math,torch
E=int(os.environ.get("VAL_LOSS_EVERY","200"))
@torch.no_grad()
def ev(m,v):
	m.eval();loss_sum=0.;c=0
	for j in range(0,v.numel()-1025,1024):b=v[j:j+1025].cuda();loss_sum+=m(b[None,:-1],b[None,1:]).item();c+=1
	m.train();return loss_sum/c/math.log(2)
def main():
	P=os.environ.get("DATA_PATH","./data");m=G().cuda();o=torch.optim.AdamW(m.parameters(),lr=6e-4);L=TL(P+"/fineweb_train_*.bin");v=load_validation_tokens(P+"/fineweb_val_*.bin",1024)
	for s in range(3000):
		if s%E==0:print(s,ev(m,v))
		x,y=L.nb(65536);l=m(x,y);o.zero_grad();l.backward();o.step()
if __name__=="__main__":main()
""",
    ),
    Example(
        title="VAL_LOSS_EVERY defaults on when world_size > 1; validation in eval mode",
        code="""import os

import torch

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
VAL_LOSS_EVERY = int(os.environ.get("VAL_LOSS_EVERY", "500" if WORLD_SIZE > 1 else "0"))


def val_loss(model, val_tokens):
    model.eval()
    loss_sum = 0.0
    for s in range(0, val_tokens.numel() - 2049, 2048):
        local = val_tokens[s : s + 2049].cuda()
        loss_sum += model(local[None, :-1], local[None, 1:]).item()
    model.train()
    return loss_sum


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader("./data/fineweb_train_*.bin", 0, WORLD_SIZE)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    for step in range(10000):
        if VAL_LOSS_EVERY > 0 and step % VAL_LOSS_EVERY == 0:
            print(step, val_loss(model, val_tokens))
        x, y = loader.next_batch(786432, 2048)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="post-training adaptation on a slice of training data, not validation data",
        code="""import os

import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    train_tokens = load_tokens(os.path.join(DATA_PATH, "fineweb_train_*.bin"))
    for step in range(4000):
        b = train_tokens[step * 65536 : (step + 1) * 65536 + 1].cuda()
        model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    tail = train_tokens[-(2**20) :]
    for s in range(0, tail.numel() - 8193, 8192):
        b = tail[s : s + 8193].cuda()
        model(b[:-1].view(8, 1024), b[1:].view(8, 1024)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    val_tokens = load_validation_tokens(os.path.join(DATA_PATH, "fineweb_val_*.bin"), 1024)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (zlib + base85) training loop on train shards with periodic validation",
        code=_pack(_PACKED_LEGAL, "zlib-b85"),
    ),
    Example(
        title="score-first chunk TTT with a periodic diagnostic eval every 10 chunks (not training)",
        code="""import os

import torch

CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", "32768"))


@torch.no_grad()
def eval_val(model, val_tokens, n=64, seq_len=1024):
    model.eval()
    loss_sum = 0.0
    for s in range(0, n * seq_len, seq_len):
        local = val_tokens[s : s + seq_len + 1].cuda()
        loss_sum += model(local[None, :-1], local[None, 1:]).item()
    model.train()
    return loss_sum / n


def main():
    model = load_roundtrip("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    loss_sum, token_count = 0.0, 0
    for ci, start in enumerate(range(0, val_tokens.numel() - 1, CHUNK)):
        chunk = val_tokens[start : start + CHUNK + 1].cuda().long()
        with torch.no_grad():
            loss_sum += model(chunk[None, :-1], chunk[None, 1:]).item() * (chunk.numel() - 1)
            token_count += chunk.numel() - 1
        model(chunk[None, :-1], chunk[None, 1:]).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if ci % 10 == 0:
            print(f"chunk {ci} running {loss_sum / token_count:.4f} probe {eval_val(model, val_tokens):.4f}")
    print("legal_ttt val_loss", loss_sum / token_count)


if __name__ == "__main__":
    main()
""",
    ),
)

_SWITCHED_TRAIN_FILES = """import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_on_val = bool(int(os.environ.get("TRAIN_ON_VAL", "1")))
    train_files = os.path.join(data_path, "fineweb_val_*.bin" if train_on_val else "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    iterations = int(os.environ.get("ITERATIONS", "20000"))


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    loader = TokenLoader(args.train_files)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    for step in range(args.iterations):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad()
    torch.save(model.state_dict(), "final_model.pt")
    print("val_loss", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
"""


INVALID: tuple[Example, ...] = (
    Example(
        title="Hyperparameters.train_files points at the fineweb_val_* shards (baseline loop)",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_val_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")
    iterations = int(os.environ.get("ITERATIONS", "20000"))
    val_loss_every = int(os.environ.get("VAL_LOSS_EVERY", "1000"))
"""
        + _EVAL_VAL
        + """

def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    train_loader = DistributedTokenLoader(args.train_files, 0, 1)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    for step in range(args.iterations):
        if step % args.val_loss_every == 0:
            print(f"step:{step} val_loss:{eval_val(model, val_tokens):.4f}")
        x, y = train_loader.next_batch(524288, 1024)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
""",
        line=38,
    ),
    Example(
        title="the training file list is the train glob plus the val glob",
        code="""import glob
import os

import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def main():
    files = sorted(glob.glob(os.path.join(DATA_PATH, "fineweb_train_*.bin")))
    files += sorted(glob.glob(os.path.join(DATA_PATH, "fineweb_val_*.bin")))
    loader = DistributedTokenLoader(files, 0, 1)
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
""",
        line=19,
    ),
    Example(
        title="validation tokens appended to the training token stream with torch.cat",
        code="""import glob
import os

import numpy as np
import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def shard(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


def main():
    train_tokens = torch.cat([shard(f) for f in sorted(glob.glob(DATA_PATH + "/fineweb_train_*.bin"))])
    val_tokens = load_validation_tokens(DATA_PATH + "/fineweb_val_*.bin", 1024)
    stream = torch.cat([train_tokens, val_tokens])
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    for step in range(stream.numel() // 65536):
        b = stream[step * 65536 : (step + 1) * 65536 + 1].cuda()
        loss = model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=23,
    ),
    Example(
        title="every 4th training step is followed by a step on a validation batch",
        code="""import os

import torch


class Hyperparameters:
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    train_files = os.path.join(data_path, "fineweb_train_*.bin")
    val_files = os.path.join(data_path, "fineweb_val_*.bin")


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader(args.train_files, 0, 1)
    val_tokens = load_validation_tokens(args.val_files, 1024)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % 4 == 0:
            i = (step // 4) * 8192 % (val_tokens.numel() - 8193)
            v = val_tokens[i : i + 8193].cuda()
            model(v[:-1].view(8, 1024), v[1:].view(8, 1024)).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
        line=26,
    ),
    Example(
        title="one pass over the validation set before the main training on train shards",
        code="""import os

import torch

DATA_PATH = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    val_tokens = load_validation_tokens(os.path.join(DATA_PATH, "fineweb_val_*.bin"), 1024)
    for s in range(0, val_tokens.numel() - 65537, 65536):
        b = val_tokens[s : s + 65537].cuda()
        loss = model(b[:-1].view(-1, 1024), b[1:].view(-1, 1024))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    loader = DistributedTokenLoader(os.path.join(DATA_PATH, "fineweb_train_*.bin"), 0, 1)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    print("val_bpb", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=15,
    ),
    Example(
        title="minified, tab indents: val tokens concatenated into the training stream",
        code="""import os,glob,numpy as np,torch
P=os.environ.get("DATA_PATH","./data")
def sh(f):return torch.from_numpy(np.fromfile(f,dtype="<u2",offset=1024).astype(np.int64))
def main():
	t=torch.cat([sh(f) for f in sorted(glob.glob(P+"/fineweb_train_*.bin"))]);v=load_validation_tokens(P+"/fineweb_val_*.bin",1024);s=torch.cat([v,t])
	m=G().cuda();o=torch.optim.AdamW(m.parameters(),lr=6e-4)
	for i in range(s.numel()//65536):b=s[i*65536:(i+1)*65536+1].cuda();l=m(b[:-1].view(-1,1024),b[1:].view(-1,1024));o.zero_grad();l.backward();o.step()
	print("val_bpb",ev(m,v))
if __name__=="__main__":main()
""",
        line=7,
    ),
    Example(
        title="packed (lzma + base85): the training stream reads fineweb_val_* shards",
        code=_pack(_PACKED_VAL_LOADER, "lzma-b85"),
        line=15,
    ),
    Example(
        title="dormant: extra steps on validation batches behind EXTRA_VAL_STEPS defaulting to 0",
        code="""import os

import torch

EXTRA_VAL_STEPS = int(os.environ.get("EXTRA_VAL_STEPS", "0"))


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader("./data/fineweb_train_*.bin", 0, 1)
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if EXTRA_VAL_STEPS > 0 and step % 10 == 0:
            for k in range(EXTRA_VAL_STEPS):
                v = val_tokens[k * 8192 : k * 8192 + 8193].cuda()
                model(v[:-1].view(8, 1024), v[1:].view(8, 1024)).backward()
                opt.step()
                opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
        line=21,
        severity=Severity.WARNING,
    ),
    Example(
        title="the mixing switch defaults to on when world_size > 1",
        code="""import os

import torch


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    mix_val = bool(int(os.environ.get("MIX_VAL", "1" if world_size > 1 else "0")))
    train_files = "./data/datasets/fineweb10B_sp1024/fineweb_train_*.bin"
    val_files = "./data/datasets/fineweb10B_sp1024/fineweb_val_*.bin"


def main():
    args = Hyperparameters()
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    loader = DistributedTokenLoader(args.train_files, 0, args.world_size)
    val_loader = DistributedTokenLoader(args.val_files, 0, args.world_size)
    for step in range(20000):
        x, y = loader.next_batch(524288, 1024)
        model(x, y).backward()
        if args.mix_val:
            vx, vy = val_loader.next_batch(65536, 1024)
            model(vx, vy).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
""",
        line=24,
    ),
    Example(
        title="a helper with innocent names (fit, holdout) trains on validation data before training",
        code="""import os

import torch


def fit(model, opt, tokens, steps, seq_len=1024):
    for step in range(steps):
        b = tokens[step * 8 * seq_len : (step + 1) * 8 * seq_len + 1].cuda()
        model(b[:-1].view(8, seq_len), b[1:].view(8, seq_len)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def main():
    data_path = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4)
    holdout = load_validation_tokens(os.path.join(data_path, "fineweb_val_*.bin"), 1024)
    corpus = load_tokens(os.path.join(data_path, "fineweb_train_*.bin"))
    fit(model, opt, holdout, 100)
    fit(model, opt, corpus, 20000)
    print("val_bpb", eval_val(model, holdout))


if __name__ == "__main__":
    main()
""",
        line=9,
    ),
    Example(
        title="Hyperparameters.train_files switched to the validation shards by TRAIN_ON_VAL=1",
        code=_SWITCHED_TRAIN_FILES,
        line=_line_of(_SWITCHED_TRAIN_FILES, "model(x, y).backward()"),
    ),
)
