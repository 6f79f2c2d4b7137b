"""The program a script runs: the script plus the code it pulls in from its records folder.

A submission's counted code must live in ``train_gpt.py``, yet some scripts run code from files
shipped beside them: ``exec(open("helpers.py").read())``, ``import helpers``,
``runpy.run_path("ttt.py")``. To judge what the official run does, the audit follows those
references into the records folder and analyses the files together as one program. This module
knows

- which statements refer to code in another file (:func:`references`), statically;
- where such a reference lands inside an audited folder (:class:`Folder`), refusing anything
  that resolves outside it (``../``, absolute paths, symlinks pointing elsewhere);
- how several parsed files become one module for the facts pre-pass (:func:`combine`), and how
  a line of that combined text maps back to a file (:class:`Program`);
- which files of a folder are entry points rather than code followed from another file
  (:func:`entry_points`).

Nothing is executed or imported: files are read as text and parsed.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import libcst as cst

from pgolf_cli.audit import guard
from pgolf_cli.audit.facts import callee_name, dotted
from pgolf_cli.audit.flow import Flow, Guard
from pgolf_cli.audit.nodes import children
from pgolf_cli.audit.positions import LineMap, statement_lines
from pgolf_cli.audit.source import read_source
from pgolf_cli.errors import PgolfInputError

#: The key under which the engine files the :class:`Program` in ``Facts.analyses``; absent
#: when a single file is audited on its own (no folder to resolve references against).
#: Files one entry point may pull in; a folder with more is not a submission.
MAX_MEMBERS = 64
#: The script name the challenge counts; such files come first among a folder's entry points.
TRAIN_SCRIPT = "train_gpt.py"

# Words that start a reference (True) or may (an import statement, False). Checked per line,
# so most statements are never walked.
_KEYWORDS = {
    "import": False,
    "exec": True,
    "run_path": True,
    "run_module": True,
    "spec_from_file_location": True,
    "import_module": True,
    "__import__": True,
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_OTHER_BREAKS = str.maketrans(dict.fromkeys("\v\f\x1c\x1d\x1e\x85\u2028\u2029", " "))
_READERS = frozenset({"open", "Path", "PurePath", "PosixPath", "read", "read_text", "read_bytes"})
_EXEC = "exec"
_PATH_LIKE = re.compile(r"(?:^|[/\\])[^/\\]*\.[A-Za-z0-9_]{1,8}$|[/\\]")


class ReferenceKind(StrEnum):
    EXEC = "exec"
    """``exec`` of a file's text: runs in the caller's namespace, ``__name__`` included."""
    RUN = "run"
    """``runpy.run_path`` / ``spec_from_file_location``: the file runs as a module of its own."""
    IMPORT = "import"
    """An import statement or ``importlib.import_module`` of a module name."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A statement that brings in code from outside the file it is written in."""

    line: int
    kind: ReferenceKind
    target: str | None
    """The path literal (EXEC, RUN) or dotted module name (IMPORT); None when computed at run time."""
    how: str
    """The construct, for messages: ``exec(open(...).read())``, ``import helpers``..."""
    level: int = 0
    """Leading dots of a relative import."""
    names: tuple[str, ...] = ()
    """The names of a ``from m import a, b`` (each may be a submodule)."""
    scope: cst.FunctionDef | None = None
    """The function the statement is in; None at module level."""
    guards: tuple[Guard, ...] = ()
    """The ``if`` conditions around it inside that function."""

    @property
    def relative(self) -> bool:
        return self.level > 0


# --------------------------------------------------------------------------- references


def references(
    module: cst.Module, span_of: Callable[[cst.CSTNode], tuple[int, int]], text: str
) -> list[Reference]:
    """Every reference to code in another file, in line order.

    ``span_of`` gives a statement's first and last line. Only blocks with a line that mentions
    ``import``, ``exec``, ``run_path``, ``import_module`` and the like are walked, and only the
    statements on a line of the latter kind have their expressions read.
    """
    interesting, hot = _keyword_lines(text)
    if not interesting:
        return []
    walk = _Statements(span_of, interesting)
    walk.block(module.body)
    statements = walk.found
    out: list[Reference] = []
    # Names bound to a file or its text (`src = Path("h.py").read_text()`, `with open(p) as f`),
    # per function, so that `exec(src)` / `exec(f.read())` still names the file.
    files: dict[tuple[int, str], str | None] = {}
    for index, (node, line, scope, guards) in enumerate(statements):
        if isinstance(node, cst.Import | cst.ImportFrom):
            out.extend(_imports(node, line, scope, guards))
            continue
        if not hot:
            continue
        _note_file_names(node, id(scope), files)
        # A statement reaches at most to the line before the next one starts.
        end = statements[index + 1][1] if index + 1 < len(statements) else line + 10**9
        if _any_between(hot, line, max(end - 1, line)):
            bound = {name: path for (where, name), path in files.items() if where == id(scope)}
            for part in _expressions(node):
                out.extend(_calls(part, line, scope, guards, bound))
    out.sort(key=lambda ref: ref.line)
    return out


def _keyword_lines(text: str) -> tuple[list[int], list[int]]:
    """Lines (as the parser counts them) that mention ``import`` or a hot word, and the latter.

    ``str.find`` per keyword: a regex over a whole 150 KB script costs more than this walk.
    """
    found: list[tuple[int, bool]] = []
    for keyword, is_hot in _KEYWORDS.items():
        at = text.find(keyword)
        while at != -1:
            end = at + len(keyword)
            before = text[at - 1] if at else " "
            after = text[end] if end < len(text) else " "
            if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
                found.append((at, is_hot))
            at = text.find(keyword, end)
    if not found:
        return [], []
    found.sort()
    interesting: list[int] = []
    hot: list[int] = []
    if "\r" in text:
        starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        numbered = [(bisect.bisect_right(starts, at), is_hot) for at, is_hot in found]
    else:
        numbered = []
        line, position = 1, 0
        for at, is_hot in found:
            line += text.count("\n", position, at)
            position = at
            numbered.append((line, is_hot))
    for line, is_hot in numbered:
        if not interesting or interesting[-1] != line:
            interesting.append(line)
        if is_hot and (not hot or hot[-1] != line):
            hot.append(line)
    return interesting, hot


def _any_between(lines: list[int], first: int, last: int) -> bool:
    at = bisect.bisect_left(lines, first)
    return at < len(lines) and lines[at] <= last


def _note_file_names(
    node: cst.CSTNode, scope: int, files: dict[tuple[int, str], str | None]
) -> None:
    pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        pairs.append((node.targets[0].target, node.value))
    elif isinstance(node, cst.With):
        pairs.extend((item.asname.name, item.item) for item in node.items if item.asname)
    for target, value in pairs:
        if not isinstance(target, cst.Name):
            continue
        read = _reader_chain(value)
        if read is None:
            files.pop((scope, target.value), None)
        else:
            files[(scope, target.value)] = _path_literal(read)


def _reader_chain(expr: cst.BaseExpression) -> cst.Call | None:
    """The outermost ``open(...)`` / ``Path(...)`` / ``.read_text()`` call of a method chain."""
    node: cst.BaseExpression = expr
    while isinstance(node, cst.Call | cst.Attribute):
        if isinstance(node, cst.Call):
            if callee_name(node.func) in _READERS:
                return node
            node = node.func
        else:
            node = node.value
    return None


_Walked = tuple[cst.CSTNode, int, cst.FunctionDef | None, tuple[Guard, ...]]


class _Statements(Flow[None]):
    """Small statements and compound headers in source order, with their function and guards.

    A compound statement none of whose lines is ``interesting`` is skipped whole.
    """

    def __init__(
        self, span_of: Callable[[cst.CSTNode], tuple[int, int]], interesting: list[int]
    ) -> None:
        super().__init__(lambda node: span_of(node)[0])
        self.span_of = span_of
        self.interesting = interesting
        self.scope: cst.FunctionDef | None = None
        self.found: list[_Walked] = []

    def small(self, stmt: cst.BaseSmallStatement) -> None:
        self.found.append((stmt, self.line, self.scope, tuple(self.guards)))

    def compound(self, node: cst.CSTNode) -> None:
        line, last = self.span_of(node)
        if not _any_between(self.interesting, line, last):
            return
        self.found.append((node, line, self.scope, tuple(self.guards)))
        super().compound(node)

    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if isinstance(node, cst.ClassDef):
            self.block(node.body)
            return
        scope, guards = self.scope, self.guards
        self.scope, self.guards = node, []
        self.block(node.body)
        self.scope, self.guards = scope, guards


def _expressions(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The expressions of a small statement, or of a compound statement's header only."""
    if isinstance(node, cst.If | cst.While):
        return [node.test]
    if isinstance(node, cst.For):
        return [node.iter]
    if isinstance(node, cst.With):
        return [item.item for item in node.items]
    if isinstance(node, cst.Match):
        return [node.subject]
    if isinstance(node, cst.BaseSmallStatement):
        return [node]
    return []


def _imports(
    node: cst.Import | cst.ImportFrom,
    line: int,
    scope: cst.FunctionDef | None,
    guards: tuple[Guard, ...],
) -> Iterator[Reference]:
    if isinstance(node, cst.Import):
        for alias in node.names:
            name = dotted(alias.name)
            if name is not None:
                yield Reference(
                    line, ReferenceKind.IMPORT, name, f"import {name}", scope=scope, guards=guards
                )
        return
    module = "" if node.module is None else (dotted(node.module) or "")
    level = len(node.relative)
    names: tuple[str, ...] = ()
    if not isinstance(node.names, cst.ImportStar):
        names = tuple(n for n in (dotted(alias.name) for alias in node.names) if n is not None)
    shown = "." * level + module
    yield Reference(
        line,
        ReferenceKind.IMPORT,
        module,
        f"from {shown} import {', '.join(names) or '*'}",
        level=level,
        names=names,
        scope=scope,
        guards=guards,
    )


def _nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``root`` and its semantic descendants in source order (whitespace and punctuation hold
    no call and no string)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def _calls(
    root: cst.CSTNode,
    line: int,
    scope: cst.FunctionDef | None,
    guards: tuple[Guard, ...],
    files: dict[str, str | None],
) -> Iterator[Reference]:
    for node in _nodes(root):
        if type(node) is not cst.Call:
            continue
        name = callee_name(node.func)
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if name == "exec" and dotted(node.func) in ("exec", "builtins.exec") and positional:
            code = positional[0]
            holder = _reader_chain(code)
            if isinstance(code, cst.Name) and code.value in files:
                yield Reference(
                    line, ReferenceKind.EXEC, files[code.value], _EXEC, scope=scope, guards=guards
                )
            elif (
                holder is not None
                and isinstance(holder.func, cst.Attribute)
                and isinstance(holder.func.value, cst.Name)
                and holder.func.value.value in files
            ):
                path = files[holder.func.value.value]  # `exec(f.read())` after `with open(p) as f`
                yield Reference(line, ReferenceKind.EXEC, path, _EXEC, scope=scope, guards=guards)
            elif (read := _file_read(code)) is not None:
                yield Reference(
                    line, ReferenceKind.EXEC, _path_literal(read), _EXEC, scope=scope, guards=guards
                )
        elif name == "run_path":
            where = positional[0] if positional else keywords.get("path_name")
            yield Reference(
                line,
                ReferenceKind.RUN,
                None if where is None else _path_literal(where),
                "runpy.run_path",
                scope=scope,
                guards=guards,
            )
        elif name == "spec_from_file_location":
            where = positional[1] if len(positional) > 1 else keywords.get("location")
            yield Reference(
                line,
                ReferenceKind.RUN,
                None if where is None else _path_literal(where),
                "importlib.util.spec_from_file_location",
                scope=scope,
                guards=guards,
            )
        elif name in ("import_module", "__import__", "run_module") and positional:
            literal = _string(positional[0])
            level = 0
            if literal is not None:
                level = len(literal) - len(literal.lstrip("."))
                literal = literal[level:]
            yield Reference(
                line,
                ReferenceKind.IMPORT,
                literal,
                f"importlib.{name}" if name != "__import__" else name,
                level=level,
                scope=scope,
                guards=guards,
            )


def _string(node: cst.CSTNode) -> str | None:
    # Exact types (asked of every node of a path expression): libcst's isinstance is an ABC check.
    if type(node) is cst.SimpleString or type(node) is cst.ConcatenatedString:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _file_read(expr: cst.CSTNode) -> cst.CSTNode | None:
    """The ``open(...)`` / ``Path(...)`` call inside ``expr`` whose text is read, if any."""
    for node in _nodes(expr):
        if type(node) is cst.Call and callee_name(node.func) in _READERS:
            return node
    return None


def _path_literal(expr: cst.CSTNode) -> str | None:
    """The file a path expression names: its last path-like string literal.

    ``"helpers.py"``, ``os.path.join(os.path.dirname(__file__), "helpers.py")`` and
    ``Path(__file__).with_name("helpers.py")`` all name ``helpers.py``; a mode string (``"r"``)
    or an encoding is not path-like.
    """
    found: str | None = None
    for node in _nodes(expr):
        text = _string(node)
        if text is not None and _PATH_LIKE.search(text) and not text.startswith("utf"):
            found = text
    return found


# --------------------------------------------------------------------------- the folder


class Status(StrEnum):
    FOUND = "found"
    """A file inside the audited folder."""
    MISSING = "missing"
    """Named by a path, but no such file in the folder."""
    OUTSIDE = "outside"
    """Resolves outside the audited folder (``..``, an absolute path, a symlink): not followed."""


@dataclass(frozen=True, slots=True)
class Resolution:
    status: Status
    shown: str
    """How the report names it: the path inside the folder, or what the code wrote."""
    real: Path | None = None
    size: int = 0
    detail: str = ""


class Folder:
    """An audited directory: where references land, confined to it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = root.resolve()

    def shown(self, real: Path) -> str:
        return str(self.root / real.relative_to(self.real))

    def file(self, literal: str, bases: Sequence[Path]) -> Resolution:
        """A path literal, relative to the first base directory where it exists."""
        for base in dict.fromkeys(bases):
            candidate = Path(literal) if os.path.isabs(literal) else base / literal
            if os.path.lexists(candidate):
                return self._check(candidate, literal)
        return Resolution(Status.MISSING, literal, detail="no such file in the folder")

    def _check(self, candidate: Path, written: str) -> Resolution:
        real = candidate.resolve()
        if not real.is_relative_to(self.real):
            how = "a symlink to a file" if candidate.is_symlink() else "a path"
            return Resolution(
                Status.OUTSIDE,
                written,
                detail=f"{how} outside the audited folder {self.root}; not followed",
            )
        if not real.is_file():
            return Resolution(Status.MISSING, written, detail="not a regular file")
        return Resolution(Status.FOUND, self.shown(real), real, real.stat().st_size)

    def module(self, ref: Reference, importer: Path, entry_dir: Path) -> list[Resolution]:
        """The files an import runs, parent packages first; empty for an installed module.

        Absolute imports resolve against the entry script's directory (``sys.path[0]`` when
        it runs), relative ones against the importing file's package.
        """
        if ref.target is None:
            return []
        if ref.relative:
            base = importer.parent
            for _ in range(ref.level - 1):
                base = base.parent
        else:
            base = entry_dir
        parts = [p for p in ref.target.split(".") if p]
        if not ref.relative and not parts:
            return []
        if parts and not (
            os.path.lexists(base / f"{parts[0]}.py") or os.path.isdir(base / parts[0])
        ):
            return []  # not in the folder: an installed or standard-library module
        found: list[Resolution] = []
        here = base
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            package = here / part
            if os.path.lexists(package / "__init__.py"):
                found.append(self._check(package / "__init__.py", ref.target))
            elif last and os.path.lexists(here / f"{part}.py"):
                found.append(self._check(here / f"{part}.py", ref.target))
                return found
            here = package
        if ref.relative and not parts and os.path.lexists(base / "__init__.py"):
            found.append(self._check(base / "__init__.py", "." * ref.level))
        for name in ref.names:
            for candidate in (here / f"{name}.py", here / name / "__init__.py"):
                if os.path.lexists(candidate):
                    found.append(self._check(candidate, f"{ref.target}.{name}".strip(".")))
                    break
        return found

    def resolve(self, ref: Reference, importer: Path, entry_dir: Path) -> list[Resolution]:
        """Where a reference lands: files for a path or a local module, [] for an installed one."""
        if ref.kind is ReferenceKind.IMPORT:
            return self.module(ref, importer, entry_dir)
        if ref.target is None:
            return []
        # The official run starts in the records folder, so a relative path is read from the
        # entry script's directory; code that joins __file__'s directory reads its own.
        return [self.file(ref.target, (entry_dir, importer.parent))]


# --------------------------------------------------------------------------- the program


@dataclass(slots=True)
class Member:
    """One file of a program."""

    real: Path
    shown: str
    text: str
    module: cst.Module
    lines: LineMap
    offset: int = 0
    """Lines of the combined text before this file's first line."""
    exec_only: bool = False
    """Reached only through ``exec`` of its text, so its ``__main__`` block runs too."""


@dataclass(slots=True)
class Program:
    """The files analysed together, and how lines of the combined text map back to them."""

    folder: Folder
    entry: Member
    members: list[Member]
    """In combined order: followed files first, the entry last."""
    module: cst.Module
    lines: LineMap
    text: str
    local_modules: frozenset[str] = frozenset()
    """Dotted names of followed modules, so ``helpers.ttt(...)`` resolves to the function."""
    _starts: list[int] = field(default_factory=list)

    def member_at(self, line: int) -> tuple[Member, int]:
        """The file a line of the combined text is in, and its line in that file."""
        if not self._starts:
            self._starts = [m.offset for m in self.members]
        index = max(bisect.bisect_left(self._starts, line) - 1, 0)
        member = self.members[index]
        return member, line - member.offset

    def resolve(self, ref: Reference) -> list[Resolution]:
        member, _ = self.member_at(ref.line)
        return self.folder.resolve(ref, member.real, self.entry.real.parent)

    def locate(self, literal: str, line: int) -> Resolution:
        """A file named by a path literal on ``line`` (a native source, a script run)."""
        member, _ = self.member_at(line)
        return self.folder.file(literal, (self.entry.real.parent, member.real.parent))


def is_main_block(statement: cst.CSTNode) -> bool:
    """``if __name__ == "__main__":`` (either operand order, any quotes)."""
    if not isinstance(statement, cst.If):
        return False
    test = statement.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    return len(names) == 1 and any(_string(s) == "__main__" for s in sides)


def _defined(statement: cst.CSTNode) -> str | None:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    return None


def combine(entry: Member, followed: Sequence[Member], folder: Folder) -> Program:
    """One module of the followed files' statements, then the entry's.

    Followed files come first, as their code runs when the entry imports or execs them near
    its top. A followed file's ``if __name__ == "__main__":`` block is dropped unless the file
    is only ever ``exec``-ed (its ``__name__`` is then the entry's). A top-level function or
    class whose name the entry (or an earlier followed file) also defines is dropped: calls by
    that name resolve to the definition kept, as they do for ``exec``-ed code.
    """
    if not followed:
        return Program(folder, entry, [entry], entry.module, entry.lines, entry.text)
    text_lines: list[str] = []
    for member in (*followed, entry):
        member.offset = len(text_lines)
        own = _LINE_BREAK.split(member.text)
        if own and own[-1] == "":
            own.pop()  # the text ends with a line break
        # Only Python's own line breaks may split the combined text, so that its line n is
        # line n of the parser's numbering (str.splitlines also splits at form feeds etc.).
        text_lines.extend(line.translate(_OTHER_BREAKS) for line in own)
    taken = {name for name in map(_defined, entry.module.body) if name is not None}
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
    lines: LineMap = {}
    for member in followed:
        for statement in member.module.body:
            if is_main_block(statement) and not member.exec_only:
                continue
            name = _defined(statement)
            if name is not None:
                if name in taken:
                    continue
                taken.add(name)
            body.append(statement)
        lines.update(
            (key, (first + member.offset, last + member.offset))
            for key, (first, last) in member.lines.items()
        )
    body.extend(entry.module.body)
    lines.update(
        (key, (first + entry.offset, last + entry.offset))
        for key, (first, last) in entry.lines.items()
    )
    return Program(
        folder,
        entry,
        [*followed, entry],
        cst.Module(body=body),
        lines,
        "\n".join(text_lines) + "\n",
    )


# --------------------------------------------------------------------------- entry points


def _plan_names(files: Iterable[Path], root: Path) -> re.Pattern[str] | None:
    """Matches an import line naming a module that exists in the folder, or any hot word."""
    names: set[str] = set()
    for path in files:
        names.add(path.stem)
        for parent in path.relative_to(root).parents:
            if parent.name:
                names.add(parent.name)
    words = "|".join(sorted(re.escape(n) for n in names if n.isidentifier()))
    if not words:
        return None
    hot = "|".join(keyword for keyword, is_hot in _KEYWORDS.items() if is_hot)
    return re.compile(rf"(?m)\b(?:import|from)\b[^\n]*\b(?:{words})\b|\bfrom\s+\.|\b(?:{hot})\b")


def followed_by(path: Path, folder: Folder, candidate: re.Pattern[str] | None) -> set[Path]:
    """The files of ``folder`` that ``path`` pulls in directly (real paths).

    Unreadable or unparseable files follow nothing: they are reported as such, and the
    files they name are audited as entry points of their own.
    """
    real = path.resolve()
    if not real.is_relative_to(folder.real):
        return set()  # never read: it is not part of the folder
    try:
        source = read_source(path)
    except PgolfInputError:
        return set()
    if candidate is None or not candidate.search(source.text):
        return set()
    try:
        # Through the guard like any audited file: a followed file may be hostile too.
        parsed = guard.parse(source.text)
        module = parsed.module
        lines = statement_lines(module, source.text, parsed.statements, parsed.layout)
    except (guard.Refused, RecursionError):
        return set()
    out: set[Path] = set()
    for ref in references(module, lambda n: lines.get(id(n), (0, 0)), source.text):
        for resolution in folder.resolve(ref, real, real.parent):
            if resolution.status is Status.FOUND and resolution.real is not None:
                out.add(resolution.real)
    out.discard(real)
    return out


def entry_points(folder: Folder, files: Sequence[Path]) -> list[Path]:
    """The files of a folder to audit as programs, ``train_gpt.py`` first.

    A file another file imports or execs is part of that file's program, not an entry point
    (``train_gpt.py`` always is one); files that only follow each other in a cycle still get an
    entry point (the first).
    """
    candidate = _plan_names(files, folder.root)
    real_of = {path: path.resolve() for path in files}
    edges: dict[Path, set[Path]] = {}
    for path in files:
        # A script is run from its own directory: resolve as if it were the entry.
        edges[real_of[path]] = followed_by(path, folder, candidate)
    followed = set().union(*edges.values()) if edges else set()
    ordered = [p for p in files if p.name == TRAIN_SCRIPT] + [
        p for p in files if p.name != TRAIN_SCRIPT
    ]
    # train_gpt.py is how the official run starts, even when another script imports it.
    entries = [p for p in ordered if real_of[p] not in followed or p.name == TRAIN_SCRIPT]
    covered: set[Path] = set()
    for path in entries:
        covered |= _closure(real_of[path], edges)
    for path in ordered:
        if real_of[path] not in covered:
            entries.append(path)
            covered |= _closure(real_of[path], edges)
    return entries


def _closure(start: Path, edges: dict[Path, set[Path]]) -> set[Path]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


#: Files of a records folder that say how it is run: its README and launch scripts, its logs.
_RUN_DOCUMENTS = frozenset({".md", ".sh", ".rst"})
_RUN_LOGS = frozenset({".log", ".txt"})
_RUN_DOCUMENT_BYTES = 4_000_000
#: A line that starts the distributed run (what the official 8-GPU run uses).
_LAUNCHER = re.compile(r"torchrun|torch\.distributed\.(?:run|launch)|accelerate\s+launch")


def run_scripts(root: Path, files: Sequence[Path]) -> set[Path]:
    """The scripts a records folder's run starts: ``train_gpt.py`` when the folder ships one,
    else the scripts its README or launch scripts start with a distributed launcher
    (``torchrun ...``), else those its train logs name, else those its README or launch scripts
    name at all. With none named, every script counts (nothing says which one is the run).

    The other scripts (data preparation, tokenizer building, plotting) never run at evaluation;
    they are still audited, for what they are.
    """
    named_train = [p for p in files if p.name == TRAIN_SCRIPT]
    if named_train:
        return set(named_train)
    by_name: dict[str, list[Path]] = {}
    for path in files:
        by_name.setdefault(path.name, []).append(path)
    texts: dict[str, list[str]] = {"docs": [], "logs": []}
    try:
        listed = sorted(root.iterdir())
    except OSError:
        return set(files)
    for document in listed:
        suffix = document.suffix.lower()
        kind = "docs" if suffix in _RUN_DOCUMENTS else "logs" if suffix in _RUN_LOGS else None
        try:
            if kind is None or not document.is_file():
                continue
            if document.stat().st_size > _RUN_DOCUMENT_BYTES:
                continue
            # Markdown escapes underscores (`train\_gpt.py`).
            text = document.read_text(encoding="utf-8", errors="replace").replace("\\_", "_")
        except OSError:
            continue
        texts[kind].append(text)
    # The command a launcher starts: what follows it up to the end of that shell command.
    launch_lines = [
        re.split(r"[;&|`]", line[found.end() :])[0]
        for text in texts["docs"]
        for line in text.splitlines()
        if (found := _LAUNCHER.search(line))
    ]
    for tier in (launch_lines, texts["logs"], texts["docs"]):
        mentioned = {
            path
            for name, paths in by_name.items()
            if any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", t) for t in tier)
            for path in paths
        }
        if mentioned:
            return mentioned
    return set(files)
