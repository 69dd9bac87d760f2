"""``require`` for the converters (it lives in ``kizuna._optional``, below every layer)."""

from __future__ import annotations

from .._optional import require

__all__ = ["require"]
