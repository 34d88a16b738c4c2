"""The `eventlake` command line: one module per command group."""
