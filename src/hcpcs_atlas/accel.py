"""Optional C accelerators, loaded by module name; None means "use the pure-Python path".

A C accelerator is compiled at install when a C compiler is present (setup.py); it must give exactly
what the pure-Python path gives, including which input it refuses and where. Setting
HCPCS_ATLAS_PURE_PYTHON=1 forces the pure-Python path, which is how tests compare the two.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_ENV = "HCPCS_ATLAS_PURE_PYTHON"


def load(name: str) -> ModuleType | None:
    """The compiled module ``name`` (absolute), or None when it is not built or pure Python is asked for."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
