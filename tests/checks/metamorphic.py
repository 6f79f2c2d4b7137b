"""Behaviour-preserving rewrites of a script, and the map from each rewritten line back.

The metamorphic tests (``test_invariance.py``) audit a script and its rewrites and compare the
findings: a rewrite that does not change what the code does must not change the verdict. Every
rewrite here is written with libcst (except the minifier's, which is python-minifier's own),
keeps the rewritten code's statements traceable to the original ones, and is checked to be
what it claims: the output compiles, and for every rewrite but minification, undoing the
rewrite on CPython's tree of the output gives back CPython's tree of the input exactly.

Line mapping: a libcst rewrite reuses the original statement nodes (or records which original
node each rewritten statement came from), so each statement of the output is traced to its
original by identity, and the audit's own statement positions give both lines. python-minifier
works on its own tree, so the statements of its output are paired with the original's in
order (it is run with the options that keep every statement).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
import python_minifier
from libcst.metadata import FunctionScope, MetadataWrapper, ScopeProvider

from checks.examples import _pack
from pgolf_cli.audit.positions import statement_lines


@dataclass(frozen=True)
class Rewritten:
    text: str
    """What is audited (the packed wrapper for the packing rewrite)."""
    code: str
    """The rewritten code itself (what the audit reads after decoding)."""
    lines: dict[int, int]
    """Line of each original statement -> the line of ``code`` that statement is on now."""


_STATEMENT = (cst.BaseSmallStatement, cst.BaseCompoundStatement)


# --------------------------------------------------------------------------- names


def _all_names(module: cst.Module) -> set[str]:
    names: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    module.visit(Collect())
    return names


def _fresh(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _target_names(node: cst.BaseExpression | cst.BaseAssignTargetExpression) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, cst.Tuple | cst.List):
        for element in node.elements:
            yield from _target_names(element.value)
    elif isinstance(node, cst.StarredElement):
        yield from _target_names(node.value)


def _bound_names(statements: Sequence[cst.CSTNode]) -> set[str]:
    """Names the statements bind in their own scope (not in nested functions or classes)."""
    bound: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            bound.add(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            bound.add(node.name.value)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            bound.update(_target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            bound.update(_target_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            bound.update(_target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            bound.update(_target_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            if isinstance(node.name, cst.Name | cst.Tuple | cst.List):
                bound.update(_target_names(node.name))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            bound.update(_target_names(node.target))

        def visit_Del(self, node: cst.Del) -> None:
            bound.update(_target_names(node.target))

        def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
            if node.asname is None:
                name = node.name
                while isinstance(name, cst.Attribute):
                    name = name.value
                if isinstance(name, cst.Name):
                    bound.add(name.value)

        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                bound.add(node.name.value)

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                bound.add(node.name.value)

        def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
            if node.rest is not None:
                bound.add(node.rest.value)

        # Comprehension variables live in the comprehension's own scope.
        def visit_ListComp(self, node: cst.ListComp) -> bool:
            return False

        def visit_SetComp(self, node: cst.SetComp) -> bool:
            return False

        def visit_DictComp(self, node: cst.DictComp) -> bool:
            return False

        def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
            return False

    for statement in statements:
        statement.visit(Collect())
    return bound


def _contains(statements: Sequence[cst.CSTNode], kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    """Whether a node of ``kinds`` is in the statements' own scope."""
    found = False

    class Find(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            if isinstance(node, kinds):
                found = True
            return not found and not isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda)

    for statement in statements:
        statement.visit(Find())
    return found


# --------------------------------------------------------------------------- tracking


class _Tracking(cst.CSTTransformer):
    """Remembers which original statement each statement of the output came from."""

    def __init__(self) -> None:
        super().__init__()
        self.origin: dict[int, cst.CSTNode] = {}

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, _STATEMENT) and isinstance(result, cst.CSTNode):
            self.origin[id(result)] = original_node
        return result


def _rewrite(text: str, module: cst.Module, transformer: _Tracking) -> Rewritten | None:
    before = statement_lines(module, text)
    out = module.visit(transformer)
    code = out.code
    if code == text:
        return None
    after = statement_lines(out, code)
    lines: dict[int, int] = {}
    for node_id, (line, _end) in after.items():
        original = transformer.origin.get(node_id)
        if original is not None and id(original) in before:
            lines.setdefault(before[id(original)][0], line)
    return Rewritten(code, code, lines)


def _body_statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    assert isinstance(body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=body.body)]


def _split_docstring(
    statements: list[cst.BaseStatement],
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    first = statements[0] if statements else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and len(first.body) == 1
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    ):
        return [first], statements[1:]
    return [], statements


def _block(statements: Sequence[cst.BaseStatement]) -> cst.IndentedBlock:
    return cst.IndentedBlock(body=list(statements))


# --------------------------------------------------------------------------- wrapping bodies


class _WrapBodies(_Tracking):
    """Wrap the body of every function (after its docstring) in one compound statement."""

    def __init__(self, wrap: Callable[[cst.IndentedBlock], cst.BaseCompoundStatement]) -> None:
        super().__init__()
        self.wrap = wrap
        self.wrapped = False

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        doc, rest = _split_docstring(_body_statements(updated_node.body))
        if not rest:
            return updated_node
        self.wrapped = True
        return updated_node.with_changes(body=_block([*doc, self.wrap(_block(rest))]))


def _if_true(body: cst.IndentedBlock) -> cst.BaseCompoundStatement:
    return cst.If(test=cst.Name("True"), body=body)


def _try_finally(body: cst.IndentedBlock) -> cst.BaseCompoundStatement:
    return cst.Try(
        body=body, finalbody=cst.Finally(body=_block([cst.SimpleStatementLine([cst.Pass()])]))
    )


def _match_any(body: cst.IndentedBlock) -> cst.BaseCompoundStatement:
    return cst.Match(
        subject=cst.Integer("0"), cases=[cst.MatchCase(pattern=cst.MatchAs(), body=body)]
    )


def _null_context(body: cst.IndentedBlock) -> cst.BaseCompoundStatement:
    item = cst.WithItem(item=cst.parse_expression("contextlib.nullcontext()"))
    return cst.With(items=[item], body=body)


def _future_prefix(body: Sequence[cst.BaseStatement]) -> int:
    """How many leading statements must stay first (docstring, ``from __future__``)."""
    doc, _ = _split_docstring(list(body))
    count = len(doc)
    for statement in body[count:]:
        if (
            isinstance(statement, cst.SimpleStatementLine)
            and isinstance(statement.body[0], cst.ImportFrom)
            and isinstance(statement.body[0].module, cst.Name)
            and statement.body[0].module.value == "__future__"
        ):
            count += 1
        else:
            break
    return count


def _with_import(module: cst.Module, line: str) -> cst.Module:
    at = _future_prefix(module.body)
    statement = cst.parse_statement(line)
    return module.with_changes(body=[*module.body[:at], statement, *module.body[at:]])


def wrap_if_true(text: str, module: cst.Module) -> Rewritten | None:
    return _rewrite(text, module, _WrapBodies(_if_true))


def wrap_try_finally(text: str, module: cst.Module) -> Rewritten | None:
    return _rewrite(text, module, _WrapBodies(_try_finally))


def wrap_match(text: str, module: cst.Module) -> Rewritten | None:
    return _rewrite(text, module, _WrapBodies(_match_any))


class _WithNullContext(_WrapBodies):
    def __init__(self) -> None:
        super().__init__(_null_context)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.wrapped:
            return updated_node
        return _with_import(updated_node, "import contextlib\n")


def wrap_with(text: str, module: cst.Module) -> Rewritten | None:
    if "contextlib" in _all_names(module):
        return None  # the name is taken: the rewrite could change what it means
    return _rewrite(text, module, _WithNullContext())


def wrap_for_once(text: str, module: cst.Module) -> Rewritten | None:
    variable = _fresh("_", _all_names(module))

    def once(body: cst.IndentedBlock) -> cst.BaseCompoundStatement:
        return cst.For(target=cst.Name(variable), iter=cst.parse_expression("range(1)"), body=body)

    return _rewrite(text, module, _WrapBodies(once))


# --------------------------------------------------------------------------- nested function


class _CallNested(_Tracking):
    """Move each function's body into a nested function that the function calls and returns.

    Methods are left alone (zero-argument ``super()`` needs the method's own frame), and so are
    generators. A parameter the body assigns is declared ``nonlocal`` in the nested function.
    """

    def __init__(self, taken: set[str]) -> None:
        super().__init__()
        self.taken = taken
        self.in_class: list[bool] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.in_class.append(True)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.in_class.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.in_class.append(False)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.in_class.pop()
        method = bool(self.in_class) and self.in_class[-1]
        doc, rest = _split_docstring(_body_statements(updated_node.body))
        if method or not rest or _contains(rest, (cst.Yield,)):
            return updated_node
        name = _fresh("_body", self.taken)
        params = updated_node.params
        declared = {
            p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]
        }
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                declared.add(star.name.value)
        assigned = sorted(declared & _bound_names(rest))
        inner: list[cst.BaseStatement] = []
        if assigned:
            inner.append(
                cst.SimpleStatementLine(
                    [cst.Nonlocal(names=[cst.NameItem(cst.Name(n)) for n in assigned])]
                )
            )
        is_async = updated_node.asynchronous is not None
        nested = cst.FunctionDef(
            name=cst.Name(name),
            params=cst.Parameters(),
            body=_block([*inner, *rest]),
            asynchronous=cst.Asynchronous() if is_async else None,
        )
        call = f"await {name}()" if is_async else f"{name}()"
        result = cst.parse_statement(f"return {call}\n")
        return updated_node.with_changes(body=_block([*doc, nested, result]))


def call_nested(text: str, module: cst.Module) -> Rewritten | None:
    return _rewrite(text, module, _CallNested(_all_names(module)))


# --------------------------------------------------------------------------- main()


class _IntoMain(_Tracking):
    """Move the module's trailing executable statements into a function called at once.

    Only the statements after the last definition or import move, so nothing is defined later
    than before; the names they bind are declared ``global``, so they stay module names.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        start = len(body)
        while start > _future_prefix(body) and not _is_definition(body[start - 1]):
            start -= 1
        moved = body[start:]
        if not moved:
            return updated_node
        inner: list[cst.BaseStatement] = []
        names = sorted(_bound_names(moved))
        if names:
            inner.append(
                cst.SimpleStatementLine(
                    [cst.Global(names=[cst.NameItem(cst.Name(n)) for n in names])]
                )
            )
        function = cst.FunctionDef(
            name=cst.Name(self.name),
            params=cst.Parameters(),
            body=_block([*inner, *moved]),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        call = cst.parse_statement(f"{self.name}()\n")
        return updated_node.with_changes(body=[*body[:start], function, call])


def _is_definition(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return True
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def into_main(text: str, module: cst.Module) -> Rewritten | None:
    if any(
        isinstance(s, cst.SimpleStatementLine)
        and any(
            isinstance(x, cst.ImportFrom) and isinstance(x.names, cst.ImportStar) for x in s.body
        )
        for s in module.body
    ):
        return None  # `import *` is not allowed in a function
    taken = _all_names(module)
    return _rewrite(text, module, _IntoMain(_fresh("main", taken)))


# --------------------------------------------------------------------------- renaming


class _Rename(_Tracking):
    def __init__(self, renamed: dict[int, str]) -> None:
        super().__init__()
        self.renamed = renamed

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.renamed.get(id(original_node))
        return updated_node if new is None else updated_node.with_changes(value=new)


def rename_locals(text: str, module: cst.Module) -> Rewritten | None:
    """Give every local variable of every function a meaningless name (``_v1``, ``_v2``, ...).

    Parameters keep their names (callers may pass them by keyword), and so do names declared
    ``global`` or ``nonlocal`` anywhere and names bound by imports, definitions or ``except``.
    """
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    taken = _all_names(module)
    declared: set[str] = set()

    class Declarations(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            declared.update(item.name.value for item in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            declared.update(item.name.value for item in node.names)

    module.visit(Declarations())
    renamed: dict[int, str] = {}
    functions = sorted(
        {s for s in scopes.values() if isinstance(s, FunctionScope)},
        key=lambda s: id(s.node),
    )
    for scope in functions:
        by_name: dict[str, list[Any]] = {}
        for assignment in scope.assignments:
            by_name.setdefault(assignment.name, []).append(assignment)
        for name in sorted(by_name):
            assignments = by_name[name]
            if name in declared or name.startswith("__"):
                continue
            if not all(isinstance(getattr(a, "node", None), cst.Name) for a in assignments):
                continue  # a parameter, import, def, class or except name
            new = _fresh("_v", taken)
            for assignment in assignments:
                renamed[id(assignment.node)] = new
                for reference in assignment.references:
                    if isinstance(reference.node, cst.Name):
                        renamed[id(reference.node)] = new
    if not renamed:
        return None
    return _rewrite(text, module, _Rename(renamed))


# --------------------------------------------------------------------------- minify + pack


def _statements_in_order(tree: ast.AST) -> list[ast.stmt]:
    out: list[ast.stmt] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                out.append(child)
            walk(child)

    walk(tree)
    return out


def minify_and_pack(text: str, module: cst.Module) -> Rewritten | None:
    """python-minifier's output (local names shortened, lines joined), packed as records ship it."""
    code = python_minifier.minify(
        text,
        remove_annotations=False,
        remove_pass=False,
        combine_imports=False,
        hoist_literals=False,
        remove_explicit_return_none=False,
        remove_dead_branches=False,
        remove_object_base=False,
    )
    before = _statements_in_order(ast.parse(text))
    after = _statements_in_order(ast.parse(code))
    matcher = difflib.SequenceMatcher(
        a=[type(s).__name__ for s in after], b=[type(s).__name__ for s in before], autojunk=False
    )
    lines: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            lines.setdefault(before[block.b + k].lineno, after[block.a + k].lineno)
    return Rewritten(_pack(code, "lzma-b85"), code, lines)


Transform = Callable[[str, cst.Module], Rewritten | None]

TRANSFORMS: dict[str, Transform] = {
    "if-true": wrap_if_true,
    "try-finally": wrap_try_finally,
    "match-case": wrap_match,
    "with-nullcontext": wrap_with,
    "for-range-1": wrap_for_once,
    "nested-function": call_nested,
    "into-main": into_main,
    "rename-locals": rename_locals,
    "minify-pack": minify_and_pack,
}


# --------------------------------------------------------------------------- undoing rewrites


class _Undo(ast.NodeTransformer):
    """Undo a rewrite on CPython's tree of its output, to compare with the input's tree."""

    def __init__(self, kind: str, renamed: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.renamed = renamed or {}

    def _unwrap(self, body: list[ast.stmt]) -> list[ast.stmt]:
        doc = (
            body[:1]
            if body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
            else []
        )
        rest = body[len(doc) :]
        if len(rest) != 1:
            return body
        (only,) = rest
        kind = self.kind
        if (
            kind == "if-true"
            and isinstance(only, ast.If)
            and isinstance(only.test, ast.Constant)
            and only.test.value is True
            and not only.orelse
        ):
            return doc + only.body
        if (
            kind == "try-finally"
            and isinstance(only, ast.Try)
            and not only.handlers
            and not only.orelse
            and len(only.finalbody) == 1
            and isinstance(only.finalbody[0], ast.Pass)
        ):
            return doc + only.body
        if (
            kind == "match-case"
            and isinstance(only, ast.Match)
            and len(only.cases) == 1
            and isinstance(only.cases[0].pattern, ast.MatchAs)
            and only.cases[0].pattern.name is None
            and only.cases[0].guard is None
        ):
            return doc + only.cases[0].body
        if (
            kind == "with-nullcontext"
            and isinstance(only, ast.With)
            and len(only.items) == 1
            and ast.unparse(only.items[0].context_expr) == "contextlib.nullcontext()"
            and only.items[0].optional_vars is None
        ):
            return doc + only.body
        if (
            kind == "for-range-1"
            and isinstance(only, ast.For)
            and ast.unparse(only.iter) == "range(1)"
            and not only.orelse
        ):
            return doc + only.body
        return body

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        if self.kind == "nested-function":
            body = node.body
            doc = body[:1] if len(body) == 3 else []
            tail = body[len(doc) :]
            if (
                len(tail) == 2
                and isinstance(tail[0], ast.FunctionDef | ast.AsyncFunctionDef)
                and tail[0].name.startswith("_body")
                and isinstance(tail[1], ast.Return)
                and tail[0].name in ast.unparse(tail[1])
            ):
                inner = [s for s in tail[0].body if not isinstance(s, ast.Nonlocal)]
                node.body = doc + inner
            return node
        node.body = self._unwrap(node.body)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.renamed.get(node.id, node.id)
        return node


def undo(kind: str, original: str, rewritten: str) -> ast.Module:
    """CPython's tree of ``rewritten`` with the rewrite ``kind`` undone."""
    tree = ast.parse(rewritten)
    if kind == "with-nullcontext":
        tree.body = [
            s
            for s in tree.body
            if not (
                isinstance(s, ast.Import)
                and [a.name for a in s.names] == ["contextlib"]
                and s.names[0].asname is None
            )
        ]
    if kind == "into-main":
        *head, function, call = tree.body
        assert isinstance(function, ast.FunctionDef) and isinstance(call, ast.Expr)
        tree.body = head + [s for s in function.body if not isinstance(s, ast.Global)]
        return tree
    renamed: dict[str, str] = {}
    if kind == "rename-locals":
        # Pair the names of both trees in order: each new name must stand for one old name.
        for old, new in zip(ast.walk(ast.parse(original)), ast.walk(tree), strict=True):
            if isinstance(old, ast.Name) and isinstance(new, ast.Name) and old.id != new.id:
                assert renamed.setdefault(new.id, old.id) == old.id, (new.id, old.id)
    return _Undo(kind, renamed).visit(tree)


# --------------------------------------------------------------------------- applicability


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _own_scope(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of a body, without descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _has_body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = function.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return bool(body)


def applies(kind: str, text: str, tree: ast.Module) -> bool:
    """Whether the rewrite ``kind`` changes ``text``, decided cheaply on ``tree`` (CPython's)."""
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if kind in ("if-true", "try-finally", "match-case", "for-range-1"):
        return any(_has_body(f) for f in functions)
    if kind == "with-nullcontext":
        return "contextlib" not in text and any(_has_body(f) for f in functions)
    if kind == "nested-function":
        methods = {id(s) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for s in c.body}
        return any(
            _has_body(f)
            and id(f) not in methods
            and not any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_scope(f.body))
            for f in functions
        )
    if kind == "into-main":
        lines = {}
        for statement in tree.body:
            lines.setdefault(statement.lineno, []).append(statement)
        last = tree.body[-1] if tree.body else None
        if last is None or any(
            isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names) for s in tree.body
        ):
            return False
        same_line = lines[last.lineno]
        definitions = (
            ast.FunctionDef,
            ast.AsyncFunctionDef,
            ast.ClassDef,
            ast.Import,
            ast.ImportFrom,
        )
        is_doc = (
            len(tree.body) == 1
            and isinstance(last, ast.Expr)
            and isinstance(last.value, ast.Constant)
        )
        return not is_doc and not any(isinstance(s, definitions) for s in same_line)
    if kind == "rename-locals":
        for f in functions:
            params = {a.arg for a in [*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs]}
            params |= {a.arg for a in (f.args.vararg, f.args.kwarg) if a is not None}
            declared = {
                name
                for n in ast.walk(tree)
                if isinstance(n, ast.Global | ast.Nonlocal)
                for name in n.names
            }
            other = {
                (a.asname or a.name).split(".")[0]
                for n in _own_scope(f.body)
                if isinstance(n, ast.Import | ast.ImportFrom)
                for a in n.names
            }
            other |= {
                n.name
                for n in f.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            }
            other |= {
                n.name for n in _own_scope(f.body) if isinstance(n, ast.ExceptHandler) and n.name
            }
            for n in _own_scope(f.body):
                if (
                    isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)
                    and n.id not in params | declared | other
                    and not n.id.startswith("__")
                ):
                    return True
        return False
    return kind == "minify-pack"
