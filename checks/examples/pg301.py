"""Examples for PG301 code-outside-train-gpt.

These run on a single in-memory file, with no records folder to look into: a file the script
execs or runs is reported with its size unknown, a relative import likewise, and an absolute
import is never reported (without the folder it cannot be told from an installed package). The
folder behaviour (sizes, following, refusing paths outside the folder) is tested with real
folders in ``tests/checks/test_record_folder.py``. Every INVALID script points at the statement
that brings the outside code in; PG301 is a warning either way, and a sibling script run as a
separate process is accepted setup, a note.
"""

from __future__ import annotations

from checks.examples import _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_EXEC = """import os,torch
def main():
	exec(open("ttt_kernels.py").read());m=torch.load("final_model.pt");print(m)
if __name__=="__main__":main()
"""

_PACKED_CLEAN = """import os,torch
def main():
	m=torch.load("final_model.pt");print(open(__file__).read()[:80],m)
if __name__=="__main__":main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="exec of source text the script itself holds",
        code="""import torch

PATCH = "def scale(x):\\n    return 2 * x\\n"


def main():
    scope = {}
    exec(PATCH, scope)
    print(scope["scale"](torch.ones(2)))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the script reads its own code to log it (no exec)",
        code="""import torch


def main():
    code = open(__file__, encoding="utf-8").read()
    print(code)
    print(torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a tokenizer model file shipped beside the script is data, not code",
        code="""import sentencepiece as spm


def main():
    sp = spm.SentencePieceProcessor(model_file="./fineweb_1024_bpe.model")
    with open("fineweb_1024_bpe.vocab", encoding="utf-8") as f:
        vocab = f.read()
    print(sp.vocab_size(), len(vocab))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="absolute imports of installed packages",
        code="""import numpy as np
import sentencepiece as spm
import torch
from torch import nn
from flash_attn_interface import flash_attn_func


def main():
    print(np.__version__, spm.__name__, nn.Linear(2, 2), flash_attn_func, torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="exec of a helper file in a function main() never calls",
        code="""import torch


def load_experimental_kernels():
    exec(open("experimental_kernels.py").read())


def main():
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="the artifact and the log are read and written, no code",
        code="""import torch


def main():
    with open("final_model.int8.ptz", "rb") as f:
        blob = f.read()
    with open("train.log", "a", encoding="utf-8") as log:
        log.write(f"artifact bytes {len(blob)}\\n")
    print(torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="subprocess runs nvidia-smi, not a script",
        code="""import subprocess

import torch


def main():
    print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout)
    print(torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified script that compiles its own code string",
        code="""import torch
S="def f(x):return x+1"
def main():
	g={};exec(compile(S,"<inline>","exec"),g);print(g["f"](torch.ones(1)))
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (zlib + base85) script that reads only its own code",
        code=_pack(_PACKED_CLEAN, "zlib-b85"),
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="exec(open(...).read()) of a helper file at the top of the script",
        code="""import os

import torch

exec(open("helpers.py").read())


def main():
    model = torch.load("final_model.pt")
    print(model)


if __name__ == "__main__":
    main()
""",
        line=5,
    ),
    Example(
        title="exec of Path(...).read_text() inside main()",
        code="""from pathlib import Path

import torch


def main():
    exec(Path("ttt_impl.py").read_text(encoding="utf-8"))
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=7,
    ),
    Example(
        title="exec(compile(...)) of a file joined to the script's directory",
        code="""import os

import torch


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    exec(compile(open(os.path.join(here, "eval_utils.py")).read(), "eval_utils.py", "exec"))
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=8,
    ),
    Example(
        title="a file opened in a with block and exec'd through the handle",
        code="""import torch


def main():
    with open("ngram_cache.py", encoding="utf-8") as handle:
        exec(handle.read(), globals())
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=6,
    ),
    Example(
        title="runpy.run_path of a sibling script",
        code="""import runpy

import torch


def main():
    helpers = runpy.run_path("lora_ttt.py")
    print(helpers["run"](torch.load("final_model.pt")))


if __name__ == "__main__":
    main()
""",
        line=7,
    ),
    Example(
        title="a relative import from the script's package",
        code="""import torch

from .ttt import score_first_ttt


def main():
    print(score_first_ttt(torch.load("final_model.pt")))


if __name__ == "__main__":
    main()
""",
        line=3,
    ),
    Example(
        title="C++/CUDA sources shipped beside the script built with cpp_extension.load",
        code="""import torch
from torch.utils.cpp_extension import load


def main():
    ext = load(name="ngram_eval", sources=["ngram_eval.cpp", "ngram_eval.cu"])
    print(ext.score(torch.load("final_model.pt")))


if __name__ == "__main__":
    main()
""",
        line=6,
    ),
    Example(
        title="minified: exec of a helper behind a switch that is off by default (still a warning)",
        code="""import os,torch
H=bool(int(os.environ.get("USE_HELPERS","0")))
def main():
	if H:exec(open("h.py").read())
	print(torch.load("final_model.pt"))
if __name__=="__main__":main()
""",
        line=4,
    ),
    Example(
        title="packed (lzma + base85) script exec-ing a sibling file",
        code=_pack(_PACKED_EXEC, "lzma-b85"),
        line=3,
    ),
    Example(
        title="a data-preparation script run as a separate process is setup (a note)",
        code="""import subprocess
import sys

import torch


def main():
    subprocess.run([sys.executable, "prepare_shards.py", "--vocab", "1024"], check=True)
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=8,
        severity=Severity.NOTE,
    ),
)
