"""Bank accounts reducer for EventLens: one evolve(state, event) that computes the balance itself.

Load it explicitly: python main.py state account-1 --reducer resources/reducers/accounts.py
Unlike the generic reducer it does not trust the "balance" field in payloads: it adds up the
amounts, so a verification against the payloads' balance shows any inconsistency.

The state is read-only: ``state.merge(...)`` and ``state.set(key, value)`` return a new state
sharing everything else with the old one. A new state may be a plain dict (AccountOpened).
"""

NAME = "accounts"
KNOWN_TYPES = {"AccountOpened", "FundsDeposited", "FundsWithdrawn", "TransferSent", "TransferReceived", "AccountClosed"}


def evolve(state, event):
    data = event.data
    event_type = event.type
    if event_type == "AccountOpened":
        return {"account_id": data["account_id"], "owner": data.get("owner"), "currency": data.get("currency"),
                "balance": 0, "transactions": 0, "opened_at": event.time.isoformat()}
    if event_type in ("FundsDeposited", "TransferReceived"):
        return state.merge(balance=state.get("balance", 0) + data["amount"],
                           transactions=state.get("transactions", 0) + 1)
    if event_type in ("FundsWithdrawn", "TransferSent"):
        balance = state.get("balance", 0) - data["amount"]
        if balance < 0:
            raise ValueError(f"balance would go negative ({balance})")
        return state.merge(balance=balance, transactions=state.get("transactions", 0) + 1)
    if event_type == "AccountClosed":
        return state.set("closed", True)
    return state
