"""Sans-I/O protocol syntax: bytes in, frozen dataclasses out, responses out as bytes.

No asyncio, no store, no sockets (import-linter enforces it); every parser can be fed
one byte at a time and fuzzed."""
