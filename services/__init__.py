"""storyreel services: one folder per stage."""
