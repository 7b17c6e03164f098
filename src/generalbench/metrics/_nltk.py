"""nltk submodules (the Porter stemmer, the Treebank word rules) without `import nltk`.

Why: nltk's package `__init__` imports nearly all of nltk and, through it, scipy.stats and
scikit-learn: about 3 s of CPU at every start of `generalbench score`, paid for two small files
(nltk/stem/porter.py, nltk/tokenize/destructive.py) whose own imports are a handful of leaf
modules. `submodule` loads such a file from the installed nltk with the packages above it stood in
by bare package modules (their `__init__` not run), then removes every `nltk*` entry it added from
`sys.modules`, so a later `import nltk` anywhere in the process still gets the real, complete
package. When nltk is already imported, it is a plain import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types

_LOCK = threading.Lock()


def submodule(name: str) -> types.ModuleType:
    """The module `name` (e.g. "nltk.stem.porter"), its parent packages' `__init__` not run.

    Raises ImportError (ModuleNotFoundError) when the package is not installed, like `import`.
    """
    top = name.split(".", 1)[0]
    with _LOCK:
        if name in sys.modules or top in sys.modules:
            return importlib.import_module(name)
        spec = importlib.util.find_spec(top)
        if spec is None or spec.submodule_search_locations is None:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        before = set(sys.modules)
        try:
            parts = name.split(".")
            path: list[str] | None = None
            for i in range(1, len(parts)):
                package = ".".join(parts[:i])
                found = importlib.machinery.PathFinder.find_spec(package, path)
                if found is None or found.submodule_search_locations is None:
                    raise ModuleNotFoundError(f"No module named {package!r}", name=package)
                stub = types.ModuleType(package)
                stub.__path__ = list(found.submodule_search_locations)
                sys.modules[package] = stub
                path = stub.__path__
            return importlib.import_module(name)
        finally:
            for added in set(sys.modules) - before:
                if added == top or added.startswith(top + "."):
                    del sys.modules[added]
