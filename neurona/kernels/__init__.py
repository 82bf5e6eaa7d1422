"""The fast machinery the differentiable ops call, kept apart from their maths.

An op's ``Function.forward/backward`` (in ``neurona.functional``) reads as its formula and
calls the named kernels here for the work that needs care to be fast:

- ``threads``: neurona's thread pool; ``parallel_for``/``over_batch`` split a memory-bound
  pass, ``parallel_chunks`` runs a layer chunk by chunk over the batch, ``parallel_matmul``.
- ``im2col``: padding, the patch matrix of a convolution and its adjoint col2im.
- ``convolution``: a convolution's geometry (``ConvGeometry``), its chunked GEMM and dL/dx.
- ``pooling``: the 2x2 max-pooling tournament and its backward.
- ``fused``: fused elementwise passes (ReLU and its mask, the batch-norm passes).
- ``compiled``: numba kernels for the loops NumPy array expressions cannot make fast,
  each next to the NumPy/CuPy array-expression twin that runs on the GPU, without numba,
  and in the tests that hold the two together (``_numba``: convolution and batch norm;
  ``_numba_recurrent``: the LSTM cell; ``_numba_updates``: SGD and Adam over a traced
  step's flat buffers).
- ``recurrent``: the recurrent cells' elementwise step, compiled or as arrays.
- ``platform``: BLAS threads, flush-to-zero and the allocator, applied only inside
  ``performance()`` (fit, evaluate, predict and the command line enter it).

Nothing here changes the process when imported.
"""

from .platform import flush_denormals, performance, set_blas_threads
from .threads import over_batch, parallel_chunks, parallel_for, parallel_matmul

__all__ = ["flush_denormals", "over_batch", "parallel_chunks", "parallel_for", "parallel_matmul", "performance",
           "set_blas_threads"]
