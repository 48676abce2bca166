"""Providers: one module per outside service (Firecrawl, HN Algolia, Reddit JSON). The stage's registry of
evidence sources built from them is services/virality/sources.py."""
