"""What a mailbox IS, shared by every protocol: the only road from a protocol to the store.

``MailService`` (``mail.service``) is the facade every protocol server and the web use:
accounts and credentials, mailboxes, delivery and APPEND through the one ingestion
pipeline, flags, expunge, copy/move, search, changes and maildrop locks. Invariants:
changes are published on the ChangeBus only after they are committed; nothing is
acknowledged before it is durable.
"""
