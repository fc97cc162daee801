"""Reading and validating the policy catalog under data/ (YAML files, JSON Schema).

Every problem is collected and reported with its file and field; nothing is skipped
silently. Policies come out as frozen values (see `schedulers._catalog`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # jsonschema is imported where a catalog is validated, not on every import
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from schedulers._catalog import (
    Catalog,
    CatalogError,
    Department,
    PolicyList,
    Problem,
    Term,
    Vocabulary,
    build_policy,
    parse_iso_date,
    parse_month_day,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


# --- YAML --------------------------------------------------------------------------------


# libyaml's parser where PyYAML was built with it (its wheels are), the pure-Python one else:
# the same documents, about ten times faster to read.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML with dates kept as strings (the schema checks them) and no duplicate keys."""


# YAML 1.2 booleans only: `no`, `on`, `yes` stay strings (the listing field `no` among them).
_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def _yaml_problem(path: Path, rel: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = getattr(exc, "problem", None) or str(exc)
    return Problem(rel, "", f"not valid YAML: {where}{what}")


# --- Vocabularies ------------------------------------------------------------------------


def load_vocabulary(data_dir: Path = DATA_DIR) -> Vocabulary:
    """Read data/vocab; raise CatalogError naming the file when one is malformed."""
    vocab_dir = data_dir / "vocab"
    problems: list[Problem] = []

    def entries(name: str) -> list[dict[str, Any]]:
        path = vocab_dir / name
        try:
            raw = _read_yaml(path)
        except (OSError, yaml.YAMLError) as exc:
            problems.append(Problem(f"vocab/{name}", "", f"cannot be read: {exc}"))
            return []
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            problems.append(Problem(f"vocab/{name}", "", "must be a list of mappings"))
            return []
        return raw

    def terms(name: str) -> tuple[Term, ...]:
        return tuple(
            Term(str(e["key"]), str(e["name"]), e.get("description")) for e in entries(name)
        )

    lists = tuple(
        PolicyList(
            key=str(e["key"]),
            name=str(e["name"]),
            seed=str(e["seed"]) if e.get("seed") else None,
            numbered=bool(e.get("numbered", False)),
            sections=tuple(e.get("sections", ())),
        )
        for e in entries("lists.yaml")
    )
    departments: dict[str, Department] = {}
    for path in sorted((vocab_dir / "departments").glob("*.yaml")):
        for e in entries(f"departments/{path.name}"):
            dep = Department(str(e["name"]), e.get("parent"), e.get("level"))
            if dep.name in departments and departments[dep.name] != dep:
                problems.append(
                    Problem(
                        f"vocab/departments/{path.name}", dep.name, "defined twice, differently"
                    )
                )
            departments[dep.name] = dep
    vocab = Vocabulary(
        levels=terms("levels.yaml"),
        categories=terms("categories.yaml"),
        window_kinds=terms("window_kinds.yaml"),
        bases=terms("bases.yaml"),
        lists=lists,
        departments=tuple(sorted(departments.values(), key=lambda d: d.name)),
    )
    if problems:
        raise CatalogError(problems)
    return vocab


def policy_schema(vocab: Vocabulary, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """The policy JSON Schema with its enums filled in from the vocabularies."""
    schema: dict[str, Any] = json.loads(
        (data_dir / "schemas" / "policy.schema.json").read_text(encoding="utf-8")
    )
    defs = schema["$defs"]
    defs["level"]["enum"] = [t.key for t in vocab.levels]
    defs["category"]["enum"] = [t.key for t in vocab.categories]
    defs["department"]["enum"] = [d.name for d in vocab.departments]
    defs["list"]["enum"] = [pl.name for pl in vocab.lists]
    defs["seed"]["enum"] = [pl.seed for pl in vocab.lists if pl.seed]
    defs["window"]["properties"]["kind"]["enum"] = [t.key for t in vocab.window_kinds]
    return schema


# --- Validation --------------------------------------------------------------------------


def _field_path(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_message(err: ValidationError) -> str:
    if err.validator == "enum" and isinstance(err.validator_value, list):
        allowed = ", ".join(map(str, err.validator_value[:12]))
        more = " ..." if len(err.validator_value) > 12 else ""
        return f"{err.instance!r} is not one of: {allowed}{more}"
    if err.validator == "pattern":
        hint = err.schema.get("description") if isinstance(err.schema, dict) else None
        return f"{err.instance!r} does not match {err.validator_value}" + (
            f" ({hint})" if hint else ""
        )
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown field(s)")
    return err.message


def _forbidden_field(raw: Any, err: ValidationError) -> Problem | None:
    """A `false` schema error (a field this kind of entry must not have), named properly."""
    if err.validator is not None:
        return None
    container = raw
    for part in err.path:
        container = container[part]
    if not isinstance(container, dict):
        return None
    names = [k for k, v in container.items() if v == err.instance]
    kind = container.get("kind")
    name = names[0] if names else "?"
    field = _field_path([*err.path, name])
    return Problem("", field, f"not allowed when kind is {kind!r}")


def _schema_problems(rel: str, raw: Any, validator: Draft202012Validator) -> list[Problem]:
    problems = []
    for err in sorted(
        validator.iter_errors(raw), key=lambda e: (list(map(str, e.path)), e.message)
    ):
        # Errors inside if/then branches come out once each; the `anyOf` wrappers too.
        if err.validator == "anyOf" and err.context:
            needed = sorted(
                {c.validator_value[0] for c in err.context if c.validator == "required"}
            )
            message = f"needs one of: {', '.join(needed)}" if needed else err.message
        else:
            forbidden = _forbidden_field(raw, err)
            if forbidden is not None:
                problems.append(Problem(rel, forbidden.field, forbidden.message))
                continue
            message = _schema_message(err)
        problems.append(Problem(rel, _field_path(err.path), message))
    return problems


# Words of the catalog's own schema, and the maintainers' way of saying how something was
# recorded: they belong in `notes`, never in what an enterprise reads.
_MAINTAINER_SPEAK = re.compile(
    r"\b(?:continuous|annual|dated|tbd|stated|estimated|confirmed|basis|windows?|kind|"
    r"category|subsidy|award|validity|listed_in|issuer)\b|记为|按.{0,12}记录"
)
_PUBLIC_TEXT = ("name", "summary", "procedure")


def _public_texts(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, text) for everything of a policy an enterprise reads."""
    for key in _PUBLIC_TEXT:
        if isinstance(raw.get(key), str):
            yield key, raw[key]
    for i, b in enumerate(raw.get("benefits", ())):
        yield f"benefits[{i}].text", b["text"]
        if "for" in b:
            yield f"benefits[{i}].for", b["for"]
    yield "eligibility.text", raw["eligibility"]["text"]
    for i, c in enumerate(raw["eligibility"].get("conditions", ())):
        for key in ("text", "question"):
            if key in c:
                yield f"eligibility.conditions[{i}].{key}", c[key]
    for i, m in enumerate(raw.get("materials", ())):
        yield f"materials[{i}]", m


def _names_of(data_dir: Path, name: str) -> frozenset[str]:
    """Every name and alias of a vocabulary of terms (qualifications, operators)."""
    path = data_dir / "vocab" / name
    stat = path.stat()
    return _names_in(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _names_in(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """The names of one vocabulary file as it is on disk (read once per version of it)."""
    raw = _read_yaml(Path(path))
    return frozenset(
        str(n) for e in raw for n in (e["name"], *(e.get("aliases") or ()), e.get("full_name")) if n
    )


def _term_problems(rel: str, raw: Mapping[str, Any], data_dir: Path) -> list[Problem]:
    """Designations and operator kinds must be the vocabularies' names."""
    problems: list[Problem] = []
    qualifications = _names_of(data_dir, "qualifications.yaml")
    operators = _names_of(data_dir, "operators.yaml")
    for key in ("confers", "outranked_by"):
        for i, name in enumerate(raw.get(key, ())):
            if name not in qualifications:
                problems.append(
                    Problem(
                        rel, f"{key}[{i}]", f"{name!r} is not in data/vocab/qualifications.yaml"
                    )
                )
    for i, c in enumerate(raw["eligibility"].get("conditions", ())):
        if c["kind"] == "operator":
            for name in c["any"]:
                if name not in operators:
                    problems.append(
                        Problem(
                            rel,
                            f"eligibility.conditions[{i}].any",
                            f"{name!r} is not in data/vocab/operators.yaml",
                        )
                    )
    return problems


def _semantic_problems(
    rel: str, raw: Mapping[str, Any], folder: str, vocab: Vocabulary
) -> list[Problem]:
    """Checks the schema cannot express: real dates, order of dates, file and folder names,
    maintainers' words in what enterprises read, a dated name on a recurring window."""
    problems: list[Problem] = []
    for where, text in _public_texts(raw):
        found = _MAINTAINER_SPEAK.search(text)
        if found:
            problems.append(
                Problem(
                    rel,
                    where,
                    f"enterprises read this; {found.group(0)!r} is a maintainer's word: "
                    "move how it was recorded to `notes`",
                )
            )
    year_named = re.match(r"(20\d\d)年", raw["name"])
    if year_named and any(w["kind"] == "annual" for w in raw["windows"]):
        problems.append(
            Problem(
                rel,
                "name",
                f"names one year ({year_named.group(1)}) but has an annual window: name the "
                "recurring policy without the year, or give that year's round as a dated window",
            )
        )
    stem = Path(rel).stem
    if raw["id"] != stem:
        problems.append(Problem(rel, "id", f"{raw['id']!r} differs from the file name {stem!r}"))
    home = next((pl for pl in vocab.lists if pl.key == folder), None)
    if home is None:
        keys = ", ".join(pl.key for pl in vocab.lists)
        problems.append(Problem(rel, "", f"folder {folder!r} is not a list key ({keys})"))
    elif not any(li["list"] == home.name for li in raw["listed_in"]):
        problems.append(
            Problem(rel, "listed_in", f"must include {home.name}, the list of its folder")
        )
    for i, li in enumerate(raw["listed_in"]):
        pl = vocab.list_by_name(li["list"])
        if pl and pl.sections and li.get("section") not in pl.sections:
            problems.append(
                Problem(rel, f"listed_in[{i}].section", f"must be one of: {', '.join(pl.sections)}")
            )
        if pl and pl.numbered and "no" not in li:
            problems.append(
                Problem(rel, f"listed_in[{i}].no", f"{pl.name} is numbered: give the row number")
            )

    def check_range(
        where: str, names: tuple[str, str], values: tuple[Any, Any], parse: Any
    ) -> None:
        parsed: list[Any] = []
        for name, value in zip(names, values, strict=True):
            if value is None:
                parsed.append(None)
                continue
            try:
                parsed.append(parse(value))
            except ValueError:
                problems.append(Problem(rel, f"{where}.{name}", f"{value!r} is not a real date"))
                return
        if parsed[0] is not None and parsed[1] is not None and parsed[1] < parsed[0]:
            problems.append(
                Problem(rel, where, f"{names[1]} ({values[1]}) is before {names[0]} ({values[0]})")
            )

    for i, w in enumerate(raw["windows"]):
        where = f"windows[{i}]"
        if w["kind"] == "annual":
            check_range(where, ("open", "close"), (w.get("open"), w.get("close")), parse_month_day)
        elif w["kind"] == "dated":
            check_range(where, ("open", "close"), (w.get("open"), w.get("close")), parse_iso_date)
        elif w["kind"] == "continuous":
            check_range(where, ("from", "until"), (w.get("from"), w.get("until")), parse_iso_date)
    if "validity" in raw:
        v = raw["validity"]
        check_range("validity", ("from", "until"), (v.get("from"), v.get("until")), parse_iso_date)
    for i, s in enumerate(raw["sources"]):
        if "date" in s:
            check_range(f"sources[{i}]", ("date", "date"), (s["date"], None), parse_iso_date)
    return problems


def _iter_policy_files(policies_dir: Path) -> Iterator[Path]:
    yield from sorted(policies_dir.rglob("*.yaml"))
    yield from sorted(policies_dir.rglob("*.yml"))


def _listing_key(li: Mapping[str, Any]) -> tuple[str, str, int] | None:
    if "no" not in li:
        return None
    return (li["list"], li.get("section") or "", li["no"])


def validate(
    policies_dir: Path, data_dir: Path = DATA_DIR
) -> tuple[list[Problem], list[tuple[str, str, dict[str, Any]]]]:
    """Validate every policy file under `policies_dir`.

    Returns the problems and the raw policies that passed (relative path, folder, data).
    """
    vocab = load_vocabulary(data_dir)
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(policy_schema(vocab, data_dir))
    problems: list[Problem] = []
    good: list[tuple[str, str, dict[str, Any]]] = []
    seen_ids: dict[str, str] = {}
    seen_rows: dict[tuple[str, str, int], str] = {}
    for path in _iter_policy_files(policies_dir):
        rel = path.relative_to(policies_dir).as_posix()
        folder = rel.split("/")[0] if "/" in rel else ""
        if path.suffix == ".yml":
            problems.append(Problem(rel, "", "policy files end in .yaml"))
            continue
        try:
            raw = _read_yaml(path)
        except yaml.YAMLError as exc:
            problems.append(_yaml_problem(path, rel, exc))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(rel, "", f"cannot be read: {exc}"))
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(rel, "", "must be a mapping of policy fields"))
            continue
        found = _schema_problems(rel, raw, validator)
        if not found:
            found = _semantic_problems(rel, raw, folder, vocab) + _term_problems(rel, raw, data_dir)
        problems.extend(found)
        if "id" in raw and isinstance(raw["id"], str):
            if raw["id"] in seen_ids:
                problems.append(
                    Problem(rel, "id", f"duplicate id {raw['id']!r}, also in {seen_ids[raw['id']]}")
                )
            seen_ids.setdefault(raw["id"], rel)
        if found:
            continue
        for i, li in enumerate(raw["listed_in"]):
            key = _listing_key(li)
            if key is None:
                continue
            if key in seen_rows:
                section = f" section {key[1]}" if key[1] else ""
                problems.append(
                    Problem(
                        rel,
                        f"listed_in[{i}]",
                        f"row {key[2]}{section} of {key[0]} is also claimed by {seen_rows[key]}",
                    )
                )
            seen_rows.setdefault(key, rel)
        good.append((rel, folder, raw))
    problems.extend(_link_problems(good))
    return problems, good


def _link_problems(good: list[tuple[str, str, dict[str, Any]]]) -> list[Problem]:
    """A successor and a next rung must be policies of the catalog, and not the policy itself."""
    ids = {raw["id"] for _, _, raw in good}
    problems: list[Problem] = []
    for rel, _, raw in good:
        for where, target in (
            ("superseded_by.id", (raw.get("superseded_by") or {}).get("id")),
            ("next_rung", raw.get("next_rung")),
        ):
            if target is None:
                continue
            if target == raw["id"]:
                problems.append(Problem(rel, where, "names the policy itself"))
            elif target not in ids:
                problems.append(Problem(rel, where, f"{target!r} is not a policy of the catalog"))
    return problems


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    """Load and validate the whole catalog; raise CatalogError listing every problem."""
    problems, good = validate(data_dir / "policies", data_dir)
    if problems:
        raise CatalogError(problems)
    policies = sorted((build_policy(raw) for _, _, raw in good), key=lambda p: p.id)
    canonical = json.dumps(
        sorted((raw["id"], raw) for _, _, raw in good), ensure_ascii=False, sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return Catalog(tuple(policies), load_vocabulary(data_dir), digest)
