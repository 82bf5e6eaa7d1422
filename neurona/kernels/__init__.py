"""The fast machinery the differentiable ops call, kept apart from their maths.

An op's ``Function.forward/backward`` (in ``neurona.functional``) reads as its formula and
calls the named kernels here for the work that needs care to be fast:

- ``threads``: neurona's thread pool; ``parallel_for``/``over_batch`` split a memory-bound
  pass, ``parallel_chunks`` runs a layer chunk by chunk over the batch, ``parallel_matmul``.
- ``im2col``: padding, the patch matrix of a convolution and its adjoint col2im.
- ``convolution``: a convolution's geometry (``ConvGeometry``), its chunked GEMM and dL/dx, and
  the direct convolution of one-channel images (no patch matrix).
- ``pooling``: the 2x2 max-pooling tournament, other max windows by taps, tiled average pooling.
- ``fused``: fused elementwise passes (ReLU and its mask, the batch-norm passes).
- ``tanh``: tanh and its gradient on a convolution's output chunk.
- ``concat``: joining arrays on their last axis (an Inception module's branches).
- ``recurrent``: the recurrent cells' elementwise step, compiled or as arrays, and the time
  loops cut into two halves of the batch.
- ``compiled``: whether a numba kernel may run. The kernels themselves are in the ``_numba*``
  modules, each next to the NumPy/CuPy array-expression twin that runs on the GPU, without
  numba, and in the tests that hold the two together: ``_numba`` (im2col, col2im, batch norm),
  ``_numba_conv`` (direct convolution, inference's max + ReLU), ``_numba_pooling``,
  ``_numba_elementwise`` (ReLU), ``_numba_tanh``, ``_numba_concat``, ``_numba_recurrent`` (the
  LSTM cell), ``_numba_updates`` (SGD and Adam over flat buffers).
- ``platform``: BLAS threads, flush-to-zero and the allocator, applied only inside
  ``performance()`` (fit, evaluate, predict and the command line enter it).

Nothing here changes the process when imported.
"""

from .platform import flush_denormals, performance, set_blas_threads
from .threads import over_batch, parallel_chunks, parallel_for, parallel_matmul

__all__ = ["flush_denormals", "over_batch", "parallel_chunks", "parallel_for", "parallel_matmul", "performance",
           "set_blas_threads"]
