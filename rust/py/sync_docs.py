"""Write the docstrings of python/dnsrace/_core.pyi into the binding's Rust doc comments.

The stub is the one place the native API is documented (the docs site is built from it);
PyO3 turns each `///` comment into `__doc__`, so `help()` shows the same text. Run it after
editing a docstring of the stub (`make stub-docs`); tests/store/test_store_docs.py fails while the
two disagree.

    python rust/py/sync_docs.py [--check]
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "dnsrace" / "_core.pyi"
# The calls every store shares are declared in the Store protocol; a stub class whose base is
# ``Store[...]`` gets their docstrings too (its own declaration of a call wins).
API = ROOT / "python" / "dnsrace" / "_api.pyi"
# Stub class -> Rust file holding its #[pyclass] struct and #[pymethods] block.
CLASSES = {"Plan": ROOT / "rust/py/src/plan.rs", "RecordStore": ROOT / "rust/py/src/store/mod.rs"}
STRUCTS = {"Plan": "PyPlan", "RecordStore": "RecordStore"}


def _member_docs(node: ast.ClassDef) -> dict[str, str]:
    """Per member (first overload with a docstring), the cleaned docstring."""
    docs: dict[str, str] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            doc = ast.get_docstring(item)
            if doc and item.name not in docs:
                docs[item.name] = inspect.cleandoc(doc)
    return docs


def _base_names(node: ast.ClassDef) -> list[str]:
    return [ast.unparse(b.value if isinstance(b, ast.Subscript) else b) for b in node.bases]


def stub_docs() -> dict[str, dict[str, str]]:
    """Per stub class, per member (first overload with a docstring, the class's own before
    its bases'), the cleaned docstring; the class's own under ``""``."""
    api = {n.name: n for n in ast.parse(API.read_text()).body if isinstance(n, ast.ClassDef)}
    tree = ast.parse(STUB.read_text())
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in CLASSES:
            docs = {"": inspect.cleandoc(ast.get_docstring(node) or "")}
            docs.update(_member_docs(node))
            for base in _base_names(node):
                if base in api:
                    for name, doc in _member_docs(api[base]).items():
                        docs.setdefault(name, doc)
            out[node.name] = docs
    return out


def class_doc(docs: dict[str, str]) -> str:
    """A class's ``__doc__``: its docstring, then the constructor's (PyO3 documents
    ``__new__`` on the class)."""
    new = docs.get("__new__")
    return docs[""] + (f"\n\nConstructor: {new}" if new else "")


def comment(doc: str, indent: str) -> list[str]:
    return [f"{indent}///{' ' + line if line else ''}\n" for line in doc.splitlines()]


def rewrite(source: str, struct: str, docs: dict[str, str]) -> str:
    lines = source.splitlines(keepends=True)

    def replace_above(index: int, doc: str) -> None:
        # Walk up over attributes (one- or multi-line) and old doc comments.
        top = index
        in_attr = False
        while top > 0:
            text = lines[top - 1].strip()
            if in_attr:
                top -= 1
                in_attr = not text.startswith("#[")
            elif text.startswith("///") or text.startswith("#["):
                top -= 1
            elif text.endswith(")]"):
                top -= 1
                in_attr = True
            else:
                break
        block = [line for line in lines[top:index] if not line.strip().startswith("///")]
        indent = re.match(r"\s*", lines[index]).group(0)  # type: ignore[union-attr]
        lines[top:index] = comment(doc, indent) + block

    struct_line = next(i for i, line in enumerate(lines) if f"pub struct {struct} " in line)
    replace_above(struct_line, class_doc(docs))
    start = next(i for i, line in enumerate(lines) if f"impl {struct} {{" in line and
                 lines[i - 1].strip() == "#[pymethods]")
    for name, doc in docs.items():
        if name in ("", "__new__"):
            continue
        pattern = re.compile(rf"^\s*fn {re.escape(name)}\b")
        found = [i for i, line in enumerate(lines) if i > start and pattern.match(line)]
        if not found:
            raise SystemExit(f"{struct}: no fn {name} in the #[pymethods] block")
        replace_above(found[0], doc)
    return "".join(lines)


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for cls, docs in stub_docs().items():
        path = CLASSES[cls]
        old = path.read_text()
        new = rewrite(old, STRUCTS[cls], docs)
        if new != old:
            stale.append(path)
            if not check:
                path.write_text(new)
    if check and stale:
        print("doc comments out of date (run make stub-docs):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
