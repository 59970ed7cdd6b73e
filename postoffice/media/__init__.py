"""Continuous media in mail: what an audio or video part is (``probe``), and the
headers that describe voice and video messages (``headers``).

Below mail/: mail/ calls it at ingestion; it never imports the protocols, the web or a
store backend (an import contract says so). Every function here blocks: call it from a
thread.
"""
