"""neurona.data (being written)."""
