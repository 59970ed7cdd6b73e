"""postoffice: a complete mail system (SMTP, IMAP, POP3, webmail) with continuous-media mail.

Layers and import rules are described in docs/architecture.md §2 and enforced by
import-linter contracts in pyproject.toml.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
