"""Reading the vocabularies matching needs from data/vocab (YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from schedulers.data import DATA_DIR
from subscriptions._profile import Division, Industries, Term, Vocab
from subscriptions._size import SizeStandard, build_standard

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built


def _read(name: str, data_dir: Path) -> Any:
    with (data_dir / "vocab" / name).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def load_size_standard(data_dir: Path = DATA_DIR) -> SizeStandard:
    """《中小企业划型标准规定》 from data/vocab/size_standard.yaml."""
    return build_standard(_read("size_standard.yaml", data_dir))


def _terms(raw: Any) -> tuple[Term, ...]:
    return tuple(
        Term(
            name=str(e["name"]),
            aliases=tuple(str(a) for a in e.get("aliases") or ())
            + ((str(e["full_name"]),) if e.get("full_name") else ()),
            divisions=tuple(str(d) for d in e.get("divisions") or ()),
            level=e.get("level"),
        )
        for e in raw
    )


def load_vocab(data_dir: Path = DATA_DIR) -> Vocab:
    """Industries, qualifications, chains, sectors and districts from data/vocab."""
    sections: dict[str, str] = {}
    divisions: dict[str, Division] = {}
    for section in _read("industries.yaml", data_dir):
        sections[str(section["code"])] = str(section["name"])
        for d in section["divisions"]:
            divisions[str(d["code"])] = Division(
                str(section["code"]), str(d["code"]), str(d["name"])
            )
    groups = _read("chains.yaml", data_dir)
    return Vocab(
        industries=Industries(sections, divisions),
        qualifications=_terms(_read("qualifications.yaml", data_dir)),
        chains=_terms(groups["chains"]),
        sectors=_terms(groups["sectors"]),
        districts=_terms(_read("districts.yaml", data_dir)),
        operators=_terms(_read("operators.yaml", data_dir)),
    )
