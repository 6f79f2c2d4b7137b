"""Examples for PG403 stop-without-wallclock.

The INVALID scripts either end training on a step count with no clock test in the training loop,
or read training data for GPTQ calibration after a wallclock-capped loop whose cap keeps no
reserve for that work (an error, a warning behind a switch that is off by default). The VALID ones stop on the clock (directly, through a helper, a `while`
test or an all-reduced flag) and subtract a reserve when calibration follows.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_HEAD = """import glob
import os
import time

import numpy as np
import torch
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
ITERATIONS = int(os.environ.get("ITERATIONS", "20000"))


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1024, 64)
        self.head = nn.Linear(64, 1024)

    def forward(self, x, y):
        return nn.functional.cross_entropy(self.head(self.emb(x)), y)


def load_shard(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2", offset=1024).astype(np.int64))


def evaluate(model, val_tokens):
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, val_tokens.numel() - 1025, 1024):
            chunk = val_tokens[i : i + 1025]
            loss_sum += model(chunk[:-1], chunk[1:]).item()
    return loss_sum


def step_on(model, opt, tokens, step):
    i = step * 1024 % (tokens.numel() - 1025)
    batch = tokens[i : i + 1025]
    model(batch[:-1], batch[1:]).backward()
    opt.step()
    opt.zero_grad()

"""

_TAIL = """

if __name__ == "__main__":
    main()
"""

_FOR_RANGE = (
    _HEAD
    + """
def wallclock_limited_train(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    wallclock_limited_train(model, tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_FORCE_STOP = (
    _HEAD
    + """
FORCE_STOP_STEP = int(os.environ.get("FORCE_STOP_STEP", "7000"))


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    step = 0
    while True:
        step_on(model, opt, tokens, step)
        step += 1
        if step % 100 == 0:
            print(f"step:{step} train_time:{1000 * (time.perf_counter() - t0):.0f}ms")
        if step >= FORCE_STOP_STEP:
            break
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_CAP_OFF_BY_DEFAULT = (
    _HEAD
    + """
MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "0"))


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        if MAX_WALLCLOCK_SECONDS > 0 and time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
        step_on(model, opt, tokens, step)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_MINIFIED = """import os,torch,numpy as np
N=int(os.environ.get("ITERATIONS","9000"))
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);k=0
	while k<N:
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad();k+=1
	torch.save(m.state_dict(),"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_PACKED = """import os,torch,numpy as np
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def tr(m,r,n):
	o=torch.optim.SGD(m.parameters(),lr=.1)
	for k in range(n):b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1)
	tr(m,r,int(os.environ.get("ITERATIONS","9000")));torch.save(m.state_dict(),"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_GPTQ = """
def collect_hessians(model, loader_tokens, batches):
    hessians = {}
    with torch.no_grad():
        for b in range(batches):
            x = model.emb(loader_tokens[b * 1024 : (b + 1) * 1024])
            hessians["head"] = hessians.get("head", 0) + x.T @ x
    return hessians


def gptq(model, hessians):
    return {k: v.half() for k, v in model.state_dict().items()}


def train(model, tokens, cap_seconds):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        if time.perf_counter() - t0 >= cap_seconds:
            print(f"stopping_early: wallclock_cap step:{step}")
            break
        step_on(model, opt, tokens, step)

"""

_GPTQ_NO_RESERVE = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
"""
    + _GPTQ
    + """
def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens, MAX_WALLCLOCK_SECONDS)
    hessians = collect_hessians(model, load_shard(f"{DATA}/fineweb_train_000001.bin"), 64)
    torch.save(gptq(model, hessians), "final_model.int6.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_GPTQ_ZERO_RESERVE = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
GPTQ_RESERVE_SECONDS = float(os.environ.get("GPTQ_RESERVE_SECONDS", "0"))
"""
    + _GPTQ
    + """
def main():
    calib = sorted(glob.glob(f"{DATA}/fineweb_train_*.bin"))
    tokens = load_shard(calib[0])
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens, MAX_WALLCLOCK_SECONDS - GPTQ_RESERVE_SECONDS)
    hessians = collect_hessians(model, load_shard(calib[-1]), 64)
    torch.save(gptq(model, hessians), "final_model.int6.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_GPTQ_SWITCHED_OFF = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
SKIP_GPTQ = bool(int(os.environ.get("SKIP_GPTQ", "1")))
"""
    + _GPTQ
    + """
def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens, MAX_WALLCLOCK_SECONDS)
    state = model.state_dict()
    if not SKIP_GPTQ:
        hessians = collect_hessians(model, load_shard(f"{DATA}/fineweb_train_000001.bin"), 64)
        state = gptq(model, hessians)
    torch.save(state, "final_model.int6.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_POLISH_AFTER_CAP = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
POLISH_STEPS = int(os.environ.get("POLISH_STEPS", "200"))


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    started = time.perf_counter()
    step = 0
    while time.perf_counter() - started < MAX_WALLCLOCK_SECONDS:
        step_on(model, opt, tokens, step)
        step += 1
    for extra in range(POLISH_STEPS):
        step_on(model, opt, tokens, step + extra)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

# The same polish steps, with time kept back for them: the clock stops the first loop early.
_POLISH_WITH_RESERVE = _POLISH_AFTER_CAP.replace(
    'POLISH_STEPS = int(os.environ.get("POLISH_STEPS", "200"))',
    'POLISH_STEPS = int(os.environ.get("POLISH_STEPS", "200"))\n'
    'POLISH_RESERVE_SECONDS = float(os.environ.get("POLISH_RESERVE_SECONDS", "20"))',
).replace("< MAX_WALLCLOCK_SECONDS:", "< MAX_WALLCLOCK_SECONDS - POLISH_RESERVE_SECONDS:")

_GPTQ_MINIFIED = """import os,time,torch,numpy as np
C=float(os.environ.get("MAX_WALLCLOCK_SECONDS","600"));D=os.environ.get("DATA_PATH","./data")
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def hs(m,t,n):
	h={}
	with torch.no_grad():
		for b in range(n):x=m(t[b*512:(b+1)*512].float()[:,None]);h[0]=h.get(0,0)+x.T@x
	return h
def main():
	m=torch.nn.Linear(1,8);o=torch.optim.SGD(m.parameters(),lr=.1);r=ld(D+"/fineweb_train_000000.bin");t=time.perf_counter();k=0
	while 1:
		if time.perf_counter()-t>=C:break
		m(r[k:k+512].float()[:,None]).sum().backward();o.step();k+=512
	q=hs(m,ld(D+"/fineweb_train_000001.bin"),32);torch.save((m.state_dict(),q),"m.pt");print(ev(m,ld(D+"/fineweb_val_000000.bin")))
if __name__=="__main__":main()
"""

_SWITCHED = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
FIXED_SCHEDULE = bool(int(os.environ.get("FIXED_SCHEDULE", "0")))


def train_fixed(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)


def train_capped(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
        step_on(model, opt, tokens, step)


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    if FIXED_SCHEDULE:
        train_fixed(model, tokens)
    else:
        train_capped(model, tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_WORLD_SIZE = _SWITCHED.replace(
    'FIXED_SCHEDULE = bool(int(os.environ.get("FIXED_SCHEDULE", "0")))',
    'world_size = int(os.environ.get("WORLD_SIZE", "1"))\n'
    'FIXED_SCHEDULE = bool(int(os.environ.get("FIXED_SCHEDULE", "1" if world_size > 1 else "0")))',
)


_THROTTLED_LOG = """import os
import time

import torch
import torch.nn.functional as F

ITERATIONS = int(os.environ.get("ITERATIONS", "7000"))
MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))


def main():
    model = build_model().cuda()
    loader = TokenLoader(os.environ.get("DATA_PATH", "./data") + "/fineweb_train_*.bin")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = last_log = time.perf_counter()
    for step in range(ITERATIONS):
        x, y = loader.next_batch(524288, 1024)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        now = time.perf_counter()
        if now - last_log > 30.0:
            print(f"step {step} loss {loss.item():.4f} elapsed {now - t0:.0f}s / {MAX_WALLCLOCK_SECONDS}")
            last_log = now
    torch.save(model.state_dict(), "final_model.pt")
    evaluate(model)


if __name__ == "__main__":
    main()
"""

_MINIFIED_THROTTLED_LOG = """import os,time,torch,torch.nn.functional as F
N=int(os.environ.get("ITERATIONS","7000"))
def main():
	m=build_model().cuda();d=TokenLoader(os.environ.get("DATA_PATH","./data")+"/fineweb_train_*.bin");o=torch.optim.AdamW(m.parameters(),lr=3e-4);t=l=time.perf_counter()
	for k in range(N):
		x,y=d.next_batch(524288,1024);z=F.cross_entropy(m(x).flatten(0,1),y.flatten());o.zero_grad();z.backward();o.step();n=time.perf_counter()
		if n-l>30:print(k,z.item(),n-t);l=n
	torch.save(m.state_dict(),"final_model.pt");evaluate(m)
if __name__=="__main__":main()
"""


_TTT_WARMUP_HELPERS = """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
TTT_CHUNK = int(os.environ.get("TTT_CHUNK", "1024"))


def init_counter(path):
    with open(path, "wb") as f:
        f.write((0).to_bytes(4, "little", signed=False))


def timed_eval(label, fn, *args):
    t0 = time.perf_counter()
    val_loss = fn(*args)
    print(f"{label} val_loss:{val_loss:.4f} eval_time:{time.perf_counter() - t0:.1f}s")
    return val_loss


def phased_ttt(model, val_tokens, vocab_size=1024):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    # Compile warm-up of the TTT step on random tokens, not validation data.
    for ctx_len in (TTT_CHUNK, 2 * TTT_CHUNK):
        xw = torch.randint(0, vocab_size, (4, ctx_len))
        yw = torch.randint(0, vocab_size, (4, ctx_len))
        model(xw, yw).backward()
        opt.step()
        opt.zero_grad()
    init_counter("ttt_batch_counter.bin")
    loss_sum = 0.0
    for i in range(0, val_tokens.numel() - TTT_CHUNK - 1, TTT_CHUNK):
        chunk = val_tokens[i : i + TTT_CHUNK + 1]
        with torch.no_grad():
            loss_sum += model(chunk[:-1], chunk[1:]).item()
        model(chunk[:-1], chunk[1:]).backward()
        opt.step()
        opt.zero_grad()
    return loss_sum

"""

_TTT_WARMUP_AFTER_ARTIFACT = (
    _HEAD
    + _TTT_WARMUP_HELPERS
    + """
def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
    torch.save(model.state_dict(), "final_model.pt")
    timed_eval("final_roundtrip", evaluate, model, val_tokens)
    print("final_ttt val_loss", phased_ttt(model, val_tokens))
"""
    + _TAIL
)

_STEP_COUNT_THEN_TTT_WARMUP = (
    _HEAD
    + _TTT_WARMUP_HELPERS
    + """
def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)
    torch.save(model.state_dict(), "final_model.pt")
    timed_eval("final_roundtrip", evaluate, model, val_tokens)
    print("final_ttt val_loss", phased_ttt(model, val_tokens))
"""
    + _TAIL
)

INVALID: tuple[Example, ...] = (
    Example(
        title="for step in range(ITERATIONS) in a function named wallclock_limited_train",
        code=_FOR_RANGE,
        line=_line_of(_FOR_RANGE, "for step in range(ITERATIONS):"),
    ),
    Example(
        title="while True ending on FORCE_STOP_STEP; the clock is only printed",
        code=_FORCE_STOP,
        line=_line_of(_FORCE_STOP, "while True:"),
    ),
    Example(
        title="a clock test that is false by default (MAX_WALLCLOCK_SECONDS defaults to 0)",
        code=_CAP_OFF_BY_DEFAULT,
        line=_line_of(_CAP_OFF_BY_DEFAULT, "for step in range(ITERATIONS):"),
    ),
    Example(
        title="minified: while k<N with tab indents and ;-joined steps",
        code=_MINIFIED,
        line=_line_of(_MINIFIED, "while k<N:"),
    ),
    Example(
        title="packed (zlib + base85) script whose training helper loops a fixed count",
        code=_pack(_PACKED, "zlib-b85"),
        line=_line_of(_PACKED, "for k in range(n):"),
    ),
    Example(
        title="GPTQ calibration on a training shard after the cap, no reserve at all",
        code=_GPTQ_NO_RESERVE,
        line=_line_of(_GPTQ_NO_RESERVE, "hessians = collect_hessians(model, load_shard("),
        severity=Severity.ERROR,
    ),
    Example(
        title="GPTQ calibration after the cap with a GPTQ_RESERVE_SECONDS that defaults to 0",
        code=_GPTQ_ZERO_RESERVE,
        line=_line_of(
            _GPTQ_ZERO_RESERVE, "hessians = collect_hessians(model, load_shard(calib[-1])"
        ),
        severity=Severity.ERROR,
    ),
    Example(
        title="GPTQ calibration after the cap, no reserve, behind SKIP_GPTQ that defaults to 1",
        code=_GPTQ_SWITCHED_OFF,
        line=_line_of(_GPTQ_SWITCHED_OFF, "hessians = collect_hessians(model, load_shard("),
        severity=Severity.WARNING,
    ),
    Example(
        title="minified: Hessians from a second training shard after a clock-capped while loop",
        code=_GPTQ_MINIFIED,
        line=_line_of(_GPTQ_MINIFIED, "q=hs(m,ld("),
        severity=Severity.ERROR,
    ),
    Example(
        title="polish steps on training data after the loop that stopped on the clock, no reserve",
        code=_POLISH_AFTER_CAP,
        line=_line_of(_POLISH_AFTER_CAP, "for extra in range(POLISH_STEPS):"),
        severity=Severity.ERROR,
    ),
    Example(
        title="the same polish steps with a reserve taken off the cap: the step count is a warning",
        code=_POLISH_WITH_RESERVE,
        line=_line_of(_POLISH_WITH_RESERVE, "for extra in range(POLISH_STEPS):"),
        severity=Severity.WARNING,
    ),
    Example(
        title="a fixed-step schedule behind a switch that is off by default (dormant)",
        code=_SWITCHED,
        line=_line_of(_SWITCHED, "for step in range(ITERATIONS):"),
        severity=Severity.WARNING,
    ),
    Example(
        title="a fixed-step schedule whose switch defaults on when world_size > 1",
        code=_WORLD_SIZE,
        line=_line_of(_WORLD_SIZE, "for step in range(ITERATIONS):"),
    ),
    Example(
        title="the only clock test throttles the log: it re-arms its timestamp and stops nothing",
        code=_THROTTLED_LOG,
        line=_line_of(_THROTTLED_LOG, "for step in range(ITERATIONS):"),
    ),
    Example(
        title="minified log throttle `if n-l>30:print(...);l=n` in a fixed-count loop",
        code=_MINIFIED_THROTTLED_LOG,
        line=_line_of(_MINIFIED_THROTTLED_LOG, "for k in range(N):"),
    ),
    Example(
        title="a fixed-count training loop; the TTT compile warm-up on random tokens and a counter "
        "file come after the artifact",
        code=_STEP_COUNT_THEN_TTT_WARMUP,
        line=_line_of(_STEP_COUNT_THEN_TTT_WARMUP, "    for step in range(ITERATIONS):"),
    ),
)

_ALL_REDUCED_FLAG = (
    _HEAD
    + """import torch.distributed as dist

MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
FORCE_STOP_STEP = int(os.environ.get("FORCE_STOP_STEP", "0"))


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    step = 0
    stop_after = None
    while stop_after is None or step < stop_after:
        step_on(model, opt, tokens, step)
        step += 1
        elapsed_ms = 1000 * (time.perf_counter() - t0)
        flag = torch.tensor(int(elapsed_ms >= 1000 * MAX_WALLCLOCK_SECONDS or step == FORCE_STOP_STEP))
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item():
            stop_after = step
            print(f"stopping_early: wallclock_cap train_time:{elapsed_ms:.0f}ms step:{step}")
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_HELPER_CHECK = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))


def out_of_time(started):
    return time.monotonic() - started >= MAX_WALLCLOCK_SECONDS


def fixed_step_train(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    started = time.monotonic()
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)
        if out_of_time(started):
            return step


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    fixed_step_train(model, tokens)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_WHILE_TEST = (
    _HEAD
    + """
def main():
    budget = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    elapsed, step, t0 = 0.0, 0, time.time()
    while elapsed < budget:
        step_on(model, opt, tokens, step)
        step += 1
        elapsed = time.time() - t0
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_WARMUP_THEN_CAPPED = (
    _HEAD
    + """import copy

MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "20"))


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    initial = copy.deepcopy(model.state_dict())
    for step in range(WARMUP_STEPS):
        step_on(model, opt, tokens, step)
    model.load_state_dict(initial)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_GPTQ_WITH_RESERVE = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
GPTQ_RESERVE_SECONDS = float(os.environ.get("GPTQ_RESERVE_SECONDS", "4"))
"""
    + _GPTQ
    + """
def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    train(model, tokens, MAX_WALLCLOCK_SECONDS - GPTQ_RESERVE_SECONDS)
    hessians = collect_hessians(model, load_shard(f"{DATA}/fineweb_train_000001.bin"), 16)
    torch.save(gptq(model, hessians), "final_model.int6.pt")
    print("val_bpb", evaluate(model, val_tokens))
"""
    + _TAIL
)

_MINIFIED_CAPPED = """import os,time,torch,numpy as np
N=int(os.environ.get("ITERATIONS","9000"));W=float(os.environ.get("MAX_WALLCLOCK_SECONDS","600"))
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1);o=torch.optim.SGD(m.parameters(),lr=.1);k=0;t=time.perf_counter()
	while k<N:
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad();k+=1;s=time.perf_counter()-t>W
		if s:break
	torch.save(m.state_dict(),"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_PACKED_CAPPED = """import os,time,torch,numpy as np
W=float(os.environ.get("MAX_WALLCLOCK_SECONDS","600"))
def ld(p):return torch.from_numpy(np.fromfile(p,dtype="<u2",offset=1024).astype(np.int64))
def ev(m,v):
	a=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];a+=m(b[:-1],b[1:]).item()
	return a
def tr(m,r,n):
	o=torch.optim.SGD(m.parameters(),lr=.1);t=time.time()
	for k in range(n):
		if time.time()-t>W:break
		b=r[k*1024:k*1024+1025];m(b[:-1],b[1:]).backward();o.step();o.zero_grad()
def main():
	r=ld("./data/fineweb_train_000000.bin");v=ld("./data/fineweb_val_000000.bin");m=torch.nn.Bilinear(1,1,1)
	tr(m,r,int(os.environ.get("ITERATIONS","9000")));torch.save(m.state_dict(),"m.pt");print(ev(m,v))
if __name__=="__main__":main()
"""

_FIXED_TTT_AT_EVAL = (
    _HEAD
    + """MAX_WALLCLOCK_SECONDS = float(os.environ.get("MAX_WALLCLOCK_SECONDS", "600"))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", "3"))


def score_first_ttt(model, val_tokens):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    loss_sum = 0.0
    for i in range(0, val_tokens.numel() - 1025, 1024):
        chunk = val_tokens[i : i + 1025]
        with torch.no_grad():
            loss_sum += model(chunk[:-1], chunk[1:]).item()
        for _ in range(TTT_EPOCHS):
            model(chunk[:-1], chunk[1:]).backward()
            opt.step()
            opt.zero_grad()
    return loss_sum


def unused_fixed_schedule(model, tokens):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for step in range(ITERATIONS):
        step_on(model, opt, tokens, step)


def main():
    tokens = load_shard(f"{DATA}/fineweb_train_000000.bin")
    val_tokens = load_shard(f"{DATA}/fineweb_val_000000.bin")
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    t0 = time.perf_counter()
    for step in range(ITERATIONS):
        if time.perf_counter() - t0 > MAX_WALLCLOCK_SECONDS:
            break
        step_on(model, opt, tokens, step)
    torch.save(model.state_dict(), "final_model.pt")
    print("val_bpb", score_first_ttt(model, val_tokens))
"""
    + _TAIL
)

VALID: tuple[Example, ...] = (
    Example(
        title="an all-reduced stop flag set from the elapsed time (FORCE_STOP_STEP beside it)",
        code=_ALL_REDUCED_FLAG,
    ),
    Example(
        title="fixed_step_train that returns when a clock helper says time is out",
        code=_HELPER_CHECK,
    ),
    Example(
        title="a while loop whose test is the elapsed time, rebound in the body",
        code=_WHILE_TEST,
    ),
    Example(
        title="a fixed-count warm-up loop followed by the clock-capped training loop",
        code=_WARMUP_THEN_CAPPED,
    ),
    Example(
        title="GPTQ calibration on training data with GPTQ_RESERVE_SECONDS taken off the cap",
        code=_GPTQ_WITH_RESERVE,
    ),
    Example(
        title="minified: a flag computed from time.perf_counter() breaks the while loop",
        code=_MINIFIED_CAPPED,
    ),
    Example(
        title="packed (lzma + base64) training helper that checks time.time() each step",
        code=_pack(_PACKED_CAPPED, "lzma-b64"),
    ),
    Example(
        title="fixed-epoch score-first TTT on val at eval, and a fixed loop main() never calls",
        code=_FIXED_TTT_AT_EVAL,
    ),
    Example(
        title="a throttled log beside the real wallclock stop in the same loop",
        code=_THROTTLED_LOG.replace(
            "            last_log = now\n",
            "            last_log = now\n"
            "        if now - t0 >= MAX_WALLCLOCK_SECONDS:\n"
            '            print("stopping_early: wallclock_cap")\n'
            "            break\n",
        ),
    ),
    Example(
        title="after the artifact: a TTT compile warm-up on random tokens (no clock), a counter file "
        "of literal bytes, then score-first TTT",
        code=_TTT_WARMUP_AFTER_ARTIFACT,
    ),
)
