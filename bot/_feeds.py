"""Calendar feeds: which rounds go in which feed, with what text (rendered by schedulers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot._service import World
from bot._views import environment
from schedulers import ANNOUNCED, Basis, FeedEvent, FeedMeta, Policy, render_feed
from subscriptions import ELIGIBLE, POSSIBLE, Match, Profile
from subscriptions.store import StoredRound

BASIS_TAGS = {"confirmed": "已发布", "stated": "文件写明", "estimated": "预计"}
DECISION_NAMES = {
    "eligible": "可以申报",
    "possible": "可能符合，请核实下列事项",
    "held": "已具备，不必再申报",
    "ineligible": "不符合",
}
MARKS = {"met": "✓", "unmet": "✗", "unknown": "?", "check": "?"}


def policy_url(base_url: str | None, policy_id: str) -> str | None:
    """The public page of a policy, when the public URL is known."""
    return f"{base_url.rstrip('/')}/policies/{policy_id}" if base_url else None


def in_view(found: StoredRound, *, on: dt.date) -> bool:
    """Rounds of last year, this year and next year are in a feed; older ones are history."""
    last = found.close or found.open
    return last is not None and last.year >= on.year - 1


def events(
    world: World,
    rounds: Iterable[StoredRound],
    *,
    on: dt.date,
    base_url: str | None,
    policies: set[str] | None = None,
    profile: Profile | None = None,
) -> list[FeedEvent]:
    """The feed events of `rounds` (restricted to `policies`), explained for `profile` if given."""
    template = environment().get_template("feeds/event.txt.j2")
    ctx = world.context(profile) if profile else None
    matcher = world.matcher(on)
    cache: dict[str, Match] = {}
    out = []
    for r in rounds:
        policy: Policy | None = world.catalog.get(r.policy_id)
        if (
            policy is None
            or not in_view(r, on=on)
            or (policies is not None and policy.id not in policies)
        ):
            continue
        found = None
        if ctx is not None:
            found = cache.get(policy.id) or cache.setdefault(policy.id, matcher.match(ctx, policy))
        url = policy_url(base_url, policy.id)
        deadline_only = r.open is None
        summary = f"【{BASIS_TAGS[r.basis]}】{policy.name}" + (
            "（截止日）" if deadline_only else ""
        )
        description = template.render(
            r=r, p=policy, m=found, url=url, decision_names=DECISION_NAMES, marks=MARKS
        ).strip()
        category = world.catalog.vocab.label("categories", policy.category)
        out.append(
            FeedEvent(
                round_key=r.key,
                version=r.version,
                recorded_at=r.recorded_at,
                open=r.open,
                close=r.close,
                summary=summary,
                description=description,
                confirmed=r.basis == Basis.CONFIRMED,
                countdown=r.basis in ANNOUNCED,  # no alarms before an estimated deadline
                categories=(category,),
                url=url,
            )
        )
    return out


def all_feed(
    world: World, rounds: list[StoredRound], *, on: dt.date, base_url: str | None
) -> bytes:
    """The public calendar of every round."""
    meta = FeedMeta("鄂州惠企政策申报日历", "鄂州市企业可申报的国家、省、市政策申报批次（huiqi）")
    return render_feed(meta, events(world, rounds, on=on, base_url=base_url))


def message_calendar(
    world: World,
    rounds: list[StoredRound],
    keys: Iterable[str],
    *,
    on: dt.date,
    base_url: str | None,
) -> bytes | None:
    """The rounds a message tells of, as a calendar to attach (METHOD:PUBLISH, the feed's own
    UIDs and SEQUENCE, so a calendar that has the feed updates the event, not doubles it);
    None when none of them has dates."""
    wanted = set(keys)
    chosen = [r for r in rounds if r.key in wanted and (r.open or r.close) is not None]
    found = events(world, chosen, on=on, base_url=base_url)
    if not found:
        return None
    meta = FeedMeta("鄂州惠企政策申报日历", "本条提醒所述的申报批次（huiqi）")
    return render_feed(meta, found)


def category_feed(
    world: World, rounds: list[StoredRound], category: str, *, on: dt.date, base_url: str | None
) -> bytes:
    """The public calendar of one category."""
    name = world.catalog.vocab.label("categories", category)
    ids = {p.id for p in world.catalog.policies if p.category == category}
    meta = FeedMeta(f"鄂州惠企政策申报日历·{name}", f"{name}类政策的申报批次（huiqi）")
    return render_feed(meta, events(world, rounds, on=on, base_url=base_url, policies=ids))


def enterprise_feed(
    world: World,
    rounds: list[StoredRound],
    name: str,
    profile: Profile,
    *,
    on: dt.date,
    base_url: str | None,
) -> bytes:
    """An enterprise's private calendar: the rounds of the policies it matches, explained."""
    ids = set(world.matcher(on).matching(world.context(profile), (ELIGIBLE, POSSIBLE)))
    meta = FeedMeta(
        f"{name}·政策申报日历", f"{name}可能符合的政策申报批次（huiqi，私人订阅，请勿转发链接）"
    )
    return render_feed(
        meta, events(world, rounds, on=on, base_url=base_url, policies=ids, profile=profile)
    )
