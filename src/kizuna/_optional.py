"""Import an optional peer package, or raise one clear ``InteropError`` naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import InteropError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise ``InteropError`` saying ``pip install 'kizuna[extra]'``.

    Example:
        >>> require("json", "none").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InteropError(
            f"{module!r} is not installed ({exc}); install it with: pip install 'kizuna[{extra}]'"
        ) from None
