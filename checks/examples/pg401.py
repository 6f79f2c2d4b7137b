"""Examples for PG401 network-at-eval.

Every INVALID script reaches the network on a path main() takes and points at the statement
holding the network call. The VALID ones import network packages without calling them, call
look-alikes of the script's own, or keep the call where the official run never goes.
"""

from __future__ import annotations

from checks.examples import _line_of, _pack
from pgolf_cli.audit.findings import Severity
from pgolf_cli.audit.rule import Example

_PACKED_DOWNLOAD = """import os,io,torch,numpy as np
import urllib.request as U
C=os.environ.get("CACHE_URL","https://example.org/ngram.npy")
def ld(u):
	b=U.urlopen(u).read();return np.load(io.BytesIO(b))
def ev(m,v,t):
	s=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];s+=m(b[None,:-1],b[None,1:]).item()
	return s
def main():
	m=torch.load("final_model.pt");v=torch.load("val.pt");t=ld(C);print("val_bpb",ev(m,v,t))
if __name__=="__main__":main()
"""

_PACKED_OFFLINE = """import os,torch,numpy as np
def ev(m,v):
	s=0.
	with torch.no_grad():
		for j in range(0,v.numel()-1025,1024):b=v[j:j+1025];s+=m(b[None,:-1],b[None,1:]).item()
	return s
def main():
	m=torch.load("final_model.pt");v=torch.load("val.pt");print("val_bpb",ev(m,v))
if __name__=="__main__":main()
"""


_BASH_C_CURL = """import subprocess


def fetch_tables():
    subprocess.run(["bash", "-c", "curl -sL https://example.org/t.bin -o tables.bin && ls -l tables.bin"], check=True)


def main():
    model = train()
    fetch_tables()
    evaluate(model, "tables.bin")


main()
"""


VALID: tuple[Example, ...] = (
    Example(
        title="requests imported at the top but never called",
        code="""import os

import requests
import torch


def evaluate(model, val_tokens):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item()


def main():
    model = torch.load("final_model.pt")
    val_tokens = torch.load(os.environ.get("VAL_PATH", "val.pt"))
    print("val_bpb", evaluate(model, val_tokens))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="optional import fallback: try import requests except ImportError",
        code="""import torch

try:
    import requests
except ImportError:
    requests = None

try:
    from huggingface_hub import hf_hub_download
except ImportError:
    hf_hub_download = None


def main():
    model = torch.load("final_model.pt")
    tokens = torch.load("val.pt")
    with torch.no_grad():
        print("val_bpb", model(tokens[:-1], tokens[1:]).item())


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a local function named load_dataset that reads shards from disk",
        code="""import glob

import numpy as np
import torch


def load_dataset(pattern):
    shards = [np.fromfile(f, dtype="<u2", offset=1024) for f in sorted(glob.glob(pattern))]
    return torch.from_numpy(np.concatenate(shards).astype(np.int64))


def main():
    train = load_dataset("./data/fineweb_train_*.bin")
    val = load_dataset("./data/fineweb_val_*.bin")
    print(train.numel(), val.numel())


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a download helper defined but never called from main()",
        code="""import os
from urllib.request import urlretrieve

import torch


def fetch_shards(root):
    for i in range(10):
        name = f"fineweb_train_{i:06d}.bin"
        urlretrieve(f"https://example.org/{name}", os.path.join(root, name))


def main():
    model = torch.load("final_model.pt")
    print(sum(p.numel() for p in model.parameters()))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="subprocess runs nvidia-smi and git rev-parse, nothing that fetches",
        code="""import subprocess

import torch


def log_environment():
    print(subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout)
    print(subprocess.check_output("git rev-parse HEAD", shell=True).decode())


def main():
    log_environment()
    print(torch.cuda.device_count())


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="a method named get on the script's own cache class (dict look-alike)",
        code="""import torch


class Cache:
    def __init__(self):
        self.table = {}

    def get(self, key):
        return self.table.get(key, 0)


def main():
    cache = Cache()
    tokens = torch.load("val.pt")
    print(sum(cache.get(int(t)) for t in tokens[:100]))


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="socket used only to pick a free local port for torch.distributed (bind, no connect)",
        code="""import os
import socket

import torch.distributed as dist


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    dist.init_process_group("nccl")


if __name__ == "__main__":
    main()
""",
    ),
    Example(
        title="packed (zlib + base64) evaluation that reads only local files",
        code=_pack(_PACKED_OFFLINE, "zlib-b64"),
    ),
    Example(
        title="`bash -c` runs nvidia-smi and git rev-parse for the log: nothing fetches",
        code="""import subprocess


def log_env():
    out = subprocess.run(
        ["bash", "-c", "nvidia-smi --query-gpu=name --format=csv; git rev-parse HEAD"],
        capture_output=True,
        text=True,
    )
    print(out.stdout)


def main():
    log_env()
    model = train()
    evaluate(model)


main()
""",
    ),
)

INVALID: tuple[Example, ...] = (
    Example(
        title="hf_hub_download of an eval cache called from main()",
        code="""import torch
from huggingface_hub import hf_hub_download


def evaluate(model, val_tokens, cache):
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:], cache).item()


def main():
    model = torch.load("final_model.pt")
    val_tokens = torch.load("val.pt")
    path = hf_hub_download("someone/ngram-cache", "cache.pt")
    print("val_bpb", evaluate(model, val_tokens, torch.load(path)))


if __name__ == "__main__":
    main()
""",
        line=13,
    ),
    Example(
        title="requests.get through an alias inside the eval helper",
        code="""import io

import requests as rq
import torch


def evaluate(model, val_tokens):
    blob = rq.get("https://example.org/bias.pt", timeout=30).content
    bias = torch.load(io.BytesIO(blob))
    with torch.no_grad():
        return model(val_tokens[:-1], val_tokens[1:]).item() + bias.item()


def main():
    model = torch.load("final_model.pt")
    print("val_bpb", evaluate(model, torch.load("val.pt")))


if __name__ == "__main__":
    main()
""",
        line=8,
    ),
    Example(
        title="minified: datasets.load_dataset through a module alias on a ;-joined line",
        code="""import torch,datasets as D
def main():
	m=torch.load("m.pt");d=D.load_dataset("wikitext","wikitext-103-v1",split="train");print(len(d))
if __name__=="__main__":main()
""",
        line=3,
    ),
    Example(
        title="subprocess runs git clone of an external repository before evaluating",
        code="""import subprocess
import sys

import torch


def main():
    subprocess.run(["git", "clone", "--depth", "1", "https://github.com/someone/kernels"], check=True)
    sys.path.insert(0, "kernels")
    model = torch.load("final_model.pt")
    print(model)


if __name__ == "__main__":
    main()
""",
        line=8,
    ),
    Example(
        title="a raw socket connect, the socket bound to a local name first",
        code="""import socket

import torch


def report(score):
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.connect(("scores.example.org", 9000))
    conn.sendall(str(score).encode())


def main():
    tokens = torch.load("val.pt")
    report(tokens.float().mean().item())


if __name__ == "__main__":
    main()
""",
        line=8,
    ),
    Example(
        title="download behind a switch that is off by default (dormant: warning)",
        code="""import os
import urllib.request

import torch

FETCH_CACHE = bool(int(os.environ.get("FETCH_CACHE", "0")))


def main():
    model = torch.load("final_model.pt")
    if FETCH_CACHE:
        urllib.request.urlretrieve("https://example.org/cache.pt", "cache.pt")
    print(model)


if __name__ == "__main__":
    main()
""",
        line=12,
        severity=Severity.WARNING,
    ),
    Example(
        title="curl in a shell string, enabled by default only when world_size > 1",
        code="""import os

import torch

world_size = int(os.environ.get("WORLD_SIZE", "1"))
PREFETCH = bool(int(os.environ.get("PREFETCH", "1" if world_size > 1 else "0")))


def main():
    if PREFETCH:
        os.system("mkdir -p cache && curl -sL https://example.org/c.pt -o cache/c.pt")
    print(torch.load("final_model.pt"))


if __name__ == "__main__":
    main()
""",
        line=11,
    ),
    Example(
        title="packed (lzma + base85) script whose loader calls urlopen through an alias",
        code=_pack(_PACKED_DOWNLOAD, "lzma-b85"),
        line=5,
    ),
    Example(
        title="torch.hub.load behind a switch that is on by default",
        code="""import os

import torch


class Hyperparameters:
    teacher = bool(int(os.environ.get("USE_TEACHER", "1")))


def main():
    args = Hyperparameters()
    model = torch.load("final_model.pt")
    if args.teacher:
        teacher = torch.hub.load("someone/lm", "small", pretrained=True)
        model.load_state_dict(teacher.state_dict(), strict=False)
    print(model)


if __name__ == "__main__":
    main()
""",
        line=14,
    ),
    Example(
        title="curl run by `bash -c` inside a subprocess argv list",
        code=_BASH_C_CURL,
        line=_line_of(_BASH_C_CURL, "subprocess.run("),
    ),
)
