"""Importing optional heavy libraries on first use, safely from several threads at once.

pypinyin, jieba and OpenCC are imported where they are first needed, so that the app starts fast. The app
serves requests on several threads, and two threads that import a package with import cycles inside it
(pypinyin's) for the first time at the same moment can deadlock or see a half-initialised module: Python's
import lock is per module. So every such import goes through `import_modules`, under one lock.
"""

from __future__ import annotations

import importlib
import threading

_lock = threading.Lock()
_imported: set[str] = set()  # only grows; names are added once their import has finished


def import_modules(*names: str) -> None:
    """Import every module of `names` (and so its packages), one thread at a time; at once if done before."""
    if _imported.issuperset(names):
        return
    with _lock:
        for name in names:
            importlib.import_module(name)
        _imported.update(names)
