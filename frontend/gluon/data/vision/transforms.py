"""Vision transforms (MXNet 1.x `gluon.data.vision.transforms`): Blocks over images (H, W, C) or
batches (N, H, W, C), built on the mx.nd.image ops (ir/ops/image.py, ir/ops/image_color.py).

The HybridBlocks trace through F.image.* when hybridized; CenterCrop, RandomResizedCrop and
RandomCrop pick their region from the input's shape (and, for the random ones, Python's
`random`), so they are Blocks, as in MXNet 1.x: a crop, then a resize when the region's size
differs from `size`.
"""
from __future__ import annotations

import math
import random
from numbers import Number

from ....ndarray import full as _nd_full
from ....ndarray import image as _nd_image
from ...block import Block, HybridBlock
from ...nn import HybridSequential, Sequential


def _append_return(*args):
    """A transform's output followed by the extra arguments it passes through (labels)."""
    if len(args) == 1:
        return args[0]
    return tuple(args)


class Compose(Sequential):
    """Applies `transforms` in order; runs of consecutive HybridBlocks are grouped into one
    hybridized HybridSequential, as MXNet does."""

    def __init__(self, transforms):
        super().__init__()
        transforms = list(transforms) + [None]
        hybrid = []
        for t in transforms:
            if isinstance(t, HybridBlock):
                hybrid.append(t)
                continue
            if len(hybrid) == 1:
                self.add(hybrid[0])
            elif len(hybrid) > 1:
                block = HybridSequential()
                for h in hybrid:
                    block.add(h)
                block.hybridize()
                self.add(block)
            hybrid = []
            if t is not None:
                self.add(t)


class Cast(HybridBlock):
    """Cast the input (and any further inputs) to `dtype`."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, *args):
        out = [F.cast(x, dtype=self._dtype) for x in args]
        return out[0] if len(out) == 1 else tuple(out)


class ToTensor(HybridBlock):
    """(H, W, C) or (N, H, W, C) in [0, 255] to float32 (C, H, W) / (N, C, H, W) in [0, 1]."""

    def hybrid_forward(self, F, x, *args):
        return _append_return(F.image.to_tensor(x), *args)


class Normalize(HybridBlock):
    """(x - mean[c]) / std[c] over the channels of a (C, H, W) or (N, C, H, W) tensor; mean and
    std are one value or one per channel."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean, self._std = mean, std

    def hybrid_forward(self, F, x, *args):
        return _append_return(F.image.normalize(x, mean=self._mean, std=self._std), *args)


class Resize(HybridBlock):
    """Resize to size (width, height), or size x size, or (keep_ratio) the short edge to size.
    interpolation: 1 bilinear (OpenCV's INTER_LINEAR), 0 nearest."""

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        self._size, self._keep, self._interpolation = size, keep_ratio, interpolation

    def hybrid_forward(self, F, x, *args):
        return _append_return(F.image.resize(x, size=self._size, keep_ratio=self._keep, interp=self._interpolation),
                              *args)


def _wh(size):
    if isinstance(size, Number):
        return int(size), int(size)
    w, h = size
    return int(w), int(h)


def _crop_resize(x, x0, y0, w, h, size, interp):
    """Crop [y0, y0 + h) x [x0, x0 + w) of an image or batch, then resize to size (w, h) if it differs."""
    out = _nd_image.crop(x, x=x0, y=y0, width=w, height=h)
    if (w, h) != tuple(size):
        out = _nd_image.resize(out, size=tuple(size), interp=interp)
    return out


def _check_image(who, x):
    if len(x.shape) not in (3, 4):
        raise ValueError(f"{who}: input must be an image (H, W, C) or a batch (N, H, W, C), got shape {x.shape}")
    return x.shape[-3], x.shape[-2]


def _scale_down(src_wh, size):
    """MXNet's mx.image.scale_down: shrink a crop size (w, h) that exceeds the image, keeping its ratio."""
    w, h = size
    sw, sh = src_wh
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


class CenterCrop(Block):
    """The centre region of size (width, height) (or size x size); an image smaller than that gives
    its largest centred region of that aspect ratio, resized (upsampled) to size."""

    def __init__(self, size, interpolation=1):
        super().__init__()
        self._size, self._interpolation = _wh(size), interpolation

    def forward(self, x, *args):
        h, w = _check_image("CenterCrop", x)
        new_w, new_h = _scale_down((w, h), self._size)
        x0, y0 = (w - new_w) // 2, (h - new_h) // 2
        return _append_return(_crop_resize(x, x0, y0, new_w, new_h, self._size, self._interpolation), *args)


class RandomResizedCrop(Block):
    """A random region of area fraction in `scale` and aspect ratio (log-uniform) in `ratio`,
    resized to size (width, height); after 10 failed draws, CenterCrop (MXNet's random_size_crop).
    Python's `random` draws the region: random.seed makes it reproducible."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        super().__init__()
        if isinstance(scale, Number):
            scale = (scale, 1.0)
        self._size, self._scale, self._ratio, self._interpolation = _wh(size), tuple(scale), tuple(ratio), interpolation

    def forward(self, x, *args):
        h, w = _check_image("RandomResizedCrop", x)
        area = h * w
        log_ratio = (math.log(self._ratio[0]), math.log(self._ratio[1]))
        for _ in range(10):
            target = random.uniform(*self._scale) * area
            aspect = math.exp(random.uniform(*log_ratio))
            new_w = int(round(math.sqrt(target * aspect)))
            new_h = int(round(math.sqrt(target / aspect)))
            if 0 < new_w <= w and 0 < new_h <= h:
                x0, y0 = random.randint(0, w - new_w), random.randint(0, h - new_h)
                return _append_return(_crop_resize(x, x0, y0, new_w, new_h, self._size, self._interpolation), *args)
        return CenterCrop(self._size, self._interpolation)(x, *args)


class RandomCrop(Block):
    """A random region of size (width, height), after optional padding: pad=p pads p pixels of
    pad_value on every side, pad=(top, bottom, left, right) each side by its own amount. An image
    smaller than size is resized (upsampled) to it. Python's `random` draws the offset."""

    def __init__(self, size, pad=None, pad_value=0, interpolation=1):
        super().__init__()
        self._size, self._interpolation, self._pad_value = _wh(size), interpolation, pad_value
        if pad is None:
            self._pad = None
        elif isinstance(pad, Number):
            self._pad = (int(pad),) * 4
        else:
            if len(pad) < 4:
                raise ValueError(f"RandomCrop: pad must be an int or (top, bottom, left, right), got {pad}")
            self._pad = tuple(int(v) for v in pad[:4])
        if self._pad is not None and min(self._pad) < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {pad}")

    def _padded(self, x):
        top, bottom, left, right = self._pad
        h, w = x.shape[-3], x.shape[-2]
        shape = x.shape[:-3] + (h + top + bottom, w + left + right, x.shape[-1])
        out = _nd_full(shape, self._pad_value, dtype=x.dtype, ctx=x.context)
        out[(slice(None),) * (x.ndim - 3) + (slice(top, top + h), slice(left, left + w))] = x
        return out

    def forward(self, x, *args):
        _check_image("RandomCrop", x)
        if self._pad is not None:
            x = self._padded(x)
        h, w = x.shape[-3], x.shape[-2]
        tw, th = self._size
        if w < tw or h < th:
            return _append_return(_nd_image.resize(x, size=(tw, th), interp=self._interpolation), *args)
        x0, y0 = random.randint(0, w - tw), random.randint(0, h - th)
        return _append_return(_nd_image.crop(x, x=x0, y=y0, width=tw, height=th), *args)


class CropResize(HybridBlock):
    """The fixed region [y, y + height) x [x, x + width), optionally resized to size (w, h)."""

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        super().__init__()
        self._x, self._y, self._width, self._height = x, y, width, height
        self._size, self._interpolation = size, interpolation

    def hybrid_forward(self, F, x, *args):
        out = F.image.crop(x, x=self._x, y=self._y, width=self._width, height=self._height)
        if self._size:
            interp = 1 if self._interpolation is None else self._interpolation
            out = F.image.resize(out, size=self._size, keep_ratio=False, interp=interp)
        return _append_return(out, *args)


class RandomFlipLeftRight(HybridBlock):
    """Flip the image left to right with probability p."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def hybrid_forward(self, F, x, *args):
        if self.p <= 0:
            return _append_return(x, *args)
        if self.p >= 1:
            return _append_return(F.image.flip_left_right(x), *args)
        return _append_return(F.image.random_flip_left_right(x, p=self.p), *args)


class RandomFlipTopBottom(HybridBlock):
    """Flip the image top to bottom with probability p."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def hybrid_forward(self, F, x, *args):
        if self.p <= 0:
            return _append_return(x, *args)
        if self.p >= 1:
            return _append_return(F.image.flip_top_bottom(x), *args)
        return _append_return(F.image.random_flip_top_bottom(x, p=self.p), *args)


class _RandomFactor(HybridBlock):
    """An image op taking a factor drawn uniformly from [max(0, 1 - amount), 1 + amount]."""

    _op = ""

    def __init__(self, amount):
        super().__init__()
        self._args = (max(0.0, 1.0 - amount), 1.0 + amount)

    def hybrid_forward(self, F, x, *args):
        op = getattr(F.image, self._op)
        return _append_return(op(x, min_factor=self._args[0], max_factor=self._args[1]), *args)


class RandomBrightness(_RandomFactor):
    """Scale the image by a factor drawn uniformly from [max(0, 1 - brightness), 1 + brightness]."""

    _op = "random_brightness"

    def __init__(self, brightness):
        super().__init__(brightness)


class RandomContrast(_RandomFactor):
    """Blend with the image's mean gray level by a factor from [max(0, 1 - contrast), 1 + contrast]."""

    _op = "random_contrast"

    def __init__(self, contrast):
        super().__init__(contrast)


class RandomSaturation(_RandomFactor):
    """Blend each pixel with its gray level by a factor from [max(0, 1 - saturation), 1 + saturation]."""

    _op = "random_saturation"

    def __init__(self, saturation):
        super().__init__(saturation)


class RandomHue(_RandomFactor):
    """Rotate the hue by f * 360 degrees, f from [max(0, 1 - hue), 1 + hue] (MXNet's parameterisation)."""

    _op = "random_hue"

    def __init__(self, hue):
        super().__init__(hue)


class RandomColorJitter(HybridBlock):
    """Jitter brightness, contrast, saturation and hue, in a random order (0 leaves one out)."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__()
        self._args = (brightness, contrast, saturation, hue)

    def hybrid_forward(self, F, x, *args):
        b, c, s, h = self._args
        return _append_return(F.image.random_color_jitter(x, brightness=b, contrast=c, saturation=s, hue=h), *args)


class RandomLighting(HybridBlock):
    """AlexNet-style PCA noise on RGB images, component weights drawn from N(0, alpha)."""

    def __init__(self, alpha):
        super().__init__()
        self._alpha = alpha

    def hybrid_forward(self, F, x, *args):
        return _append_return(F.image.random_lighting(x, alpha_std=self._alpha), *args)


__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop", "RandomResizedCrop", "RandomCrop",
           "CropResize", "RandomFlipLeftRight", "RandomFlipTopBottom", "RandomBrightness", "RandomContrast",
           "RandomSaturation", "RandomHue", "RandomColorJitter", "RandomLighting"]
