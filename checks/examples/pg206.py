"""Examples for PG206 document-shift-without-bos-mask.

Every INVALID script points at the statement that adds a hidden state's previous position to
the current one with nothing that stops the shift at BOS positions.
"""

from __future__ import annotations

from checks.examples import _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_SMEAR = """import torch
from torch import nn
class Smear(nn.Module):
	def __init__(self,d):
		super().__init__();self.w=nn.Parameter(torch.zeros(d))
	def forward(self,x):
		g=torch.sigmoid(self.w)[None,None,:];p=torch.cat([torch.zeros_like(x[:,:1]),x[:,:-1]],1)
		return (1-g)*x+g*p
class M(nn.Module):
	def __init__(self,V=1024,d=512):
		super().__init__();self.e=nn.Embedding(V,d);self.s=Smear(d);self.h=nn.Linear(d,V,bias=False)
	def forward(self,i):return self.h(self.s(self.e(i)))
def main():
	m=M().cuda();train(m,"./data/fineweb_train_*.bin")
if __name__=="__main__":main()
"""

_PACKED_MASKED = """import torch
from torch import nn

BOS_ID = 1

class GPT(nn.Module):
    def __init__(self, vocab=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.smear = nn.Parameter(torch.zeros(dim))
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        x = self.emb(ids)
        g = torch.sigmoid(self.smear)[None, None, :]
        keep = (ids[:, 1:] != BOS_ID).unsqueeze(-1).to(x.dtype)
        x = torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1] * keep], dim=1)
        return self.head(x)

def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")

if __name__ == "__main__":
    main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="the gate itself is zeroed at BOS (masked_fill) before it scales the shifted term",
        code="""import torch
from torch import nn


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512, window=12):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.smear_gate = nn.Linear(window, 1, bias=False)
        self.smear_lambda = nn.Parameter(torch.zeros(1))
        self.window = window
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, input_ids):
        x = self.tok_emb(input_ids)
        lam = self.smear_lambda.to(dtype=x.dtype)
        g = lam * torch.sigmoid(self.smear_gate(x[:, 1:, : self.window].contiguous()))
        starts = (input_ids[:, 1:] == 1).unsqueeze(-1)
        g = g.masked_fill(starts, 0.0)
        x = torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
        return self.lm_head(x)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the fix from #1851: the shifted term is multiplied by `input_ids[:, 1:] != BOS_ID`",
        code="""import torch
from torch import nn

BOS_ID = 1


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.smear_gate = nn.Linear(12, 1, bias=False)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, input_ids):
        x = self.tok_emb(input_ids)
        gate = torch.sigmoid(self.smear_gate(x[:, 1:, :12]))
        not_bos = (input_ids[:, 1:] != BOS_ID).unsqueeze(-1).to(x.dtype)
        x = torch.cat([x[:, :1], x[:, 1:] + gate * x[:, :-1] * not_bos], dim=1)
        return self.lm_head(x)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a SmearGate module that builds its own BOS mask from the token ids it is given",
        code="""import torch
import torch.nn.functional as F
from torch import nn


class SmearGate(nn.Module):
    def __init__(self, dim, bos_id=1):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(dim))
        self.bos_id = bos_id

    def forward(self, x, ids):
        prev = F.pad(x[:, :-1], (0, 0, 1, 0))
        starts_doc = (ids == self.bos_id).unsqueeze(-1)
        prev = prev.masked_fill(starts_doc, 0.0)
        g = torch.sigmoid(self.gate)[None, None, :]
        return (1 - g) * x + g * prev


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear = SmearGate(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        return self.head(self.smear(self.emb(ids), ids))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="reset at document boundaries: the shift is kept only where both positions share a doc id",
        code="""import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.mix = nn.Parameter(torch.full((dim,), 0.1))
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, h, doc_ids):
        same_doc = (doc_ids[:, 1:] == doc_ids[:, :-1]).unsqueeze(-1)
        shifted = h[:, :-1] * same_doc
        h = torch.cat([h[:, :1], h[:, 1:] + self.mix * shifted], dim=1)
        return h + self.mlp(h)


class Model(nn.Module):
    def __init__(self, vocab_size=1024, dim=384, depth=6):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])

    def forward(self, ids, doc_ids):
        h = self.emb(ids)
        for block in self.blocks:
            h = block(h, doc_ids)
        return h


def main():
    model = Model().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="BigramHash and bigram-id embeddings combine the current and previous token ids",
        code="""import torch
from torch import nn


class BigramHashEmbedding(nn.Module):
    def __init__(self, buckets=10240, dim=128, vocab_size=1024):
        super().__init__()
        self.buckets = buckets
        self.vocab_size = vocab_size
        self.hashed = nn.Embedding(buckets, dim)
        self.pairs = nn.Embedding(vocab_size * vocab_size, dim)

    def forward(self, t):
        h = torch.full_like(t, self.buckets - 1)
        h[:, 1:] = ((t[:, 1:] * 36313) ^ (t[:, :-1] * 27191)) % (self.buckets - 1)
        pair = torch.zeros_like(t)
        pair[:, 1:] = t[:, 1:] * 1024 + t[:, :-1]
        return self.hashed(h) + self.pairs(pair)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, dim)
        self.bigram = BigramHashEmbedding()
        self.up = nn.Linear(128, dim, bias=False)

    def forward(self, t):
        return self.tok(t) + self.up(self.bigram(t))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="input/target split, document lengths and a position difference are not mixing",
        code="""import torch
import torch.nn.functional as F
from torch import nn


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, seqs, cu_seqlens):
        x, y = seqs[:, :-1], seqs[:, 1:]
        doc_lens = cu_seqlens[:, 1:] - cu_seqlens[:, :-1]
        h = self.emb(x)
        velocity = h[:, 1:] - h[:, :-1]
        logits = self.head(h)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        return loss + 0.0 * velocity.pow(2).mean() + 0.0 * doc_lens.float().mean()


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="scary name: `leaky_smear` rolls the sequence but zeroes BOS positions with torch.where",
        code="""import torch
from torch import nn

BOS = 1


class LeakySmear(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(dim))

    def forward(self, x, tokens):
        leaky_smear = torch.roll(x, shifts=1, dims=1)
        at_bos = (tokens == BOS)[..., None]
        leaky_smear = torch.where(at_bos, torch.zeros_like(leaky_smear), leaky_smear)
        return x + self.alpha.tanh() * leaky_smear


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear = LeakySmear(dim)

    def forward(self, tokens):
        return self.smear(self.emb(tokens), tokens)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified masked smear (one-letter names, tab indents)",
        code="""import torch as T
from torch import nn
class G(nn.Module):
	def __init__(s,V=1024,d=512):
		super().__init__();s.e=nn.Embedding(V,d);s.g=nn.Parameter(T.zeros(d));s.h=nn.Linear(d,V,bias=False)
	def forward(s,i):
		x=s.e(i);k=(i[:,1:]!=1)[...,None].float();x=T.cat([x[:,:1],x[:,1:]+s.g.sigmoid()*x[:,:-1]*k],1);return s.h(x)
def main():
	m=G().cuda();train(m,"./data/fineweb_train_*.bin")
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (lzma + base64) smear with a BOS mask",
        code=_pack(_PACKED_MASKED, "lzma-b64"),
    ),
    Example(
        title="an unmasked SmearGate class that nothing instantiates",
        code="""import torch
from torch import nn


class SmearGate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        g = torch.sigmoid(self.gate)[None, None, :]
        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        return self.head(self.emb(ids))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="in-place: `prev.masked_fill_` at document starts before the mix",
        code="""import torch
from torch import nn


class TokenShift(nn.Module):
    def __init__(self, dim, bos_id=1):
        super().__init__()
        self.mu = nn.Parameter(torch.full((dim,), 0.5))
        self.bos_id = bos_id

    def forward(self, x, ids):
        prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
        prev.masked_fill_(ids.eq(self.bos_id).unsqueeze(-1), 0.0)
        return torch.lerp(x, prev, self.mu)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.shift = TokenShift(dim)

    def forward(self, ids):
        return self.shift(self.emb(ids), ids)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="SmearGate: the previous hidden state is added at every position, BOS included",
        code="""import torch
from torch import nn


class SmearGate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        g = torch.sigmoid(self.gate)[None, None, :]
        return torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear = SmearGate(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        return self.head(self.smear(self.emb(ids)))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=12,
    ),
    Example(
        title="shifted copy built with cat + zeros, then blended as (1 - g) * x + g * prev",
        code="""import torch
from torch import nn


class PrevMix(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.logit = nn.Parameter(torch.full((dim,), -2.0))

    def forward(self, x):
        prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
        g = torch.sigmoid(self.logit)
        return (1 - g) * x + g * prev


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.prev_mix = PrevMix(dim)
        self.mlp = nn.Linear(dim, dim)

    def forward(self, x):
        return x + self.mlp(self.prev_mix(x))


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512, depth=4):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])

    def forward(self, ids):
        x = self.emb(ids)
        for block in self.blocks:
            x = block(x)
        return x


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="F.pad shift added in place inside the model's forward",
        code="""import torch
import torch.nn.functional as F
from torch import nn


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.lam = nn.Parameter(torch.tensor(0.1))
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, idx):
        h = self.emb(idx)
        prev = F.pad(h[:, :-1], (0, 0, 1, 0))
        h += self.lam * prev
        return self.head(h)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="roll + lerp: the wrapped first column is zeroed, document starts are not",
        code="""import torch
from torch import nn


class TimeShift(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.mu = nn.Parameter(torch.full((dim,), 0.5))

    def forward(self, x):
        prev = x.roll(1, dims=1)
        prev[:, 0] = 0
        return torch.lerp(x, prev, self.mu)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.shift = TimeShift(dim)

    def forward(self, ids):
        return self.shift(self.emb(ids))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="a tensor named `bos_mask` that is all ones, not derived from BOS ids",
        code="""import torch
from torch import nn


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear = nn.Parameter(torch.zeros(dim))
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, input_ids):
        x = self.emb(input_ids)
        bos_mask = torch.ones_like(x[:, 1:, :1])
        g = torch.sigmoid(self.smear)
        x = torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1] * bos_mask], dim=1)
        return self.head(x)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="minified smear (one-letter names, tab indents, `s` for self)",
        code="""import torch as T
from torch import nn
class G(nn.Module):
	def __init__(s,V=1024,d=512):
		super().__init__();s.e=nn.Embedding(V,d);s.g=nn.Parameter(T.zeros(d));s.h=nn.Linear(d,V,bias=False)
	def forward(s,i):
		x=s.e(i);x=T.cat([x[:,:1],x[:,1:]+s.g.sigmoid()*x[:,:-1]],1);return s.h(x)
def main():
	m=G().cuda();train(m,"./data/fineweb_train_*.bin")
if __name__=="__main__":main()
""",
        line=7,
    ),
    Example(
        title="packed (zlib + base64, tab indents) smear module",
        code=_pack(_PACKED_SMEAR, "zlib-b64"),
        line=8,
    ),
    Example(
        title="dormant: the smear module is built only when SMEAR_ENABLED (default 0) is set",
        code="""import os

import torch
from torch import nn

SMEAR_ENABLED = bool(int(os.environ.get("SMEAR_ENABLED", "0")))


class SmearGate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return torch.cat([x[:, :1], x[:, 1:] + torch.sigmoid(self.gate) * x[:, :-1]], dim=1)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear = SmearGate(dim) if SMEAR_ENABLED else nn.Identity()
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        return self.head(self.smear(self.emb(ids)))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=15,
        severity=Severity.WARNING,
    ),
    Example(
        title="the inline smear is on when WORLD_SIZE > 1 (the official 8-GPU run)",
        code="""import os

import torch
from torch import nn

WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))
SMEAR = bool(int(os.environ.get("SMEAR", "1" if WORLD_SIZE > 1 else "0")))


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.smear_w = nn.Parameter(torch.zeros(dim))
        self.head = nn.Linear(dim, vocab_size, bias=False)

    def forward(self, ids):
        x = self.emb(ids)
        if SMEAR:
            x = torch.cat([x[:, :1], x[:, 1:] + self.smear_w * x[:, :-1]], dim=1)
        return self.head(x)


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=20,
    ),
    Example(
        title="innocent helper `blend_prev(h, lam)`: the weight comes from the caller (low confidence)",
        code="""import torch
from torch import nn


def blend_prev(h, lam):
    return torch.cat([h[:, :1], h[:, 1:] + lam * h[:, :-1]], dim=1)


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.lam = nn.Parameter(torch.zeros(1, 1, dim))
        self.ff = nn.Linear(dim, dim)

    def forward(self, h):
        h = blend_prev(h, torch.sigmoid(self.lam))
        return h + self.ff(h)


class GPT(nn.Module):
    def __init__(self, vocab_size=1024, dim=512):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.block = Block(dim)

    def forward(self, ids):
        return self.block(self.emb(ids))


def main():
    model = GPT().cuda()
    train(model, "./data/fineweb_train_*.bin")


if __name__ == "__main__":
    main()
""",
        line=6,
    ),
)
