"""neurona.viz (being written)."""
