"""mx.gluon.model_zoo.vision: every constructor builds; small-input networks forward imperatively and
hybridized to the right shape; the 224x224-only networks are checked through shape inference
(parameter counts of the published architectures); pretrained weights load from `root`; a small
ResNet trains."""
from __future__ import annotations

import os

import numpy as np
import pytest

import mxcc as mx
from mxcc import autograd, gluon
from mxcc.gluon.model_zoo import model_store, vision

SMALL = [  # (name, input shape): networks whose global pooling accepts small images
    ("resnet18_v1", (2, 3, 32, 32)),
    ("resnet18_v2", (2, 3, 32, 32)),
    ("resnet50_v1", (1, 3, 32, 32)),
    ("resnet50_v2", (1, 3, 32, 32)),
    ("mobilenet0.25", (2, 3, 32, 32)),
    ("mobilenetv2_0.25", (2, 3, 32, 32)),
    ("squeezenet1.1", (1, 3, 224, 224)),
]


@pytest.mark.parametrize("name,shape", SMALL, ids=[n for n, _ in SMALL])
def test_small_networks_forward_imperative_and_hybridized(name, shape):
    net = vision.get_model(name, classes=10)
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(0).standard_normal(shape))
    y = net(x).asnumpy()
    assert y.shape == (shape[0], 10)
    assert np.isfinite(y).all() and np.abs(y).max() > 0
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y, rtol=1e-4, atol=1e-5)


def _trainable(net):
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values() if p.grad_req != "null")


# trainable parameter counts of the published architectures (as torchvision / Keras count them)
LARGE = [("alexnet", 61100840), ("vgg11", 132863336), ("vgg11_bn", 132868840), ("resnet18_v1", 11689512),
         ("squeezenet1.0", 1248424), ("squeezenet1.1", 1235496), ("densenet121", 7978856),
         ("mobilenet1.0", 4231976), ("inceptionv3", 23834568)]


@pytest.mark.parametrize("name,count", LARGE, ids=[n for n, _ in LARGE])
def test_imagenet_networks_shapes_by_inference(name, count):
    size = 299 if name == "inceptionv3" else 224
    net = vision.get_model(name)
    out = net(mx.sym.var("data"))
    _, out_shapes, _ = out.infer_shape(data=(1, 3, size, size))
    assert out_shapes == [(1, 1000)]
    net.infer_shape(mx.nd.zeros((1, 3, size, size)))
    assert _trainable(net) == count


def test_every_constructor_builds_with_mxnet_names():
    names = ["resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
             "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2",
             "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "alexnet",
             "densenet121", "densenet161", "densenet169", "densenet201", "squeezenet1.0", "squeezenet1.1",
             "inceptionv3", "mobilenet1.0", "mobilenet0.75", "mobilenet0.5", "mobilenet0.25",
             "mobilenetv2_1.0", "mobilenetv2_0.75", "mobilenetv2_0.5", "mobilenetv2_0.25"]
    for name in names:
        net = vision.get_model(name.upper() if name == "alexnet" else name, classes=7)
        assert isinstance(net, gluon.HybridBlock)
    assert isinstance(vision.resnet34_v2(), vision.ResNetV2)
    assert isinstance(vision.mobilenet0_5(), vision.MobileNet)
    assert isinstance(vision.mobilenet_v2_0_5(), vision.MobileNetV2)
    assert isinstance(vision.squeezenet1_0(), vision.SqueezeNet)
    assert isinstance(gluon.model_zoo.get_model("vgg13_bn"), vision.VGG)
    with pytest.raises(ValueError, match="resnet18_v1"):
        vision.get_model("resnet19_v1")
    with pytest.raises(ValueError, match="layers"):
        vision.get_resnet(1, 19)
    with pytest.raises(ValueError, match="version"):
        vision.get_resnet(3, 18)


def test_parameter_names_follow_mxnet():
    net = vision.resnet18_v1(prefix="resnetv10_")
    names = list(net.collect_params().keys())
    assert names[:3] == ["resnetv10_conv0_weight", "resnetv10_batchnorm0_gamma", "resnetv10_batchnorm0_beta"]
    assert "resnetv10_stage1_conv0_weight" in names and "resnetv10_stage4_batchnorm4_running_var" in names
    assert names[-2:] == ["resnetv10_dense0_weight", "resnetv10_dense0_bias"]
    mnames = list(vision.mobilenet_v2_0_25(prefix="mobilenetv20_").collect_params().keys())
    assert mnames[0] == "mobilenetv20_features_conv0_weight"
    assert mnames[-1] == "mobilenetv20_output_pred_weight"


def test_pretrained_loads_from_root_and_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        vision.get_model("mobilenet0.25", pretrained=True, root=str(tmp_path))
    assert str(tmp_path / "mobilenet0.25-9f83e440.params") in str(e.value)
    assert str(tmp_path / "mobilenet0.25.params") in str(e.value)
    src = vision.mobilenet0_25()
    src.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(1).standard_normal((1, 3, 32, 32)))
    y = src(x).asnumpy()
    src.save_parameters(str(tmp_path / "mobilenet0.25.params"))
    net = vision.get_model("mobilenet0.25", pretrained=True, root=str(tmp_path))
    np.testing.assert_allclose(net(x).asnumpy(), y, rtol=1e-5, atol=1e-6)
    # MXNet's hashed file name is checked against its SHA-1
    (tmp_path / "mobilenet0.25-9f83e440.params").write_bytes(b"not the published weights")
    with pytest.raises(ValueError, match="SHA-1"):
        vision.mobilenet0_25(pretrained=True, root=str(tmp_path))


def test_default_root_is_mxnet_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "models" / "resnet18_v1-e54b379f.params")):
        model_store.get_model_file("resnet18_v1")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "alexnet.params").write_bytes(b"x")
    assert model_store.get_model_file("alexnet") == str(tmp_path / "models" / "alexnet.params")
    model_store.purge()
    assert not os.listdir(tmp_path / "models")


def test_small_resnet_trains():
    rng = np.random.default_rng(0)
    n, k = 24, 3
    labels = np.arange(n) % k
    protos = rng.standard_normal((k, 3, 8, 8))
    data = protos[labels] + 0.3 * rng.standard_normal((n, 3, 8, 8))
    net = vision.ResNetV1(vision.BasicBlockV1, [1, 1], [8, 8, 16], classes=k, thumbnail=True)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    x, y = mx.nd.array(data), mx.nd.array(labels)
    losses = []
    for _ in range(15):
        with autograd.record():
            loss = fn(net(x), y)
        loss.backward()
        trainer.step(n)
        losses.append(float(loss.mean().asscalar()))
    assert losses[-1] < 0.5 * losses[0], losses
    bn = net.features[1][0].body[1]
    assert np.abs(bn.running_mean.data().asnumpy()).max() > 0  # moving statistics were updated in training
    pred = net(x).asnumpy().argmax(axis=1)
    assert (pred == labels).mean() > 0.8


def test_export_and_symbolblock_import_round_trip(tmp_path):
    net = vision.resnet18_v2(classes=5)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array(np.random.default_rng(2).standard_normal((1, 3, 32, 32)))
    y = net(x).asnumpy()
    net.export(str(tmp_path / "r18"))
    sb = gluon.SymbolBlock.imports(str(tmp_path / "r18-symbol.json"), ["data"], str(tmp_path / "r18-0000.params"))
    np.testing.assert_allclose(sb(x).asnumpy(), y, rtol=1e-5, atol=1e-6)
