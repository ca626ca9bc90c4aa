"""Users reducer for EventLens: one function per event type (the seed's apply-user-event).

Load it explicitly: python main.py state user-1 --reducer resources/reducers/users.py
Each function receives the current state (read-only) and the event, and returns a new state.
"""


def UserCreated(state, event):
    return {**state, "id": event.data.get("id"), "name": event.data.get("name")}


def UserUpdated(state, event):
    return {**state, "name": event.data.get("name")}


def UserDeleted(state, event):
    return {**state, "deleted": True}
