"""neurona.metrics (being written)."""
