"""The determinism linter: parse once, resolve names once, run every rule in one pass."""
