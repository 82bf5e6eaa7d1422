"""neurona.models (being written)."""
