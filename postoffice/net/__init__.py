"""Network plumbing shared by every protocol server.

``tls`` makes TLS contexts (configured or self-signed), ``connection`` wraps one client
connection (line reading with limits and timeouts, streaming writes, STARTTLS that
discards pipelined bytes), ``listener`` accepts connections with a per-IP limit (counted
over every process through ``store.shared``) and defines the typed seams: what a
protocol server offers (``ProtocolServer``) and what the lifecycle starts and stops
(``Listener``). Nothing here knows a mail protocol; protocols pass in their own lines
and handlers.
"""
