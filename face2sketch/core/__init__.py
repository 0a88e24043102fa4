"""What every layer shares: where the configs are, user errors, atomic writes, first-use imports, run folders and
the directions."""
