"""help() answers (issue 18): every public callable of the native module and of the reference
store has a docstring, and the native docstrings are the stub's (rust/py/sync_docs.py writes
them into the Rust doc comments; this test fails while the two disagree)."""

from __future__ import annotations

import importlib.util
import inspect
import pydoc
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dnsrace._core as core
from dnsrace import reference

ROOT = Path(__file__).resolve().parents[2]
# Dunders that are part of the API (the rest of a class's dunders are the language's).
API_DUNDERS = {"__len__", "__contains__", "__init__", "__new__", "__reduce__", "__copy__"}


def _sync_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_docs", ROOT / "rust/py/sync_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sync_docs"] = module
    spec.loader.exec_module(module)
    return module


def _members(cls: type) -> list[tuple[str, Any]]:
    return [
        (name, value)
        for name, value in vars(cls).items()
        if not name.startswith("_") or name in API_DUNDERS
    ]


def _doc(value: Any) -> str | None:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return getattr(value, "__doc__", None)


@pytest.mark.parametrize(
    "cls", [core.RecordStore, core.Plan, reference.PyRecordStore, reference.Plan]
)
def test_every_public_callable_has_a_docstring(cls: type) -> None:
    assert (cls.__doc__ or "").strip(), cls
    missing = [name for name, value in _members(cls) if not (_doc(value) or "").strip()]
    assert missing == [], f"{cls.__qualname__}: no docstring on {missing}"


def test_every_public_function_of_the_module_has_a_docstring() -> None:
    for name in core.__all__:
        assert (getattr(core, name).__doc__ or "").strip(), name


def test_native_docstrings_are_the_stubs() -> None:
    sync = _sync_docs()
    classes = {"RecordStore": core.RecordStore, "Plan": core.Plan}
    for cls_name, docs in sync.stub_docs().items():
        cls = classes[cls_name]
        assert inspect.cleandoc(cls.__doc__ or "") == sync.class_doc(docs), cls_name
        for name, doc in docs.items():
            if name == "" or name.startswith("__"):
                # Slot methods (__len__, ...) carry the interpreter's own text.
                continue
            runtime = _doc(inspect.getattr_static(cls, name))
            assert inspect.cleandoc(runtime or "") == doc, f"{cls_name}.{name}"


def test_every_native_method_is_documented_in_the_stubs() -> None:
    # RecordStore's shared calls are declared on its base, the Store protocol (_api.pyi):
    # their docstrings must be found there, not silently left unchecked.
    sync = _sync_docs()
    documented = sync.stub_docs()
    for cls_name, cls in (("RecordStore", core.RecordStore), ("Plan", core.Plan)):
        public = [name for name, _ in _members(cls) if not name.startswith("__")]
        missing = [name for name in public if name not in documented[cls_name]]
        assert missing == [], f"{cls_name}: no stub docstring for {missing}"


def test_help_of_flip_many_shows_parameters_and_errors() -> None:
    text = pydoc.render_doc(core.RecordStore.flip_many, renderer=pydoc.plaintext)
    for word in ("endpoints", "generation", "expected_versions", "fence", "outcomes"):
        assert word in text
    for error in ("Raises", "InvalidGeneration", "UnknownEndpoint", "TooLarge"):
        assert error in text
