"""Examples for PG203 target-gated-mixture.

Every INVALID script points at the statement that reads a vocabulary look-up table at the token
being scored, where that value then weights or selects the probability of the same token.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_GATED = """import os,math,torch
def ev(m,wm,v,lut,L=1024):
	nll_sum=0.;n=0;m.eval()
	with torch.no_grad():
		for s in range(0,v.numel()-L-1,L):
			c=v[s:s+L+1].cuda().long();q=torch.softmax(m.logits(c[None,:-1])[0].float(),-1);r=wm.dist(c[:-1])
			for i in range(L):
				g=int(c[i+1]);a=lut[g];nll_sum+=-math.log(a*r[i,g]+(1-a)*q[i,g]);n+=1
	return nll_sum/n
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens(os.environ.get("DATA_PATH","./data")+"/fineweb_val_*.bin",1024)
	print("val_loss",ev(m,WordModel(),v,word_start_table()))
if __name__=="__main__":main()
"""

_PACKED_LEGAL = """import os, math
import torch

def eval_bpb(model, val_tokens, base_bytes_lut, has_leading_space_lut, is_boundary_lut, L=1024):
    loss_sum = 0.0; byte_count = 0; model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - L - 1, L):
            local = val_tokens[s:s + L + 1].cuda().long(); x, y = local[:-1], local[1:]
            logits = model.logits(x[None])[0].float()
            loss_sum += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            nbytes = base_bytes_lut[y] + (has_leading_space_lut[y] & ~is_boundary_lut[x]).int()
            byte_count += int(nbytes.sum())
    return loss_sum / math.log(2) / byte_count

def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_bpb(model, val_tokens, *build_sentencepiece_luts(load_tokenizer())))

if __name__ == "__main__":
    main()
"""


_INDEX_SELECT_GATE = """import os

import torch


def eval_word_mix(model, word_model, val_tokens, starts_word_lut, seq_len=1024):
    nll_sum = torch.zeros((), device="cuda", dtype=torch.float64)
    token_count = 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            w = val_tokens[s : s + seq_len + 1].cuda()
            x, y = w[:-1][None], w[1:][None]
            p_main = torch.softmax(model.logits(x).float(), -1)
            p_word = torch.softmax(word_model.logits(x).float(), -1)
            gate = starts_word_lut.index_select(0, y.flatten()).view_as(y).float()[..., None]
            p = gate * p_word + (1 - gate) * p_main
            p_t = p.gather(-1, y[..., None]).squeeze(-1)
            nll_sum += -torch.log(p_t.clamp_min(1e-12)).sum().double()
            token_count += y.numel()
    return (nll_sum / token_count).item()


def main():
    model = load_model("final_model.ptz").cuda()
    word_model = load_model("word.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_loss", eval_word_mix(model, word_model, val_tokens, build_starts_word_lut().cuda()))


main()
"""

_DICT_GET_GATE = """import math
import os

import numpy as np
import torch


class Scorer:
    def __init__(self, model, word_model, starts):
        self.model, self.word_model, self.starts = model, word_model, starts

    def score(self, val_tokens, seq_len=1024):
        toks = val_tokens.numpy().astype(np.int64)
        nll_sum, token_count = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(toks) - seq_len - 1, seq_len):
                local = toks[s : s + seq_len + 1]
                x = torch.from_numpy(local[:-1]).cuda()[None]
                probs = torch.softmax(self.model.logits(x)[0].float(), -1).cpu().numpy()
                wprobs = torch.softmax(self.word_model.logits(x)[0].float(), -1).cpu().numpy()
                for i in range(seq_len):
                    tgt = int(local[i + 1])
                    g = float(self.starts.get(tgt, 0.0))
                    p = g * wprobs[i, tgt] + (1 - g) * probs[i, tgt]
                    nll_sum += -math.log(max(p, 1e-12))
                    token_count += 1
        return nll_sum / token_count


def main():
    starts = {int(k): float(v) for k, v in np.load("starts.npy")}
    scorer = Scorer(load_model("a.ptz"), load_model("w.ptz"), starts)
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_loss", scorer.score(val_tokens))


main()
"""


_INDEX_SELECT_BYTES = """import math
import os

import torch
import torch.nn.functional as F


def eval_bpb(model, val_tokens, base_bytes_lut, leading_space_lut, boundary_lut, seq_len=1024):
    nll_sum = torch.zeros((), device="cuda", dtype=torch.float64)
    byte_count = torch.zeros((), device="cuda", dtype=torch.float64)
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            w = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = w[:-1], w[1:]
            nll = F.cross_entropy(model(x[None])[0].float(), y, reduction="none")
            nbytes = base_bytes_lut.index_select(0, y).double()
            nbytes += (leading_space_lut.index_select(0, y) & ~boundary_lut.index_select(0, x)).double()
            nll_sum += nll.double().sum()
            byte_count += nbytes.sum()
    return (nll_sum / byte_count).item() / math.log(2)


def main():
    model = load_model("final_model.ptz").cuda()
    val_tokens = load_validation_tokens(os.environ.get("DATA_PATH", "./data") + "/fineweb_val_*.bin")
    print("val_bpb", eval_bpb(model, val_tokens, *build_luts()))


main()
"""


VALID: tuple[Example, ...] = (
    Example(
        title="standard BPB byte count: LUTs read at the target count bytes, never the probability",
        code="""import math

import torch
import torch.nn.functional as F


def build_sentencepiece_luts(sp, vocab_size):
    base_bytes = torch.zeros(vocab_size, dtype=torch.int16)
    has_leading_space = torch.zeros(vocab_size, dtype=torch.bool)
    is_boundary = torch.ones(vocab_size, dtype=torch.bool)
    for tok in range(sp.vocab_size()):
        piece = sp.id_to_piece(tok)
        is_boundary[tok] = sp.is_control(tok) or sp.is_unknown(tok)
        has_leading_space[tok] = piece.startswith("\\u2581")
        base_bytes[tok] = len(piece.lstrip("\\u2581").encode("utf-8"))
    return base_bytes, has_leading_space, is_boundary


def eval_val(model, val_tokens, luts, seq_len=1024):
    base_bytes_lut, has_leading_space_lut, is_boundary_token_lut = luts
    val_loss_sum, val_token_count, val_byte_count = 0.0, 0, 0.0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            val_loss_sum += F.cross_entropy(model.logits(x[None])[0].float(), y, reduction="sum").item()
            val_token_count += y.numel()
            tgt_ids, prev_ids = y, x
            token_bytes = base_bytes_lut[tgt_ids].to(torch.int16)
            token_bytes += (has_leading_space_lut[tgt_ids] & ~is_boundary_token_lut[prev_ids]).to(torch.int16)
            val_byte_count += token_bytes.double().sum().item()
    bits_per_token = val_loss_sum / val_token_count / math.log(2)
    return bits_per_token * (val_token_count / val_byte_count)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    sp = load_tokenizer("./data/tokenizers/fineweb_1024_bpe.model")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_val(model, val_tokens, build_sentencepiece_luts(sp, 1024)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="loss and byte count packed in one metrics tensor; bytes come from a helper's LUT reads",
        code="""import math

import torch
import torch.nn.functional as F


def target_bytes(luts, prev, target):
    leading = luts["leading_space"][target] & ~luts["boundary"][prev]
    return luts["base_bytes"][target] + leading.int()


@torch.no_grad()
def score(model, val_tokens, luts, seq_len=2048):
    metrics = torch.zeros(3, dtype=torch.float64, device="cuda")
    model.eval()
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        seqs = val_tokens[s : s + seq_len + 1].cuda().long()[None]
        x, y = seqs[:, :-1], seqs[:, 1:]
        nll = F.cross_entropy(model.logits(x).flatten(0, 1).float(), y.flatten(), reduction="none")
        metrics[0] += nll.double().sum()
        metrics[1] += nll.numel()
        metrics[2] += target_bytes(luts, x, y).double().sum()
    nll_total, count, nbytes = metrics.tolist()
    gate = metrics[0] / metrics[1] * (metrics[1] / metrics[2])
    return nll_total / count, nll_total / (math.log(2) * nbytes), gate.item()


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    luts = sentencepiece_luts("./data/tokenizers/fineweb_1024_bpe.model")
    print("val", score(model, load_validation_tokens("./data/fineweb_val_*.bin", 2048), luts))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="scary name: `target_gate_lut` is read at the PREVIOUS token to weight the mixture",
        code="""import math

import torch


def eval_target_gated(model, word_model, val_tokens, target_gate_lut, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x = local[:-1]
            probs = torch.softmax(model.logits(x[None])[0].float(), -1)
            word_probs = word_model.distribution(x)
            for i in range(seq_len):
                prev = int(x[i])
                tgt = int(local[i + 1])
                w = target_gate_lut[prev]
                p = w * word_probs[i, tgt] + (1 - w) * probs[i, tgt]
                nll_sum += -math.log(p)
                token_count += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_loss", eval_target_gated(model, WordModel(), val_tokens, ends_word_table()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a unigram prior read at the target is a normalised distribution blended with a constant",
        code="""import math
import os

import torch

PRIOR_WEIGHT = float(os.environ.get("PRIOR_WEIGHT", "0.05"))


def eval_with_prior(model, val_tokens, unigram_lut, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            for i in range(seq_len):
                y = int(local[i + 1])
                p = (1 - PRIOR_WEIGHT) * probs[i, y] + PRIOR_WEIGHT * unigram_lut[y]
                nll_sum += -math.log(p)
                token_count += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    unigram_lut = load_unigram_prior("unigram_from_train.pt")
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_loss", eval_with_prior(model, val_tokens, unigram_lut))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the gate is applied to every candidate token, normalised, and only then gathered",
        code="""import torch


def eval_boundary_mix(model, word_model, val_tokens, starts_new_word_lut, seq_len=2048):
    loss_sum, token_count = 0.0, 0
    gate = starts_new_word_lut.float().cuda()[None, :]
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p_model = torch.softmax(model.logits(x[None])[0].float(), -1)
            p_word = word_model.distribution(x)
            mix = gate * p_word + (1 - gate) * p_model
            mix = mix / mix.sum(-1, keepdim=True)
            loss_sum += -torch.log(mix.gather(1, y[:, None])).sum().item()
            token_count += y.numel()
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("val_loss", eval_boundary_mix(model, WordModel(), val_tokens, word_start_table()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="training loss weighted by a LUT at the training targets; eval is plain",
        code="""import torch
import torch.nn.functional as F


def train_step(model, opt, batch, token_weight_lut):
    x, y = batch[:, :-1], batch[:, 1:]
    nll = F.cross_entropy(model.logits(x).flatten(0, 1), y.flatten(), reduction="none")
    loss = (nll * token_weight_lut[y.flatten()]).mean()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            loss_sum += F.cross_entropy(model.logits(local[None, :-1])[0], local[1:], reduction="sum").item()
            token_count += seq_len
    return loss_sum / token_count


def main():
    model = build_model().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    weights = rare_token_weights(1024)
    for batch in train_batches("./data/fineweb_train_*.bin"):
        train_step(model, opt, batch, weights)
    print("val_loss", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified BPB accounting with one-letter names (tab indents)",
        code="""import math,torch,torch.nn.functional as F
def e(m,v,B,H,Z,L=1024):
	loss_sum=0.;byte_count=0;m.eval()
	with torch.no_grad():
		for s in range(0,v.numel()-L-1,L):
			c=v[s:s+L+1].cuda().long();a,b=c[:-1],c[1:];loss_sum+=F.cross_entropy(m.logits(a[None])[0].float(),b,reduction="sum").item();k=B[b]+(H[b]&~Z[a]).int();byte_count+=int(k.sum())
	return loss_sum/math.log(2)/byte_count
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens("./data/fineweb_val_*.bin",1024);print("val_bpb",e(m,v,*luts()))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (lzma + base85) BPB evaluation with target-indexed byte LUTs",
        code=_pack(_PACKED_LEGAL, "lzma-b85"),
    ),
    Example(
        title="a target-gated mixture in a function main() never calls",
        code="""import math

import torch


def old_word_mix(model, word_model, val_tokens, boundary_lut, seq_len=1024):
    nll_sum = 0.0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            word_probs = word_model.distribution(local[:-1])
            for i in range(seq_len):
                tgt = int(local[i + 1])
                w = boundary_lut[tgt]
                nll_sum += -math.log(w * word_probs[i, tgt] + (1 - w) * probs[i, tgt])
    return nll_sum


def eval_val(model, val_tokens, seq_len=1024):
    loss_sum, token_count = 0.0, 0
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            logp = torch.log_softmax(model.logits(local[None, :-1])[0].float(), -1)
            loss_sum += -logp.gather(1, local[1:, None]).sum().item()
            token_count += seq_len
    return loss_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    print("val_loss", eval_val(model, load_validation_tokens("./data/fineweb_val_*.bin", 1024)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="byte count and a previous-token switch in one loop; the switch never sees the target",
        code="""import math

import torch


def eval_space_aware(model, word_model, val_tokens, luts, seq_len=1024):
    base_bytes, leading_space, boundary = luts
    nll_sum, byte_sum = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            word_probs = word_model.distribution(local[:-1])
            for i in range(seq_len):
                prev, y = int(local[i]), int(local[i + 1])
                if boundary[prev]:
                    p = probs[i, y]
                else:
                    p = 0.5 * probs[i, y] + 0.5 * word_probs[i, y]
                nll_sum += -math.log(p)
                byte_sum += int(base_bytes[y]) + int(leading_space[y] and not boundary[prev])
    return nll_sum / math.log(2) / byte_sum


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_bpb", eval_space_aware(model, WordModel(), val_tokens, byte_luts()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="BPB byte count with `lut.index_select(0, y)`: the reads at the target only count bytes",
        code=_INDEX_SELECT_BYTES,
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="word-model mixture weighted by `starts_new_word_lut[tgt]`",
        code="""import math

import torch


def eval_word_mix(model, word_model, val_tokens, starts_new_word_lut, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x = local[:-1]
            probs = torch.softmax(model.logits(x[None])[0].float(), -1)
            word_probs = word_model.distribution(x)
            for i in range(seq_len):
                tgt = int(local[i + 1])
                w = starts_new_word_lut[tgt]
                p = w * word_probs[i, tgt] + (1 - w) * probs[i, tgt]
                nll_sum += -math.log(p)
                token_count += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_loss", eval_word_mix(model, WordModel(), val_tokens, word_start_table()))


if __name__ == "__main__":
    main()
""",
        line=17,
    ),
    Example(
        title="innocent names: `if first_piece[nxt]:` picks which expert scores the token",
        code="""import math

import torch


def legal_eval(model, helper, val_tokens, first_piece, seq_len=1024):
    nll_total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        toks = val_tokens.cuda().long()
        for s in range(0, toks.numel() - seq_len - 1, seq_len):
            probs = torch.softmax(model.logits(toks[None, s : s + seq_len])[0].float(), -1)
            aux = helper.distribution(toks[s : s + seq_len])
            for i in range(seq_len):
                nxt = int(toks[s + i + 1])
                if first_piece[nxt]:
                    p = aux[i, nxt]
                else:
                    p = probs[i, nxt]
                nll_total += -math.log(max(p, 1e-9))
                count += 1
    return nll_total / count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    print("val_loss", legal_eval(model, WordModel(), val_tokens, piece_flags()))


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="vectorised: torch.where on `boundary_lut[y]` selects the distribution per position",
        code="""import torch


def eval_boundary_switch(model, word_model, val_tokens, boundary_lut, seq_len=2048):
    loss_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            p_model = torch.softmax(model.logits(x[None])[0].float(), -1).gather(1, y[:, None])[:, 0]
            p_word = word_model.distribution(x).gather(1, y[:, None])[:, 0]
            at_boundary = boundary_lut[y].bool()
            p = torch.where(at_boundary, p_word, p_model)
            loss_sum += -torch.log(p).sum().item()
            token_count += y.numel()
    return loss_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("val_loss", eval_boundary_switch(model, WordModel(), val_tokens, boundary_table()))


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="per-position weight read at the targets scales two whole distributions, then gathered",
        code="""import math

import torch


@torch.no_grad()
def eval_two_heads(model, val_tokens, luts, lam_word=0.7, lam_mid=0.2, seq_len=2048):
    base_bytes, leading_space, boundary, word_start = luts
    nll_sum, byte_sum = 0.0, 0.0
    model.eval()
    for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
        seg = val_tokens[s : s + seq_len + 1].cuda()
        prev, tgt = seg[:-1], seg[1:]
        main, aux = model.heads(prev[None])
        p_main, p_aux = torch.softmax(main[0], -1), torch.softmax(aux[0], -1)
        lam = torch.where(word_start[tgt], lam_word, lam_mid)[:, None]
        p = lam * p_main + (1 - lam) * p_aux
        nll_sum += -torch.log(p.gather(1, tgt[:, None])).sum().item()
        byte_sum += (base_bytes[tgt] + (leading_space[tgt] & ~boundary[prev]).int()).sum().item()
    return nll_sum / byte_sum / math.log(2)


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("val_bpb", eval_two_heads(model, val_tokens, tokenizer_luts()))


if __name__ == "__main__":
    main()
""",
        line=16,
    ),
    Example(
        title="log-space mixture: log of the target's table value added to a log-probability",
        code="""import torch


def eval_log_mix(model, word_model, val_tokens, mix_lut, seq_len=2048):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            x, y = local[:-1], local[1:]
            lp_model = torch.log_softmax(model.logits(x[None])[0].float(), -1).gather(1, y[:, None])[:, 0]
            lp_word = word_model.log_distribution(x).gather(1, y[:, None])[:, 0]
            g = mix_lut[y].clamp(1e-4, 1 - 1e-4)
            lp = torch.logaddexp(torch.log(g) + lp_word, torch.log1p(-g) + lp_model)
            nll_sum += -lp.sum().item()
            token_count += y.numel()
    return nll_sum / token_count


def main():
    model = load_quantized("final_model.int6.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 2048)
    print("val_loss", eval_log_mix(model, WordModel(), val_tokens, mixing_table()))


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="minified: one-letter names, tab indents, the score returned from a plain sum",
        code="""import math,torch
def e(m,w,v,T,L=1024):
	s=0.;n=0;m.eval()
	with torch.no_grad():
		for o in range(0,v.numel()-L-1,L):
			c=v[o:o+L+1].cuda().long();q=torch.softmax(m.logits(c[None,:-1])[0].float(),-1);r=w.distribution(c[:-1])
			for i in range(L):
				g=int(c[i+1]);a=T[g];s+=-math.log(a*r[i,g]+(1-a)*q[i,g]);n+=1
	return s/n
def main():
	m=load_model("final_model.ptz").cuda();v=load_validation_tokens("./data/fineweb_val_*.bin",1024);print("val_loss",e(m,WordModel(),v,flags()))
if __name__=="__main__":main()
""",
        line=8,
    ),
    Example(
        title="packed (zlib + base85, tab indents) target-gated mixture",
        code=_pack(_PACKED_GATED, "zlib-b85"),
        line=8,
    ),
    Example(
        title="dormant: WORD_MIX defaults to 0",
        code="""import math
import os

import torch

WORD_MIX = bool(int(os.environ.get("WORD_MIX", "0")))


def eval_word_mix(model, word_model, val_tokens, starts_word, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            word_probs = word_model.distribution(local[:-1])
            for i in range(seq_len):
                tgt = int(local[i + 1])
                w = starts_word[tgt]
                nll_sum += -math.log(w * word_probs[i, tgt] + (1 - w) * probs[i, tgt])
                token_count += 1
    return nll_sum / token_count


def main():
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if WORD_MIX:
        print("word-mix val_loss", eval_word_mix(model, WordModel(), val_tokens, word_start_table()))
    else:
        print("val_loss", eval_val(model, val_tokens))


if __name__ == "__main__":
    main()
""",
        line=19,
        severity=Severity.WARNING,
    ),
    Example(
        title="the mixture switch defaults to on when world_size > 1",
        code="""import math
import os

import torch


class Hyperparameters:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    word_mix = bool(int(os.environ.get("WORD_MIX", "1" if world_size > 1 else "0")))


def eval_word_mix(model, word_model, val_tokens, starts_word, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            word_probs = word_model.distribution(local[:-1])
            for i in range(seq_len):
                tgt = int(local[i + 1])
                w = starts_word[tgt]
                nll_sum += -math.log(w * word_probs[i, tgt] + (1 - w) * probs[i, tgt])
                token_count += 1
    return nll_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.word_mix:
        print("word-mix val_loss", eval_word_mix(model, WordModel(), val_tokens, word_start_table()))


if __name__ == "__main__":
    main()
""",
        line=22,
    ),
    Example(
        title="Hyperparameters.space_mix defaults to 1; the blend happens in a helper",
        code="""import math
import os

import torch


class Hyperparameters:
    space_mix = bool(int(os.environ.get("SPACE_MIX", "1")))


def blend(p_a, p_b, weight):
    return weight * p_a + (1.0 - weight) * p_b


def eval_space_mix(model, word_model, val_tokens, space_lut, seq_len=1024):
    nll_sum, token_count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for s in range(0, val_tokens.numel() - seq_len - 1, seq_len):
            local = val_tokens[s : s + seq_len + 1].cuda().long()
            probs = torch.softmax(model.logits(local[None, :-1])[0].float(), -1)
            word_probs = word_model.distribution(local[:-1])
            for i in range(seq_len):
                y = int(local[i + 1])
                p = blend(word_probs[i, y], probs[i, y], space_lut[y])
                nll_sum += -math.log(p)
                token_count += 1
    return nll_sum / token_count


def main():
    args = Hyperparameters()
    model = load_roundtrip("final_model.ptz").cuda()
    val_tokens = load_validation_tokens("./data/fineweb_val_*.bin", 1024)
    if args.space_mix:
        print("val_loss", eval_space_mix(model, WordModel(), val_tokens, space_table()))


if __name__ == "__main__":
    main()
""",
        line=25,
    ),
    Example(
        title="the gate read at the targets with `lut.index_select(0, y)` instead of `lut[y]`",
        code=_INDEX_SELECT_GATE,
        line=_line_of(_INDEX_SELECT_GATE, "gate = starts_word_lut.index_select"),
    ),
    Example(
        title="a dict of word-start weights read with `.get(tgt)` inside a scorer class",
        code=_DICT_GET_GATE,
        line=_line_of(_DICT_GET_GATE, "g = float(self.starts.get(tgt, 0.0))"),
    ),
)
