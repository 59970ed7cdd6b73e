"""RFC 5322 / MIME without any protocol and without I/O.

Modules: ``headers`` (header blocks, RFC 2047 encoded words, RFC 2231 parameters,
charsets), ``address`` (RFC 5322 address lists), ``parser`` (the streaming MIME
part-tree parser with offsets), ``structure`` (ENVELOPE / BODYSTRUCTURE as typed values: Envelope, BodyPart, BodyStructure),
``text`` (transfer decoding, text extraction, previews).

Invariants: nothing here does I/O or touches the store (import-linter enforces it);
nothing here raises on malformed mail; memory is bounded by ``MessageLimits`` whatever
the message size.
"""
