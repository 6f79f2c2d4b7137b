"""PG4xx: the environment of the evaluation — it runs offline, on what the artifact ships."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from typing import ClassVar

import libcst as cst

from checks.examples import pg401
from pgolf_cli.audit.facts import ExternalCall, Facts
from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.rule import Example, Hit, Rule

SHELL_CALLS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
    }
)
_SHELL_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")

_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_NETWORK_CALLS = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "socket.create_connection",
        "socket.socket().connect",
        "socket.socket().connect_ex",
        "huggingface_hub.hf_hub_download",
        "huggingface_hub.snapshot_download",
        "huggingface_hub.file_download.hf_hub_download",
        "datasets.load_dataset",
        "torch.hub.load",
        "torch.hub.download_url_to_file",
        "torch.hub.load_state_dict_from_url",
        "torch.utils.model_zoo.load_url",
        "wget.download",
    }
)
_FETCHING_GIT = frozenset({"clone", "fetch", "pull"})


def _literal(node: cst.BaseExpression) -> str | None:
    """The text of a string literal; an f-string keeps its literal parts around a blank hole."""
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value if isinstance(part, cst.FormattedStringText) else " {} "
            for part in node.parts
        )
    return None


def commands_run(call: ExternalCall) -> list[list[str]]:
    """The argv of each command a ``subprocess`` / ``os.system`` call runs, as far as literals tell.

    A list argument gives one argv up to its first non-literal item; a string argument is a
    shell line, split into its commands at ``;``, ``&&``, ``||`` and ``|``. Program names are
    reduced to their base name (``/usr/local/cuda/bin/nvcc`` -> ``nvcc``).
    """
    if call.name not in SHELL_CALLS:
        return []
    command: cst.BaseExpression | None = None
    for arg in call.node.args:
        if arg.keyword is None and not arg.star:
            command = arg.value
            break
        if arg.keyword is not None and arg.keyword.value in ("args", "cmd", "command"):
            command = arg.value
            break
    if command is None:
        return []
    argvs: list[list[str]] = []
    if isinstance(command, cst.List | cst.Tuple):
        argv: list[str] = []
        for element in command.elements:
            text = _literal(element.value) if not isinstance(element, cst.StarredElement) else None
            if text is None:
                break
            argv.append(text)
        argvs.append(argv)
    else:
        line = _literal(command)
        if line is None:
            return []
        for part in _SHELL_SEPARATORS.split(line):
            try:
                words = shlex.split(part)
            except ValueError:
                words = part.split()
            argvs.append(words)
    out: list[list[str]] = []
    for argv in argvs:
        while argv and (argv[0] in ("sudo", "exec", "env") or "=" in argv[0]):
            argv = argv[1:]  # `sudo`, `env X=1 cmd`, `X=1 cmd` run the next word
        if argv:
            out.append([argv[0].rsplit("/", 1)[-1], *argv[1:]])
    return out


def external_call_hits(
    facts: Facts,
    classify: Callable[[ExternalCall], str | None],
    message: Callable[[str], str],
    label: str,
) -> Iterator[Hit]:
    """One hit per reachable line that calls an imported name ``classify`` recognises.

    ``classify`` says in words what the call does (or None); ``message`` turns that into the
    finding's message; ``label`` names the evidence line.
    """
    seen: set[int] = set()
    for fn in facts.ordered_functions():
        for call in fn.externals:
            what = classify(call)
            if what is None or call.where.line in seen:
                continue
            gate = facts.gate(fn, call.where)
            if not gate.reachable:
                continue
            seen.add(call.where.line)
            yield Hit(
                call.where.line, message(what), gate, (facts.evidence(call.where.line, label),)
            )


def _network_use(call: ExternalCall) -> str | None:
    """What reaches the network in this call, in words, or None."""
    name = call.name
    if name in _NETWORK_CALLS:
        return f"`{name}`"
    root = name.split(".", 1)[0]
    if root in ("requests", "httpx") and name.rsplit(".", 1)[-1] in _HTTP_VERBS:
        return f"`{name}`"
    for argv in commands_run(call):
        program = argv[0]
        if program in ("curl", "wget"):
            return f"`{program}` run through `{name}`"
        if program == "git" and _FETCHING_GIT & set(argv[1:]):
            verb = next(w for w in argv[1:] if w in _FETCHING_GIT)
            return f"`git {verb}` run through `{name}`"
    return None


class NetworkAtEval(Rule):
    """
    ## What it does
    Finds calls that reach the network on a path the official run takes: `urllib.request`
    (`urlopen`, `urlretrieve`), `requests` / `httpx` verbs, `http.client` connections,
    `socket.create_connection` and `socket.socket(...).connect`, `huggingface_hub` downloads,
    `datasets.load_dataset`, `torch.hub`, and `subprocess` / `os.system` running `curl`, `wget`
    or `git clone|fetch|pull`. Module aliases are resolved (`import urllib.request as ur`,
    `from requests import get`). Importing a network package is not a finding — an optional
    import (`try: import requests except ImportError: ...`) is fine; only calls count.

    ## Why is this bad?
    The evaluation must run offline on what the submission ships: the 16 MB artifact and the
    code. Anything fetched at run time — weights, a tokenizer, a cache, extra text — is
    unpaid for and unverifiable, and the evaluation machine may not be online at all.

    ## Example
    ```python
    def main():
        path = hf_hub_download("someone/ngram-cache", "cache.bin")
        cache = load_cache(path)
        print("val_bpb", evaluate(model, val_tokens, cache))
    ```

    ## Use instead
    Build what the evaluation needs during training (inside the time cap) and serialize it into
    the artifact, or put it in the code. Data preparation belongs to the dataset download step,
    outside `train_gpt.py`.

    ## Known problems
    Any reachable network call is reported, also one in data preparation before training; a
    call behind a switch that is off by default is a warning naming the switch. Names built at
    run time (`__import__("requests")`, `getattr(requests, verb)`), a command held in a variable
    before it reaches `subprocess`, and `from_pretrained` with a hub id are not recognised.

    ## Ruling
    rules.md PG401: downloads and network access reachable after training or inside the
    evaluation are not allowed; optional-import fallbacks are fine.
    """

    id = "PG401"
    name = "network-at-eval"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    summary = "A network call (download, HTTP, socket, git/curl/wget) on the official run's path."
    VALID: ClassVar[tuple[Example, ...]] = pg401.VALID
    INVALID: ClassVar[tuple[Example, ...]] = pg401.INVALID

    def check(self, facts: Facts) -> Iterator[Hit]:
        return external_call_hits(
            facts,
            _network_use,
            lambda what: (
                f"{what} reaches the network; the evaluation must not reach the network — "
                "ship what it needs in the artifact or the code"
            ),
            "network call",
        )
