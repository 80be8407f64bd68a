"""The `wfkit` command line: one module per command, rooted at :mod:`wfkit.cli.main`."""
