"""storyreel CLI, local runner."""
