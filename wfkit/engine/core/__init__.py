"""The engine core: replaying activations, durable operations, compensation. No SQL here."""
