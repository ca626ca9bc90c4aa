"""Deterministic demo histories: the seed's users and bank accounts, generated lazily."""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from model.event import NewEvent

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
FIRST_NAMES = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tony", "Hedy", "Linus")
LAST_NAMES = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Hoare")
OPERATORS = ("alice", "bob", "carol", "batch-job")


class DemoStream(NamedTuple):
    """One demo stream: ``events`` is a lazy iterator; ``snapshot_at`` the versions to snapshot."""

    stream_id: str
    stream_type: str
    events: Iterator[NewEvent]
    snapshot_at: tuple[int, ...]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _clock(rng: random.Random) -> Iterator[datetime]:
    # Each stream starts somewhere in the first 30 days and moves forward 1 s .. 1 h per event.
    moment = BASE_TIME + timedelta(seconds=rng.randrange(30 * 86400))
    while True:
        yield moment
        moment += timedelta(seconds=rng.randint(1, 3600))


def _metadata(rng: random.Random, correlation: str, causation: str | None) -> dict:
    if rng.random() < 0.3:
        return {}
    meta = {"correlation_id": correlation, "user": rng.choice(OPERATORS)}
    if causation is not None:
        meta["causation_id"] = causation
    return meta


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def user_events(number: int, count: int, rng: random.Random) -> Iterator[NewEvent]:
    """The seed's user domain: created, renamed, and (for some users) deleted at the end."""
    user_id = f"user-{number}"
    clock = _clock(rng)
    deleted = count > 1 and rng.random() < 0.25
    correlation = _uuid(rng)
    name = _name(rng)
    yield NewEvent("UserCreated", {"id": user_id, "name": name}, _metadata(rng, correlation, None), next(clock))
    for _ in range(count - 2 if deleted else count - 1):
        name = _name(rng)
        yield NewEvent("UserUpdated", {"id": user_id, "name": name}, _metadata(rng, correlation, None), next(clock))
    if deleted:
        yield NewEvent("UserDeleted", {"id": user_id}, _metadata(rng, correlation, None), next(clock))


def account_events(number: int, count: int, accounts: int, rng: random.Random) -> Iterator[NewEvent]:
    """Bank accounts: opened, deposits, withdrawals and transfers; the balance never goes negative."""
    account_id = f"account-{number}"
    clock = _clock(rng)
    balance = 0
    correlation = _uuid(rng)
    yield NewEvent(
        "AccountOpened",
        {"account_id": account_id, "owner": _name(rng), "currency": "EUR", "balance": 0},
        _metadata(rng, correlation, None),
        next(clock),
    )
    for _ in range(count - 1):
        roll = rng.random()
        event_id = _uuid(rng)
        other = rng.randint(1, max(accounts, 2))
        if other == number:
            other = other % max(accounts, 2) + 1
        counterparty = f"account-{other}"
        if roll < 0.45 or balance == 0:
            amount = rng.randint(1, 500) * 100
            balance += amount
            event = NewEvent("FundsDeposited", {"amount": amount, "balance": balance}, {}, None)
        elif roll < 0.75:
            amount = rng.randint(1, balance)
            balance -= amount
            event = NewEvent("FundsWithdrawn", {"amount": amount, "balance": balance}, {}, None)
        elif roll < 0.88:
            amount = rng.randint(1, balance)
            balance -= amount
            event = NewEvent(
                "TransferSent",
                {"amount": amount, "balance": balance, "to_account": counterparty, "transfer_id": event_id},
                {},
                None,
            )
        else:
            amount = rng.randint(1, 300) * 100
            balance += amount
            event = NewEvent(
                "TransferReceived",
                {"amount": amount, "balance": balance, "from_account": counterparty, "transfer_id": event_id},
                {},
                None,
            )
        yield NewEvent(event.type, event.data, _metadata(rng, correlation, event_id), next(clock))


def demo_streams(streams: int = 20, events_per_stream: int = 50, seed: int = 0) -> Iterator[DemoStream]:
    """Yield the demo streams lazily: users at even positions, accounts at odd ones.

    Each stream has its own generator seeded from (seed, position), so any stream can be
    produced alone and a million-event stream is never held in memory. Every third stream
    gets a snapshot at half its length.
    """
    if streams < 0 or events_per_stream < 1:
        raise ValueError("demo needs streams >= 0 and events_per_stream >= 1")
    accounts = streams // 2
    for position in range(streams):
        rng = random.Random(f"eventlens-demo:{seed}:{position}")
        number = position // 2 + 1
        snapshot_at = (events_per_stream // 2,) if position % 3 == 2 and events_per_stream >= 2 else ()
        if position % 2 == 0:
            yield DemoStream(f"user-{number}", "user", user_events(number, events_per_stream, rng), snapshot_at)
        else:
            yield DemoStream(
                f"account-{number}", "account", account_events(number, events_per_stream, accounts, rng), snapshot_at
            )
