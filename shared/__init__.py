"""storyreel's common package: contracts, settings, stores. Imports nothing else of ours."""
