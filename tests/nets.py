"""Networks the tests share (the seed's LeNet and variants)."""
import mxcc as mx


def lenet(after_conv1=None):
    """The seed's LeNet (section 5.1); `after_conv1(symbol)` may insert layers after the first conv."""
    data = mx.sym.Variable("data")
    conv1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=20)
    if after_conv1 is not None:
        conv1 = after_conv1(conv1)
    pool1 = mx.sym.Pooling(data=conv1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    conv2 = mx.sym.Convolution(data=pool1, kernel=(5, 5), num_filter=50)
    pool2 = mx.sym.Pooling(data=conv2, pool_type="max", kernel=(2, 2), stride=(2, 2))
    flatten = mx.sym.Flatten(data=pool2)
    fc1 = mx.sym.FullyConnected(data=flatten, num_hidden=500)
    relu1 = mx.sym.Activation(data=fc1, act_type="relu")
    fc2 = mx.sym.FullyConnected(data=relu1, num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc2, name="softmax")
