"""Deterministic demo histories: the seed's users and bank accounts, generated lazily."""
from __future__ import annotations

import hashlib
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


def _hash(*parts: object) -> int:
    """A deterministic 64-bit number of ``parts`` (the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def event_id(seed: object, stream_id: str, version: int) -> str:
    """The demo's id of an event: a UUID made from the seed, the stream and the version."""
    high = _hash(seed, stream_id, version, "id")
    low = _hash(seed, stream_id, version, "id2")
    return str(uuid.UUID(int=(high << 64) | low, version=4))


def _metadata(rng: random.Random, seed: object, stream_id: str, version: int, correlation: str | None = None,
              causation: str | None = None) -> dict:
    """Every event has its id and a correlation id (its own id when nothing else caused it)."""
    own = event_id(seed, stream_id, version)
    meta = {"event_id": own, "correlation_id": correlation or own}
    if causation is not None:
        meta["causation_id"] = causation
    if rng.random() < 0.7:
        meta["user"] = rng.choice(OPERATORS)
    return meta


def user_events(number: int, count: int, rng: random.Random, seed: object = 0) -> Iterator[NewEvent]:
    """The seed's user domain: created, renamed, and (for some users) deleted at the end."""
    user_id = f"user-{number}"
    clock = _clock(rng)
    deleted = count > 1 and rng.random() < 0.25
    name = _name(rng)
    yield NewEvent("UserCreated", {"id": user_id, "name": name}, _metadata(rng, seed, user_id, 1), next(clock))
    version = 1
    for _ in range(count - 2 if deleted else count - 1):
        name = _name(rng)
        version += 1
        yield NewEvent("UserUpdated", {"id": user_id, "name": name}, _metadata(rng, seed, user_id, version), next(clock))
    if deleted:
        version += 1
        yield NewEvent("UserDeleted", {"id": user_id}, _metadata(rng, seed, user_id, version), next(clock))


# -- accounts and the transfers between them ----------------------------------------------------------
# Every account's events sit on slots whose times any stream can compute alone (``_slot_time``), so a
# transfer's two sides are written by two lazy generators that never see each other: the sender's
# TransferSent at slot i (i % 8 == 4) lands on the receiver's first slot of class d (j % 4 == d, the
# sender's distance 1..3 around the ring of accounts) recorded after it. Transfers of one sender are
# further apart than four slots of a receiver, so two never land on one slot; a sender keeps the
# balance its next transfer needs (deposits before, withdrawals only above it).
SLOT_S, JITTER_S, SPREAD_S = 1800, 900, 30 * 86400
OUT_EVERY, OUT_AT, CLASSES = 8, 4, 4


def _start(seed: object, number: int, count: int) -> datetime:
    """Accounts open within the first 30 days, closer together when their histories are short (so they overlap)."""
    spread = max(1, min(SPREAD_S, count * SLOT_S // 2))
    return BASE_TIME + timedelta(seconds=_hash(seed, "start", number) % spread)


def _slot_time(seed: object, number: int, start: datetime, slot: int) -> datetime:
    """Strictly increasing per account: 900 s to 2,700 s between slots."""
    return start + timedelta(seconds=slot * SLOT_S + _hash(seed, "slot", number, slot) % JITTER_S)


def _receiver(number: int, distance: int, accounts: int) -> int:
    return (number - 1 + distance) % accounts + 1


class _Transfer(NamedTuple):
    slot: int  # the sender's slot
    receiver: int
    receiver_slot: int
    distance: int
    amount: int
    transfer_id: str


def _landing(seed: object, receiver: int, distance: int, moment: datetime, count: int) -> int | None:
    """The receiver's first slot of class ``distance`` recorded after ``moment``, or None when it has none."""
    start = _start(seed, receiver, count)
    if moment <= start:
        return None  # not opened yet
    slot = max(0, int((moment - start).total_seconds() - JITTER_S) // SLOT_S)
    slot += (distance - slot) % CLASSES
    while slot < count and _slot_time(seed, receiver, start, slot) <= moment:
        slot += CLASSES
    return slot if slot < count else None


def _transfer_at(seed: object, sender: int, slot: int, count: int, accounts: int) -> _Transfer | None:
    """The transfer account ``sender`` makes at ``slot``, or None (a pure function of its arguments)."""
    if slot % OUT_EVERY != OUT_AT or slot >= count or accounts < 2:
        return None
    roll = _hash(seed, "transfer", sender, slot)
    if roll % 100 >= 80:
        return None
    distance = 1 + (roll >> 8) % 3
    receiver = _receiver(sender, distance, accounts)
    if receiver == sender or _receiver(receiver, -distance, accounts) != sender:
        return None
    landing = _landing(seed, receiver, distance, _slot_time(seed, sender, _start(seed, sender, count), slot), count)
    if landing is None:
        return None
    amount = ((roll >> 16) % 300 + 1) * 100
    transfer_id = str(uuid.UUID(int=(_hash(seed, "tid", sender, slot) << 64) | _hash(seed, "tid2", sender, slot),
                                version=4))
    return _Transfer(slot, receiver, landing, distance, amount, transfer_id)


def _incoming(seed: object, receiver: int, slot: int, count: int, accounts: int) -> tuple[int, _Transfer] | None:
    """The (sender, transfer) that lands on the receiver's ``slot``, or None."""
    distance = slot % CLASSES
    if distance == 0:
        return None
    sender = _receiver(receiver, -distance, accounts)
    if sender == receiver:
        return None
    start_r, start_s = _start(seed, receiver, count), _start(seed, sender, count)
    high = _slot_time(seed, receiver, start_r, slot)
    low = _slot_time(seed, receiver, start_r, slot - CLASSES) if slot >= CLASSES else start_r
    first = max(0, int((low - start_s).total_seconds() - JITTER_S) // SLOT_S)
    last = int((high - start_s).total_seconds()) // SLOT_S + 1
    first += (OUT_AT - first) % OUT_EVERY
    for candidate in range(first, min(last, count - 1) + 1, OUT_EVERY):
        transfer = _transfer_at(seed, sender, candidate, count, accounts)
        if transfer is not None and transfer.receiver == receiver and transfer.receiver_slot == slot:
            return sender, transfer
    return None


def account_events(number: int, count: int, accounts: int, rng: random.Random, seed: object = 0) -> Iterator[NewEvent]:
    """Bank accounts: opened, deposits, withdrawals and transfers between accounts; never negative.

    A transfer is two events with one correlation id: TransferSent here and TransferReceived in
    the other account, caused by it (its ``causation_id`` is the TransferSent's ``event_id``).
    """
    account_id = f"account-{number}"
    start = _start(seed, number, count)
    balance = 0
    yield NewEvent(
        "AccountOpened",
        {"account_id": account_id, "owner": _name(rng), "currency": "EUR", "balance": 0},
        _metadata(rng, seed, account_id, 1),
        _slot_time(seed, number, start, 0),
    )
    upcoming = None  # the next transfer this account sends: its amount is kept in the balance

    def next_transfer(after: int):
        slot = after + 1
        slot += (OUT_AT - slot) % OUT_EVERY
        while slot < count:
            found = _transfer_at(seed, number, slot, count, accounts)
            if found is not None:
                return found
            slot += OUT_EVERY
        return None

    upcoming = next_transfer(0)
    for slot in range(1, count):
        version = slot + 1
        moment = _slot_time(seed, number, start, slot)
        if upcoming is not None and upcoming.slot == slot:
            t = upcoming
            balance -= t.amount
            meta = _metadata(rng, seed, account_id, version, correlation=t.transfer_id)
            upcoming = next_transfer(slot)
            yield NewEvent("TransferSent", {"amount": t.amount, "balance": balance,
                                            "to_account": f"account-{t.receiver}", "transfer_id": t.transfer_id},
                           meta, moment)
            continue
        incoming = _incoming(seed, number, slot, count, accounts)
        if incoming is not None:
            sender, t = incoming
            balance += t.amount
            cause = event_id(seed, f"account-{sender}", t.slot + 1)
            yield NewEvent("TransferReceived", {"amount": t.amount, "balance": balance,
                                                "from_account": f"account-{sender}", "transfer_id": t.transfer_id},
                           _metadata(rng, seed, account_id, version, correlation=t.transfer_id, causation=cause),
                           moment)
            continue
        reserve = upcoming.amount if upcoming is not None else 0
        roll = rng.random()
        if balance <= reserve or roll < 0.55:
            amount = rng.randint(1, 500) * 100
            if balance + amount < reserve:
                amount = -(-(reserve - balance) // 100) * 100
            balance += amount
            yield NewEvent("FundsDeposited", {"amount": amount, "balance": balance},
                           _metadata(rng, seed, account_id, version), moment)
        else:
            amount = rng.randint(1, balance - reserve)
            balance -= amount
            yield NewEvent("FundsWithdrawn", {"amount": amount, "balance": balance},
                           _metadata(rng, seed, account_id, version), moment)


def demo_streams(streams: int = 20, events_per_stream: int = 50, seed: int = 0) -> Iterator[DemoStream]:
    """Yield the demo streams lazily: users at even positions, accounts at odd ones.

    Each stream has its own generator seeded from (seed, position), so any stream can be
    produced alone and a million-event stream is never held in memory. Every third stream
    gets a snapshot at half its length. Accounts send each other transfers: TransferSent in one,
    TransferReceived in the other, correlated and caused (see ``account_events``).
    """
    if streams < 0 or events_per_stream < 1:
        raise ValueError("demo needs streams >= 0 and events_per_stream >= 1")
    accounts = streams // 2
    for position in range(streams):
        rng = random.Random(f"eventlens-demo:{seed}:{position}")
        number = position // 2 + 1
        snapshot_at = (events_per_stream // 2,) if position % 3 == 2 and events_per_stream >= 2 else ()
        if position % 2 == 0:
            yield DemoStream(f"user-{number}", "user", user_events(number, events_per_stream, rng, seed), snapshot_at)
        else:
            yield DemoStream(
                f"account-{number}", "account", account_events(number, events_per_stream, accounts, rng, seed),
                snapshot_at
            )
