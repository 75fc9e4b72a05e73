"""Load spyne 2.14 quietly on Python 3.11 (design.md: spyne imports only on <= 3.11).

spyne bundles six 1.14, whose meta-path importer predates PEP 451: each import
that reaches it - spyne's own `import thread`, and later *any* failed optional
import in the process (`try: import x except ImportError`) - makes importlib warn
"find_spec() not found", an ImportWarning that pytest's filterwarnings=error turns
into a crash far from here. six 1.16 gave its importer find_spec, create_module
and exec_module; this module gives spyne's copy the same three methods. Import it
before anything imports spyne (ocpp_server/v15/__init__.py does, first).
"""

from __future__ import annotations

import warnings
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_loader
from types import ModuleType
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ImportWarning)  # spyne's `import thread`
    import spyne  # noqa: F401
    from spyne.util.six import _SixMetaPathImporter


def _find_spec(
    self: Any, fullname: str, path: Any = None, target: Any = None
) -> ModuleSpec | None:
    if fullname in self.known_modules:
        return spec_from_loader(fullname, self)
    return None


def _create_module(self: Any, spec: ModuleSpec) -> ModuleType:
    module: ModuleType = self.load_module(spec.name)
    return module


def _exec_module(self: Any, module: ModuleType) -> None:
    """Nothing to do: create_module returned the loaded module (as six 1.16)."""


if not hasattr(_SixMetaPathImporter, "find_spec"):
    _SixMetaPathImporter.find_spec = _find_spec
    _SixMetaPathImporter.create_module = _create_module
    _SixMetaPathImporter.exec_module = _exec_module
