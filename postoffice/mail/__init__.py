"""What a mailbox IS, shared by every protocol: the only road from a protocol to the store.

``MailService`` (``mail.service``) is the facade every protocol server and the web use:
accounts and credentials, mailboxes, delivery and APPEND through the one ingestion
pipeline, flags, expunge, copy/move, search, changes and maildrop locks. Besides it: ``sections`` (which octets an IMAP-style section
names, which parts can be decoded), ``search`` (search criteria as typed values and
their evaluation over a mailbox), ``parts`` (the part store: the typed layout, building
and ranged reads) and ``codec`` (the one stored form of envelopes, part trees and
layouts; protocols never import these two). Invariants:
changes are published on the ChangeBus only after they are committed; nothing is
acknowledged before it is durable.
"""
