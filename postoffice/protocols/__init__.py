"""One package per protocol server: connection loop, session state, command table, handlers.

The servers never import each other; what two share lives in mail/, message/ or net/."""
