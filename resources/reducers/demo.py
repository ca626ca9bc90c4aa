"""The demo history's reducer: users and bank accounts, as the demo writes them.

The window opens its first-run demo store with this reducer, so the first state a new user
sees is an account's owner and balance (computed from the amounts), or a user's name, rather
than the last payload merged in. Load it for your own copy of the demo:
python main.py state account-3 --reducer resources/reducers/demo.py
"""

NAME = "demo"
KNOWN_TYPES = {"UserCreated", "UserUpdated", "UserDeleted", "AccountOpened", "FundsDeposited", "FundsWithdrawn",
               "TransferSent", "TransferReceived"}


def evolve(state, event):
    data, event_type = event.data, event.type
    if event_type == "UserCreated":
        return {"user_id": data.get("id"), "name": data.get("name")}
    if event_type == "UserUpdated":
        return state.set("name", data.get("name"))
    if event_type == "UserDeleted":
        return state.set("deleted", True)
    if event_type == "AccountOpened":
        return {"account_id": data["account_id"], "owner": data.get("owner"), "currency": data.get("currency"),
                "balance": 0, "transactions": 0}
    if event_type in ("FundsDeposited", "TransferReceived"):
        return state.merge(balance=state.get("balance", 0) + data["amount"],
                           transactions=state.get("transactions", 0) + 1)
    if event_type in ("FundsWithdrawn", "TransferSent"):
        return state.merge(balance=state.get("balance", 0) - data["amount"],
                           transactions=state.get("transactions", 0) + 1)
    return state
