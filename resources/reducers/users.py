"""Users reducer for EventLens: one function per event type (the seed's apply-user-event).

Load it explicitly: python main.py state user-1 --reducer resources/reducers/users.py
Each function receives the current state (read-only) and the event, and returns a new state.
The state's persistent operations (merge, set) return a new state that shares the rest with
the old one, so a state that grows stays cheap to change; ``{**state, "name": ...}`` works too,
at the cost of a copy.
"""


def UserCreated(state, event):
    return state.merge(id=event.data.get("id"), name=event.data.get("name"))


def UserUpdated(state, event):
    return state.set("name", event.data.get("name"))


def UserDeleted(state, event):
    return state.set("deleted", True)
