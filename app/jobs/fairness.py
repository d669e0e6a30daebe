"""How a worker shares its threads between kinds of work, accounts and endpoints, so one
merchant's deliveries (a flood, a slow receiver, a slow mail server) never hold up
another's (SPEC §4).

A worker runs up to ``concurrency`` units of work at once, one a thread. Of those, while
it is running others:

- one lane (webhooks, emails, collection, housekeeping) has at most ``concurrency - 1``,
  so another lane always finds a thread;
- one account has at most half of them (``concurrency // 2``, at least 1), all its
  lanes together;
- one concurrency key (a webhook endpoint) has at most a quarter (``concurrency // 4``,
  at least 1), so an account's other endpoints still have threads.

The claim reads the oldest due jobs of each lane, leaving out the accounts and keys that
have their share already, and takes units of work from them lane by lane in turn, each
within what its lane, account and key have left. These are limits per worker, as the
local limits of Oban's queues: several workers give an account several shares. A unit
that the shares leave out is not claimed, so it stays due for this worker's next claim or
another worker's.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.jobs.claims import Candidate, ClaimedJob
from app.jobs.models import Lane


@dataclass(frozen=True)
class Shares:
    """The most units of work in flight one lane, one account and one key may hold."""

    lane: int
    account: int
    key: int

    @classmethod
    def of(cls, concurrency: int) -> Shares:
        return cls(lane=max(1, concurrency - 1), account=max(1, concurrency // 2), key=max(1, concurrency // 4))


@dataclass(frozen=True)
class Batching:
    """How many jobs one unit of work holds, told by the registry of kinds (app/worker/kinds.py):
    ``batch_of`` a kind, and ``lane_batch``, the most of any kind of a lane."""

    batch_of: Callable[[str], int]
    lane_batch: Callable[[Lane], int]


UnitKey = tuple[str, str | None, str | None]  # kind, account, concurrency key


def unit_key(kind: str, account_id: str | None, concurrency_key: str | None) -> UnitKey:
    return kind, account_id, concurrency_key


def units(jobs: list[ClaimedJob], batch_of: Callable[[str], int]) -> list[list[ClaimedJob]]:
    """The claimed jobs as units of work: same kind, account and concurrency key, at
    most that kind's batch each."""
    grouped: dict[UnitKey, list[ClaimedJob]] = {}
    for job in jobs:
        grouped.setdefault(unit_key(job.kind, job.account_id, job.concurrency_key), []).append(job)
    out: list[list[ClaimedJob]] = []
    for (kind, _, _), same in grouped.items():
        size = batch_of(kind)
        out.extend(same[i:i + size] for i in range(0, len(same), size))
    return out


@dataclass(frozen=True)
class Tag:
    """Whose a unit of work is: what it counts against."""

    lane: Lane
    account_id: str | None
    key: str | None


def tag_of(unit: list[ClaimedJob]) -> Tag:
    job = unit[0]
    return Tag(_lane(job.lane), job.account_id, job.concurrency_key)


def _lane(value: str) -> Lane:
    try:
        return Lane(value)
    except ValueError:
        return Lane.OTHER


@dataclass
class Plan:
    """What one claim may take: ``free`` threads, within the shares of what is in flight."""

    free: int
    shares: Shares
    batching: Batching
    lanes: Counter[Lane] = field(default_factory=Counter)
    accounts: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_worker(cls, free: int, shares: Shares, batching: Batching, in_flight: Iterable[Tag]) -> Plan:
        plan = cls(free, shares, batching)
        for tag in in_flight:
            plan._count(tag)
        return plan

    def _count(self, tag: Tag) -> None:
        self.lanes[tag.lane] += 1
        if tag.account_id is not None:
            self.accounts[tag.account_id] += 1
        if tag.key is not None:
            self.keys[tag.key] += 1

    def _fits(self, tag: Tag) -> bool:
        return (self.free > 0 and self.lanes[tag.lane] < self.shares.lane
                and (tag.account_id is None or self.accounts[tag.account_id] < self.shares.account)
                and (tag.key is None or self.keys[tag.key] < self.shares.key))

    def limits(self) -> dict[Lane, int]:
        """How many due jobs to read from each lane: enough for the units it may start."""
        return {lane: min(self.free, self.shares.lane - self.lanes[lane]) * self.batching.lane_batch(lane)
                for lane in Lane}

    def full_accounts(self) -> list[str]:
        return sorted(account for account, n in self.accounts.items() if n >= self.shares.account)

    def full_keys(self) -> list[str]:
        return sorted(key for key, n in self.keys.items() if n >= self.shares.key)

    def choose(self, candidates: list[Candidate]) -> list[int]:
        """The ids to claim, as whole units of work, lanes taking turns, each lane's
        oldest first, each unit within its lane's, account's and key's share."""
        per_lane: dict[Lane, deque[tuple[Tag, list[int]]]] = {}
        open_units: dict[UnitKey, list[int]] = {}
        for candidate in candidates:  # oldest due first
            key = unit_key(candidate.kind, candidate.account_id, candidate.concurrency_key)
            unit = open_units.get(key)
            if unit is None or len(unit) >= self.batching.batch_of(candidate.kind):
                unit = open_units[key] = []
                tag = Tag(_lane(candidate.lane), candidate.account_id, candidate.concurrency_key)
                per_lane.setdefault(tag.lane, deque()).append((tag, unit))
            unit.append(candidate.id)
        chosen: list[int] = []
        while self.free > 0 and per_lane:
            for lane in list(per_lane):
                waiting = per_lane[lane]
                while waiting:
                    tag, unit = waiting.popleft()
                    if self._fits(tag):
                        chosen += unit
                        self._count(tag)
                        self.free -= 1
                        break
                if not waiting:
                    del per_lane[lane]
                if self.free == 0:
                    break
        return chosen
