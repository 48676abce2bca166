"""Local HTTP servers that speak the outside vendors' wire formats, for the real SDKs (tests and bench).

One harness (server.py) and one module per vendor: openai, replicate, stability, firecrawl, forums (Reddit JSON
and HN Algolia); media.py makes the tiny images and WAVs they serve and read.
"""
