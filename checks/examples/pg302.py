"""Examples for PG302 native-code.

Every INVALID script brings in native code on a path main() takes (a shared library, a C++ /
CUDA extension, a compiler run) and points at the statement that does it. PG302 is a warning
either way, so a dormant path keeps the rule's severity. The VALID ones use look-alikes or
keep the native code where the official run never goes.
"""

from __future__ import annotations

from checks.examples import _pack
from pgolf_cli.audit.rule import Example

_PACKED_INLINE = """import os,torch
from torch.utils.cpp_extension import load_inline as LI
S="torch::Tensor sc(torch::Tensor l,torch::Tensor y){return l.log_softmax(-1).gather(-1,y.unsqueeze(-1)).neg().sum();}"
def main():
	X=LI("sc",cpp_sources=S,functions=["sc"]);m=torch.load("final_model.pt");v=torch.load("val.pt")
	with torch.no_grad():print("val_bpb",X.sc(m(v[None,:-1]),v[None,1:]).item())
if __name__=="__main__":main()
"""

_PACKED_PLAIN = """import os,torch
def main():
	m=torch.load("final_model.pt");v=torch.load("val.pt")
	with torch.no_grad():print("val_bpb",torch.nn.functional.cross_entropy(m(v[None,:-1])[0],v[1:]).item())
if __name__=="__main__":main()
"""

VALID: tuple[Example, ...] = (
    Example(
        title="ctypes imported for c_int only, no library loaded",
        code="""import ctypes

import torch


def main():
    flag = ctypes.c_int(1)
    model = torch.load("final_model.pt")
    print(flag.value, model)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="subprocess logs nvidia-smi and pip freeze, no compiler",
        code="""import subprocess
import sys

import torch


def main():
    print(subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout)
    print(subprocess.check_output([sys.executable, "-m", "pip", "freeze"]).decode())
    print(torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="an extension build helper defined but never called from main()",
        code="""import torch
from torch.utils.cpp_extension import load


def build_kernels():
    return load(name="fused_ce", sources=["fused_ce.cpp", "fused_ce.cu"])


def main():
    model = torch.load("final_model.pt")
    print(model)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a local function named load (not torch.utils.cpp_extension.load)",
        code="""import torch


def load(path):
    return torch.load(path, map_location="cpu")


def main():
    model = load("final_model.pt")
    print(model)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="torch.compile and a Triton kernel: readable Python, not native code",
        code="""import torch
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)


def main():
    model = torch.compile(torch.load("final_model.pt"))
    x = torch.ones(1024, device="cuda")
    scale_kernel[(4,)](x, 1024, BLOCK=256)
    print(model, x.sum())


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a make target in a string that is only printed, never run",
        code="""import torch


def main():
    hint = "run `make kernels` to rebuild"
    print(hint, torch.__version__)


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="minified script with os.system running only mkdir",
        code="""import os,torch
def main():
	os.system("mkdir -p logs");m=torch.load("final_model.pt");print(m)
if __name__=="__main__":main()
""",
    ),
    Example(
        title="packed (zlib + base85) evaluation in plain PyTorch",
        code=_pack(_PACKED_PLAIN, "zlib-b85"),
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="ctypes.CDLL loads a shared library used for scoring",
        code="""import ctypes

import torch


def main():
    lib = ctypes.CDLL("./libscore.so")
    tokens = torch.load("val.pt")
    print(lib.score(tokens.data_ptr(), tokens.numel()))


if __name__ == "__main__":
    main()
""",
        line=7,
    ),
    Example(
        title="torch.utils.cpp_extension.load called through the full module path",
        code="""import torch
import torch.utils.cpp_extension


def build():
    return torch.utils.cpp_extension.load(name="ngram", sources=["ngram.cpp"], verbose=False)


def main():
    ext = build()
    print(ext.count(torch.load("val.pt")))


if __name__ == "__main__":
    main()
""",
        line=6,
    ),
    Example(
        title="nvcc run through subprocess by its full path",
        code="""import subprocess

import torch


def main():
    subprocess.check_call(["/usr/local/cuda/bin/nvcc", "-O3", "-shared", "-o", "k.so", "k.cu"])
    print(torch.__version__)


if __name__ == "__main__":
    main()
""",
        line=7,
    ),
    Example(
        title="minified: cffi FFI through a from-import alias on a ;-joined line",
        code="""import torch
from cffi import FFI as Q
def main():
	f=Q();f.cdef("int s(int);");L=f.dlopen("./s.so");print(L.s(3))
if __name__=="__main__":main()
""",
        line=4,
    ),
    Example(
        title="packed (lzma + base64) script building an inline C++ extension",
        code=_pack(_PACKED_INLINE, "lzma-b64"),
        line=5,
    ),
    Example(
        title="make in a shell string behind a switch that is off by default (still a warning)",
        code="""import os

import torch

BUILD_KERNELS = bool(int(os.environ.get("BUILD_KERNELS", "0")))


def main():
    if BUILD_KERNELS:
        os.system("cd csrc && make -j8")
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=10,
    ),
    Example(
        title="torch.ops.load_library enabled only when world_size > 1",
        code="""import os

import torch

world_size = int(os.environ.get("WORLD_SIZE", "1"))
FUSED = bool(int(os.environ.get("FUSED_EVAL", "1" if world_size > 1 else "0")))


def main():
    if FUSED:
        torch.ops.load_library("build/libfused_eval.so")
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=11,
    ),
    Example(
        title="g++ in a shell=True command behind a switch that is on by default",
        code="""import os
import subprocess

import torch

NATIVE_SCORER = bool(int(os.environ.get("NATIVE_SCORER", "1")))


def main():
    if NATIVE_SCORER:
        subprocess.run("g++ -O2 -shared -fPIC scorer.cpp -o scorer.so", shell=True, check=True)
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=11,
    ),
)
