"""The seed document's LeNet program (section 5.1), unchanged except for the import line and
the data paths, which come from the command line:

    python examples/mnist_lenet.py TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS [NUM_EPOCH]

(idx files, plain or gzipped; e.g. Fashion-MNIST under /usr/share/datasets/fashion-mnist).
"""
import logging
import sys

import mxcc as mx

logging.basicConfig(level=logging.INFO)
train_images, train_labels, test_images, test_labels = sys.argv[1:5]
num_epoch = int(sys.argv[5]) if len(sys.argv) > 5 else 10

# 定义模型
data = mx.sym.Variable('data')
conv1 = mx.sym.Convolution(data=data, kernel=(5,5), num_filter=20)
pool1 = mx.sym.Pooling(data=conv1, pool_type="max", kernel=(2,2), stride=(2,2))
conv2 = mx.sym.Convolution(data=pool1, kernel=(5,5), num_filter=50)
pool2 = mx.sym.Pooling(data=conv2, pool_type="max", kernel=(2,2), stride=(2,2))
flatten = mx.sym.Flatten(data=pool2)
fc1 = mx.sym.FullyConnected(data=flatten, num_hidden=500)
relu1 = mx.sym.Activation(data=fc1, act_type="relu")
fc2 = mx.sym.FullyConnected(data=relu1, num_hidden=10)
mlp = mx.sym.SoftmaxOutput(data=fc2, name='softmax')

# 加载数据集
train_data = mx.io.MNISTIter(
    image=train_images,
    label=train_labels,
    data_shape=(1, 28, 28),
    batch_size=100,
    shuffle=True)
test_data = mx.io.MNISTIter(
    image=test_images,
    label=test_labels,
    data_shape=(1, 28, 28),
    batch_size=100)

# 创建模型
model = mx.mod.Module(symbol=mlp, context=mx.cpu())

# 训练模型
model.fit(
    train_data,
    eval_data=test_data,
    optimizer='sgd',
    optimizer_params={'learning_rate': 0.1},
    eval_metric='acc',
    num_epoch=num_epoch)

# 预测
prediction = model.predict(test_data)

# 评估模型
accuracy = mx.metric.Accuracy()
accuracy.update(test_data.label, prediction)
print('Accuracy: %f' % accuracy.get()[1])
