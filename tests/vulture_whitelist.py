"""Names vulture (``make lint``) takes for dead code but something does use.

vulture reads the source as text: it cannot see a call made by pytest, by ``getattr`` or
by reflection over a class's attributes. Each entry below names such a use and who makes
it. Anything not listed here and reported by vulture is dead and goes.
"""

from __future__ import annotations

from postoffice.testing.pytest_plugin import TranscriptFile, TranscriptItem
from postoffice.testing.runner import Runner
from postoffice.wire.imap.commands import List, QResyncParams
from postoffice.wire.imap.search import ModSeqKey
from postoffice.wire.smtp.commands import Ehlo, Helo, Help


class _AnyName:
    """``_.name`` names ``name`` for vulture wherever it is defined."""

    def __getattr__(self, name: str) -> _AnyName:
        return self


_ = _AnyName()

# pytest calls these on the collector and item classes of the ``.t`` transcript plugin;
# ``style`` is part of the signature of ``Item.repr_failure`` that the plugin overrides.
TranscriptFile.collect
TranscriptItem.runtest
TranscriptItem.reportinfo
_.style

# ``@name`` actions of a transcript are dispatched as ``getattr(runner, "_do_" + name)``.
Runner._do_deliver
Runner._do_delete_user
Runner._do_deliver_text
Runner._do_advance_clock
Runner._do_expect_count
Runner._do_wait
Runner._do_starttls
Runner._do_close
Runner._do_connect
Runner._do_expect_closed

# The wire layer parses a command whole, into every field its RFC grammar has; the
# server may ignore some of them (docs/rfc-status.md says which).
QResyncParams.seq_match  # RFC 7162 §3.2.5: seq-match data, an optimisation a server may skip
List.return_children  # RFC 5258 §4: CHILDREN info is sent whether asked for or not
List.return_special_use  # RFC 6154 §2: special-use attributes likewise
ModSeqKey.entry_name  # RFC 7162 §3.1.5: the per-message mod-sequence answers every entry
ModSeqKey.entry_type
Ehlo.domain_is_valid  # RFC 5321 §4.1.4: the policy may, but need not, refuse a bad domain
Helo.domain_is_valid
Help.topic  # RFC 5321 §4.1.1.8: HELP with an argument may answer as HELP without one

# pytest reads a module's ``pytestmark``.
_.pytestmark

# The transcript meta-test finds reply constants by reflection over a class or enum
# (tests/testing/test_coverage_and_server.py feeds it such classes).
_.ALREADYEXISTS
_.TRYCREATE
_.helper
_.R452_TOO_MANY

# Static conformance checks under ``if TYPE_CHECKING:``: mypy reads these functions to
# prove that each backend plays every store role; nothing calls them at run time.
_._roles
_._blob_stores
_._blob_store

# pyspf looks its DNS queries up through the module attribute ``spf.DNSLookup``, which
# postoffice.authn.spf points at our resolver.
_.DNSLookup

# uvicorn.Server reads its ``lifespan`` attribute in startup()/shutdown(); web/ sets it
# because it starts the server on its own socket instead of through Server.serve().
_.lifespan

# mfusepy calls these operations of the power-cut file system (postoffice.testing.powerfs)
# by name, with its own signatures (arguments the model does not need included), and reads
# ``use_ns`` to pass times in nanoseconds.
_.use_ns
_.init
_.access
_.rmdir
_.fallocate
_.symlink
_.utimens
_.statfs
_.listxattr
_.removexattr
_.amode
_.datasync
_.fi

# prometheus-client reads ``values.ValueClass`` when it makes a metric's value;
# observe/metrics.py points it at the multiprocess value class.
_.ValueClass

# A session-wide autouse fixture: pytest runs it, nothing names it.
_.no_password_in_logs

# The message page's Jinja template (web/templates/message.html) reads each media player's
# text; uvicorn's Server reads ``should_exit`` to stop (the range test's curl server).
_.duration_text
_.should_exit

# dkimpy's DKIM.gen_header reads ``signature_algorithm`` to pick how to sign (authn/sign.py
# sets it so that OpenSSL signs the RSA header hash).
_.signature_algorithm
