"""Entry point for ``python -m postoffice``."""

from postoffice.cli import main

raise SystemExit(main())
