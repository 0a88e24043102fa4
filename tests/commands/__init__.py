"""The end-to-end command runs: each test starts ``python -m face2sketch.<command>`` as a user types it (a file per
command; multiruns in test_sweeps.py)."""
