"""Who: enterprise profiles, size classification, matching, subscribers and the store."""

from subscriptions._size import (
    SIZE_NAMES,
    SIZES,
    SizeGroup,
    SizeResult,
    SizeStandard,
    build_standard,
    classify,
)
from subscriptions._vocab import load_size_standard

__all__ = [
    "SIZES",
    "SIZE_NAMES",
    "SizeGroup",
    "SizeResult",
    "SizeStandard",
    "build_standard",
    "classify",
    "load_size_standard",
]
