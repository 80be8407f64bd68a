"""The test harness: run workflows on virtual time, inject failures and crashes, prove recovery."""
