"""The seed's snapshot guide ("docs: Add detailed notes snapshots, blockcommit, blockpull"),
as a table of steps the e2e test (tests/e2e/test_seed_guide.py) runs against pyvirtd with
pyvirsh and with the real virsh. docs/seed-guide.md shows the same table."""
