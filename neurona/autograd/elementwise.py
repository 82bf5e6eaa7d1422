"""Elementwise primitives: arithmetic and the smooth functions every course derivative uses.

Each backward states its derivative. Inputs may be arrays or Python scalars
(constants); NumPy broadcasting applies, and the engine sums gradients back to
each input's shape.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..kernels.fused import relu, relu_mask
from .function import Function


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        return (gy * self.b if need_a else None), (gy * self.a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b**2 = -y/b."""

    def forward(self, a, b):
        self.b = b
        self.y = y = a / b
        return y

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        ga = gy / self.b
        return (ga if need_a else None), (-ga * self.y if need_b else None)


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = a ** b;  dy/da = b * a**(b-1), dy/db = y * log(a) (for a > 0)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = y = a**b
        return y

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        ga = gb = None
        if need_a:
            ga = gy * b * a ** (b - 1) if not isinstance(b, (int, float)) or b != 2 else gy * 2 * a
        if need_b:
            xp = get_array_module(self.y)
            gb = gy * self.y * xp.log(a)
        return ga, gb


class Exp(Function):
    """y = e**x;  dy/dx = y."""

    def forward(self, x):
        self.y = y = get_array_module(x).exp(x)
        return y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)."""

    def forward(self, x):
        self.y = y = get_array_module(x).sqrt(x)
        return y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, gy):
        return gy * get_array_module(self.x).sign(self.x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y**2."""

    def forward(self, x):
        self.y = y = get_array_module(x).tanh(x)
        return y

    def backward(self, gy):
        y = self.y
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e**-x), computed as (1 + tanh(x/2)) / 2 so it never overflows;  dy/dx = y (1 - y)."""

    def forward(self, x):
        xp = get_array_module(x)
        y = xp.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        self.y = y
        return y

    def backward(self, gy):
        y = self.y
        return gy * y * (1 - y)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (passes split over neurona's threads: ``kernels.fused``)."""

    def forward(self, x):
        xp = get_array_module(x)
        if xp.ndim(x) == 0:
            self.y = y = xp.maximum(x, 0)
            return y
        self.y = y = relu(x)
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        y = self.y
        if xp.ndim(y) == 0 or gy.shape != y.shape:
            return gy * (y > 0)
        return relu_mask(gy, y)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 inside [lo, hi], 0 outside."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.x = x
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        x = self.x
        inside = True
        if self.lo is not None:
            inside = x >= self.lo
        if self.hi is not None:
            inside = inside & (x <= self.hi)
        return gy * inside


class Maximum(Function):
    """y = max(a, b) elementwise;  the gradient goes to the larger input (half each on ties)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        xp = get_array_module(a) if not isinstance(a, (int, float)) else get_array_module(b)
        return xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gy * (a > b) + (gy * 0.5) * (a == b)
        return ga, gy - ga


class Cast(Function):
    """y = x converted to another floating dtype;  the gradient is cast back."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.src)
