"""What the commands, the web app and the scheduler do with the store: rounds, plans, texts."""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot._settings import DEFAULT_HOTLINE
from bot._views import render_message
from schedulers import (
    ANNOUNCEMENT,
    CONTINUOUS,
    EXPIRED,
    Announcement,
    AnnualWindow,
    Audience,
    Basis,
    Capabilities,
    Catalog,
    Channel,
    Deadline,
    DeadlineOf,
    Digest,
    Entry,
    GroupAudience,
    Kind,
    Message,
    Policy,
    Preferences,
    Reminder,
    Round,
    RoundBook,
    RoundInfo,
    announce_kind,
    at_local,
    change_kind,
    digest_audience,
    is_workday,
    known_of,
    local_date,
    plan,
    plan_one,
    round_key,
    rounds,
    status,
    weekly_digests,
    window_of,
    withdraw_kind,
)
from schedulers.dispatch import Dispatcher, Render
from subscriptions import (
    ELIGIBLE,
    POSSIBLE,
    Context,
    Matcher,
    Profile,
    ProfileError,
    SizeStandard,
    Vocab,
    parse_profile,
)
from subscriptions.store import SharedRate, Store, StoredRound

log = logging.getLogger("huiqi")

MATCHING = (ELIGIBLE, POSSIBLE)
HORIZON = dt.timedelta(days=400)


@dataclass(frozen=True)
class World:
    """Everything read-only that planning and rendering need."""

    catalog: Catalog
    vocab: Vocab
    standard: SizeStandard
    _matchers: dict[dt.date, Matcher] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def matcher(self, on: dt.date) -> Matcher:
        """The catalog's matcher for `on`: the per-policy work of a day is done once."""
        found = self._matchers.get(on)
        if found is None:
            if len(self._matchers) > 3:
                self._matchers.clear()
            found = self._matchers[on] = Matcher(self.catalog.policies, self.vocab, on=on)
        return found

    def context(self, profile: Profile) -> Context:
        """A profile ready for matching (its size classified once)."""
        return Context.of(profile, self.vocab, self.standard)


def sync_rounds(store: Store, catalog: Catalog, *, now: dt.datetime) -> int:
    """Record the catalog's rounds for this year and next; return how many are new or changed."""
    today = local_date(now)
    start, end = dt.date(today.year, 1, 1), dt.date(today.year + 1, 12, 31)
    changed = 0
    kept: set[str] = set()
    for policy in catalog.policies:
        for found in rounds(policy, start=start, end=end):
            recurring = isinstance(policy.windows[found.window], AnnualWindow)
            key = round_key(found, recurring=recurring)
            kept.add(key)
            old, new = store.rounds.put_round(
                key=key,
                policy_id=policy.id,
                open=found.open,
                close=found.close,
                basis=found.basis,
                label=found.label,
                source="catalog",
                now=now,
                deadline=found.deadline,
                terms=policy.terms,
            )
            if old is None or old.version != new.version:
                changed += 1
                if old is not None:  # the catalog changed what those told of it heard
                    tell_change(store, new, now=now)
    # Rounds the catalog gave before and gives no more (a corrected window, a superseded
    # policy): withdrawn, their reminders dropped, and who heard of them told once, unless
    # the round is over (nobody can still apply to it: nothing to correct).
    for was, gone in store.rounds.retire(
        kept, start=start, end=end, reasons=_retire_reasons(catalog), now=now
    ):
        changed += 1
        store.outbox.supersede(gone.key, gone.version, now=now)
        if (was.close or was.open or today) < today:
            continue
        told = store.outbox.told_about(gone.key)
        store.outbox.enqueue(
            (Reminder(s, gone.key, gone.version, withdraw_kind(gone.version), now) for s in told),
            now=now,
        )
    return changed


def _retire_reasons(catalog: Catalog) -> dict[str, str]:
    """Why a policy's former rounds are withdrawn, by policy id."""
    names = {p.id: p.name for p in catalog.policies}
    out = {}
    for p in catalog.policies:
        if p.superseded_by is not None:
            successor = names.get(p.superseded_by.id, p.superseded_by.id)
            out[p.id] = f"本政策已被“{successor}”取代，请关注新政策的申报"
        else:
            out[p.id] = "政策目录已按文件更正申报时间，不再有这一批次"
    return out


def tell_change(store: Store, new: StoredRound, *, now: dt.datetime) -> tuple[set[int], int]:
    """A round's new version: the reminders planned for older ones dropped, one change notice
    to each subscriber told of it already. Returns those told and the notices queued."""
    store.outbox.supersede(new.key, new.version, now=now)
    told = store.outbox.told_about(new.key)
    notices = store.outbox.enqueue(
        (Reminder(s, new.key, new.version, change_kind(new.version), now) for s in told), now=now
    )
    return set(told), notices


def round_book(store: Store) -> dict[str, tuple[Round, ...]]:
    """The rounds as they stand, by policy: the store's current versions (the catalog's
    rounds, superseded by the bureau's confirmed ones). Every view shows these."""
    book: dict[str, list[Round]] = {}
    for r in store.rounds.current_rounds():
        if r.open is None and r.close is None:
            continue
        book.setdefault(r.policy_id, []).append(
            Round(
                r.policy_id,
                window_of(r.key),
                r.open,
                r.close,
                r.basis,
                r.label,
                r.deadline,
            )
        )
    return {k: tuple(v) for k, v in book.items()}


def synced_book(
    store: Store, catalog: Catalog, *, now: dt.datetime
) -> dict[str, tuple[Round, ...]]:
    """`round_book` after recording the catalog's rounds of this year and next."""
    sync_rounds(store, catalog, now=now)
    return round_book(store)


def round_infos(store: Store, catalog: Catalog) -> list[RoundInfo]:
    """The current rounds as the planner sees them."""
    out = []
    for r in store.rounds.current_rounds():
        policy = catalog.get(r.policy_id)
        if policy is None:
            continue  # a policy removed from the catalog: its rounds are no longer announced
        index = window_of(r.key)
        found = policy.windows[index] if 0 <= index < len(policy.windows) else None
        out.append(
            RoundInfo(
                r.key,
                r.version,
                r.policy_id,
                policy.category,
                r.open,
                r.close,
                r.basis,
                r.label,
                r.recorded_at,
                returning=bool(getattr(found, "returning", False)),
            )
        )
    return out


MATCHES_MAX_AGE = dt.timedelta(days=7)


def refresh_matches(
    store: Store, world: World, *, on: dt.date, only: Collection[int] | None = None
) -> int:
    """Match every enterprise whose cached matches are missing or stale (of those followed by
    the subscribers `only`, when given: a chat request rematches its own enterprise, never the
    city); return how many."""
    found: list[tuple[int, list[str]]] = []
    matcher = world.matcher(on)
    for enterprise_id, raw in store.registry.unmatched(
        on=on, catalog=world.catalog.digest, max_age=MATCHES_MAX_AGE, subscribers=only
    ):
        try:
            profile = parse_profile(raw, world.vocab)
        except ProfileError as exc:
            log.warning(
                "enterprise %d: profile no longer valid (%s); matches nothing", enterprise_id, exc
            )
            found.append((enterprise_id, []))
            continue
        found.append((enterprise_id, matcher.matching(world.context(profile), MATCHING)))
    store.registry.save_matches(found, on=on, catalog=world.catalog.digest)
    return len(found)


def audiences(
    store: Store, world: World, *, on: dt.date, only: Collection[int] | None = None
) -> list[Audience]:
    """Every active subscription (or those of `only`) with the policies its enterprise matches."""
    refresh_matches(store, world, on=on, only=only)
    applied = store.outbox.applied(only)
    out = []
    for sub in store.registry.subscriptions(only):
        hour, minute = (int(x) for x in sub.send_time.split(":"))
        prefs = Preferences(
            offsets=sub.offsets,
            notify_open=sub.notify_open,
            send_time=dt.time(hour, minute),
            muted_policies=sub.muted_policies,
            muted_categories=sub.muted_categories,
            weekly=sub.weekly,
        )
        matched = frozenset(sub.matches or ())
        out.append(
            Audience(
                sub.subscriber_id,
                sub.created_at,
                matched,
                prefs,
                applied.get(sub.subscriber_id, frozenset()),
            )
        )
    return out


def replan(
    store: Store,
    world: World,
    *,
    now: dt.datetime,
    horizon: dt.timedelta = HORIZON,
    only: Collection[int] | None = None,
) -> int:
    """Plan every reminder up to the horizon and enqueue the new ones; return how many.

    `only` limits planning to some subscribers (one who just registered or subscribed), so a
    chat answer does not wait for the whole city to be planned.
    """
    sync_rounds(store, world.catalog, now=now)
    infos = round_infos(store, world.catalog)
    readers = audiences(store, world, on=local_date(now), only=only)
    planned: list[Reminder] = plan(
        readers,
        infos,
        now=now,
        until=now + horizon,
        is_workday=is_workday,
    )
    groups = [
        GroupAudience(s, c, since) for s, c, since in store.registry.category_subscriptions(only)
    ]
    categories = {p.id: p.category for p in world.catalog.policies}
    groups += [digest_audience(a, categories) for a in readers if a.preferences.weekly]
    # Group digests are planned a few weeks ahead only: categories change more often.
    planned += weekly_digests(
        groups, infos, now=now, until=now + dt.timedelta(days=21), is_workday=is_workday
    )
    return store.outbox.enqueue(planned, now=now)


class RoundRefused(ValueError):
    """A round that cannot be published; `problems` say why, in Chinese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


def round_problems(
    catalog: Catalog,
    policy_id: str,
    *,
    open: dt.date | None,
    close: dt.date | None,
    notice_url: str | None,
    today: dt.date,
) -> list[str]:
    """What is wrong with a round the bureau is about to publish, in Chinese (empty: nothing).

    The round must name its dates, this year's or next year's; open no later than it closes;
    close today or later; belong to a live policy that has rounds (not a standing one); and
    its notice, when given, must be a web address."""
    policy = catalog.get(policy_id)
    if policy is None:
        return [f"没有编号为 {policy_id} 的政策"]
    problems = []
    anchor = open or close
    if anchor is None:
        problems.append("请给出开始日期、截止日期或两者")
    elif anchor.year not in (today.year, today.year + 1):
        wanted = f"{today.year} 或 {today.year + 1}"
        problems.append(f"批次年份应为 {wanted} 年，这里是 {anchor.year} 年")
    if open and close and close < open:
        problems.append(f"截止日期 {close} 早于开始日期 {open}")
    if close is not None and close < today:
        problems.append(f"截止日期 {close} 已过")
    found = status(policy, on=today)
    if found == EXPIRED:
        problems.append("该政策已过期，不能再发布批次")
    elif found == CONTINUOUS:
        problems.append("该政策常年可申报，没有申报批次")
    if notice_url is not None:
        parsed = urllib.parse.urlsplit(notice_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(f"通知链接应为 http(s):// 开头的网址，这里是 {notice_url!r}")
    return problems


def told_of(store: Store, world: World, policy_id: str, *, on: dt.date) -> int:
    """How many subscribers a round of `policy_id` reaches: those whose enterprise matches it,
    and the groups following its category."""
    policy = world.catalog.get(policy_id)
    people = sum(1 for a in audiences(store, world, on=on) if policy_id in a.policy_ids)
    groups = sum(
        1
        for _, cats, _ in store.registry.category_subscriptions()
        if policy is not None and policy.category in cats
    )
    return people + groups


def add_round(
    store: Store,
    catalog: Catalog,
    policy_id: str,
    *,
    open: dt.date | None,
    close: dt.date | None,
    notice_url: str | None,
    now: dt.datetime,
) -> tuple[StoredRound | None, StoredRound, int]:
    """Record a confirmed round from this year's notice; tell who heard the old dates.

    It supersedes the catalog round of the same policy and year nearest in date.
    Returns (previous version, new version, change notices queued). A round the bureau would
    not publish (`round_problems`) raises RoundRefused, whoever asks.
    """
    policy = catalog.get(policy_id)
    if policy is None:
        raise LookupError(policy_id)
    problems = round_problems(
        catalog, policy_id, open=open, close=close, notice_url=notice_url, today=local_date(now)
    )
    if problems:
        raise RoundRefused(problems)
    anchor = open or close
    if anchor is None:
        raise ValueError("a round needs an open or a close date")
    same_year = [
        r
        for r in store.rounds.current_rounds()
        if r.policy_id == policy_id and ((r.open or r.close) or anchor).year == anchor.year
    ]
    nearest = min(
        same_year, key=lambda r: abs(((r.open or r.close) or anchor) - anchor), default=None
    )
    key = nearest.key if nearest else f"{policy_id}#notice@{anchor.isoformat()}"
    old, new = store.rounds.put_round(
        key=key,
        policy_id=policy_id,
        open=open,
        close=close,
        basis=Basis.CONFIRMED,
        label=nearest.label if nearest else None,
        source="admin",
        now=now,
        notice_url=notice_url,
        # The notice's close is the enterprise's: where it hands in stays what the text says.
        deadline=_own(nearest.deadline) if nearest else None,
        terms=policy.terms,
    )
    notices = 0
    if old is None or old.version != new.version:
        told, notices = tell_change(store, new, now=now)
        # Groups following the policy's category hear that the bureau published the round.
        groups = [
            s
            for s, cats, _ in store.registry.category_subscriptions()
            if policy.category in cats and s not in told
        ]
        notices += store.outbox.enqueue(
            (Reminder(s, key, new.version, announce_kind(new.version), now) for s in groups),
            now=now,
        )
    return old, new, notices


def _own(deadline: Deadline | None) -> Deadline | None:
    """What a bureau's published close means: the enterprise's own deadline, handed in where
    the text says (a catalog close that was a bureau's report upward is no longer it)."""
    if deadline is None:
        return None
    return replace(deadline, of=DeadlineOf.ENTERPRISE)


def withdraw_round(
    store: Store, *, key: str, reason: str, now: dt.datetime
) -> tuple[StoredRound, StoredRound, int] | None:
    """Withdraw a round the bureau published: its pending reminders are dropped, and who was
    told of it gets one withdrawal notice. Returns (withdrawn, current, notices), or None when
    `key` is no round the bureau published."""
    found = store.rounds.withdraw(key, reason=reason, now=now)
    if found is None:
        return None
    old, new = found
    store.outbox.supersede(key, new.version, now=now)
    told = store.outbox.told_about(key)
    notices = store.outbox.enqueue(
        (Reminder(s, key, new.version, withdraw_kind(new.version), now) for s in told), now=now
    )
    return old, new, notices


def composer(
    world: World, store: Store
) -> Callable[[Sequence[Any], Mapping[str, Any], bool, dt.datetime], Message]:
    """What the rows due together for one subscriber say, as a typed message: an
    announcement (the dispatcher sends each one alone), or a digest of one or more reminders."""

    def compose(
        items: Sequence[Any], rounds_by_key: Mapping[str, Any], late: bool, now: dt.datetime
    ) -> Message:
        today = local_date(now)
        if items and items[0].kind == ANNOUNCEMENT:
            found = store.outbox.announcements([int(items[0].round_key.partition(":")[2])])
            if not found:
                raise LookupError(items[0].round_key)
            [written] = found.values()
            return Announcement(written.text, local_date(written.created_at), today)
        entries = []
        for item in items:
            rnd = rounds_by_key[item.round_key]
            previous = None
            kind = Kind.of(item.kind)
            if kind in (Kind.CHANGE, Kind.WITHDRAW):
                versions = store.rounds.round_versions(item.round_key)
                previous = next((v for v in reversed(versions) if v.version < rnd.version), None)
            policy = world.catalog.get(rnd.policy_id)
            if policy is None:  # a policy taken out of the catalog since the row was planned
                raise LookupError(rnd.policy_id)
            entries.append(Entry(kind, rnd, policy, previous))
        return Digest(tuple(entries), today, late)

    return compose


def renderer(
    world: World, store: Store, *, public_url: str, hotline: str = DEFAULT_HOTLINE
) -> Render:
    """The dispatcher's render function: the composed message in the channel's templates."""
    compose = composer(world, store)

    def render(
        items: Sequence[Any],
        rounds_by_key: Mapping[str, Any],
        late: bool,
        now: dt.datetime,
        capabilities: Capabilities,
    ) -> str:
        message = compose(items, rounds_by_key, late, now)
        return render_message(message, capabilities, public_url=public_url, hotline=hotline)

    return render


ANNOUNCEMENT_MAX_CHARS = 1000  # WeCom text messages carry 2,048 bytes, robots 4,096


def dispatcher_for(
    world: World,
    store: Store,
    channels: Mapping[str, Channel],
    *,
    clock: Callable[[], dt.datetime],
    public_url: str,
    worker: str = "dispatcher",
    hotline: str = DEFAULT_HOTLINE,
    **tuning: Any,
) -> Dispatcher:
    """The dispatcher of huiqi's messages: rendered from the catalog, rounds from the store.

    `huiqi serve`, the simulation, the tests and the benchmarks all build theirs here;
    `tuning` passes batch sizes, attempts, timeouts or a seeded `rng` through."""
    from bot._feeds import message_calendar  # bot._feeds builds on World from this module

    if store.dialect == "postgresql" and "shared_rate" not in tuning:
        # Several dispatcher processes may share the store: they share each channel's limit.
        tuning["shared_rate"] = lambda name, rate: SharedRate(store.limits, f"send:{name}", rate)
    return Dispatcher(
        store=store.outbox,
        channels=dict(channels),
        render=renderer(world, store, public_url=public_url, hotline=hotline),
        rounds=lambda: rounds_by_key(store),
        clock=clock,
        worker=worker,
        calendar=lambda keys, on: message_calendar(
            world, store.rounds.current_rounds(), keys, on=on, base_url=public_url
        ),
        **tuning,
    )


def rounds_by_key(store: Store) -> dict[str, StoredRound]:
    """The current version of every round, by key."""
    return {r.key: r for r in store.rounds.current_rounds()}


@dataclass(frozen=True)
class Upcoming:
    """A round ahead for one enterprise, with the reminders it would get."""

    policy: Policy
    decision: str
    round: RoundInfo
    reminders: tuple[Reminder, ...]


def upcoming(
    world: World, profile: Profile, *, on: dt.date, days: int, book: RoundBook | None = None
) -> list[Upcoming]:
    """Rounds of matching policies that are open or open within `days` of `on`, in date order:
    the rounds as they stand (`book`) when given, else the catalog's."""
    ctx = Context.of(profile, world.vocab, world.standard)
    start = at_local(on, dt.time(0, 0))
    horizon = on + dt.timedelta(days=days)
    out = []
    decisions = world.matcher(on).decide(ctx)
    for policy, decision in zip(world.catalog.policies, decisions, strict=True):
        if decision not in MATCHING:
            continue
        audience = Audience(0, start, frozenset({policy.id}))
        stood = known_of(book, policy.id)
        known = rounds(policy, start=on, end=horizon) if stood is None else stood
        for found in known:
            if found.last_day < on or found.first_day > horizon:
                continue
            window = (
                policy.windows[found.window] if 0 <= found.window < len(policy.windows) else None
            )
            recurring = isinstance(window, AnnualWindow)
            info = RoundInfo(
                round_key(found, recurring=recurring),
                1,
                policy.id,
                policy.category,
                found.open,
                found.close,
                found.basis,
                found.label,
            )
            planned = plan_one(audience, info, is_workday=is_workday)
            out.append(Upcoming(policy, decision, info, tuple(planned)))
    out.sort(key=lambda u: (u.round.close or u.round.open or dt.date.max, u.policy.id))
    return out
