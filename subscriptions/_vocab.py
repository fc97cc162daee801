"""Loading the vocabularies matching needs from data/vocab (the only I/O here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from subscriptions._size import SizeStandard, build_standard

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def _read(name: str, data_dir: Path) -> Any:
    with (data_dir / "vocab" / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_size_standard(data_dir: Path = DATA_DIR) -> SizeStandard:
    """《中小企业划型标准规定》 from data/vocab/size_standard.yaml."""
    return build_standard(_read("size_standard.yaml", data_dir))
