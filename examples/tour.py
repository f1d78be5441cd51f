"""A short tour of mxcc: MXNet's mx.nd API running on C that mxcc generates, compiles and loads."""
import numpy as np

import mxcc as mx


def show(x):
    """An NDArray's values for printing (rounded on the host)."""
    return np.round(x.asnumpy().astype(np.float64), 4).tolist()


print("== mx.nd on generated C")
a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
b = mx.nd.arange(3)
print("a =", show(a))
print("b =", show(b))
print("a * b + 1 (broadcast) =", show(a * b + 1))
print("exp(a / 6) =", show(mx.nd.exp(a / 6)))
print("a.sum(axis=1) =", show(a.sum(axis=1)))
print("softmax(a) =", show(mx.nd.softmax(a)))
print("dot(a, a.T) =", show(mx.nd.dot(a, a.T)))
print("a.reshape((-1, 0)).shape =", a.reshape((-1, 0)).shape)
mx.random.seed(0)
print("random.uniform(shape=(2, 2)) =", show(mx.nd.random.uniform(shape=(2, 2))))
print("linalg.potrf([[4, 2], [2, 3]]) =", show(mx.nd.linalg.potrf(mx.nd.array([[4, 2], [2, 3]]))))

print("\n== the generated C of broadcast_add for float32 (one compile serves every shape)")
src = mx.nd.kernel_source("broadcast_add", a, b)
body = src[src.index("typedef"):]
print(body[:1800])

print("== mx.runtime.stats()")
print(mx.runtime.stats())
