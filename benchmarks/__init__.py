"""Speed of neurona against PyTorch, side by side: ``python -m benchmarks.run`` writes docs/PERFORMANCE.md."""
