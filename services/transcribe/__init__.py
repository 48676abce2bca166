"""storyreel stage."""
