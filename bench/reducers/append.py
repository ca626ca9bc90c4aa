"""A reducer whose state is a list that gains an item per event (bench/bench_large_scrub.py)."""

NAME = "append"
KNOWN_TYPES = {"ItemAdded"}


def evolve(state, event):
    items = state.get("items", [])
    return state.set("items", items + [event.data["item"]]) if items else {"items": [event.data["item"]]}
