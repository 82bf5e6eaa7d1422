"""neurona.training (being written)."""
