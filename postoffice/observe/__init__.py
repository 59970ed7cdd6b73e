"""Operations, built once for every protocol: structured logs, metrics, health, status.

- ``logs``: the per-session log context (session id, protocol, listener, client, user),
  the text and JSON line formats, ``[log]`` settings, the debug trace, the last errors.
- ``metrics``: the Prometheus metrics (prometheus-client), in multiprocess mode under
  ``data_dir/metrics`` when ``serve`` runs, so every process's figures add up.

Nothing here imports a protocol, the store backends or the web: ``net/``, ``mail/``
and the protocols call in; ``web/ops.py`` serves ``/metrics`` and ``/healthz``.
"""
