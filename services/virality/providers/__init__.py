"""Providers: one module per outside service, plus the embedded default."""
