"""A short tour of mxcc: MXNet's mx.nd API running on C that mxcc generates, compiles and loads."""
import mxcc as mx

print("== mx.nd on generated C")
a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
b = mx.nd.arange(3)
print("a =", a.asnumpy().tolist())
print("b =", b.asnumpy().tolist())
print("a * b + 1 (broadcast) =", (a * b + 1).asnumpy().tolist())
print("exp(a / 6) =", mx.nd.exp(a / 6).asnumpy().round(4).tolist())
for name in ("sum", "softmax", "dot"):
    if hasattr(mx.nd, name):
        break
if hasattr(mx.nd, "sum"):
    print("a.sum(axis=1) =", a.sum(axis=1).asnumpy().tolist())
if hasattr(mx.nd, "softmax"):
    print("softmax(a) =", mx.nd.softmax(a).asnumpy().round(4).tolist())
if hasattr(mx.nd, "dot"):
    print("dot(a, a.T) =", mx.nd.dot(a, a.T).asnumpy().tolist())
x = mx.nd.random.uniform(shape=(2, 2)) if hasattr(mx.nd, "random") else mx.nd.ones((2, 2))
print("a reshape (-1, 0) ->", a.reshape((-1, 0)).shape, "; dtype", x.dtype.__name__)

print("\n== the generated C of broadcast_add for float32 (one compile serves every shape)")
src = mx.nd.kernel_source("broadcast_add", a, b)
body = src[src.index("typedef"):]
print(body[:1800])

print("== mx.runtime.stats()")
print(mx.runtime.stats())
