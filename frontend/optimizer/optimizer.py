"""Optimizers (MXNet 1.x): the Optimizer base with its registry, learning rate and weight decay
multipliers and update counting, and SGD, NAG, Adam, AdaGrad, RMSProp, AdaDelta.

Each step is one fused kernel (ir/ops/optimizer.py) that rewrites the weight and its
states in place, with MXNet's formulas and MXNet's choice of when to clip.
"""
from __future__ import annotations

import math
import warnings

import numpy

from ..ndarray import NDArray, zeros
from .fused import fused_update


class Optimizer:
    """Base class of optimizers.

    rescale_grad multiplies every gradient (often 1/batch_size); clip_gradient clips it to
    [-clip_gradient, clip_gradient]; wd is the L2 weight decay; the learning rate is
    `learning_rate`, or the `lr_scheduler`'s (0.01 when neither is given). param_idx2name maps
    update indices to names: names not ending in "_weight" or "_gamma" get no weight decay.
    `sym` contributes the `__lr_mult__` / `__wd_mult__` attributes of its arguments;
    `param_dict` (Gluon) maps indices to Parameters carrying lr_mult / wd_mult.
    """

    opt_registry: dict = {}

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None, learning_rate=None,
                 lr_scheduler=None, sym=None, begin_num_update=0, multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None and lr_scheduler.base_lr != learning_rate:
            warnings.warn("learning rate from ``lr_scheduler`` has been overwritten by ``learning_rate`` in "
                          "optimizer.", UserWarning, stacklevel=2)
            lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError("param_idx2name should be a dict of param indexes to names.")
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # -- the registry ----------------------------------------------------------------------------
    @staticmethod
    def register(klass):
        """Register an Optimizer subclass under its lower-cased class name (for `create`)."""
        if not isinstance(klass, type):
            raise TypeError(f"Optimizer.register: expected a class, got {klass!r}")
        name = klass.__name__.lower()
        old = Optimizer.opt_registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is overriding existing "
                          f"optimizer {old.__module__}.{old.__name__}", stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An optimizer from its (case-insensitive) registered name and constructor arguments."""
        klass = Optimizer.opt_registry.get(str(name).lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name}; registered: {', '.join(sorted(Optimizer.opt_registry))}")
        return klass(**kwargs)

    # -- learning rate, weight decay, update counts -----------------------------------------------
    @property
    def learning_rate(self):
        return self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr

    def set_learning_rate(self, lr):
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that set_learning_rate "
                              "can mutate the value of the learning rate of the optimizer only when the LRScheduler "
                              "of the optimizer is undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """[DEPRECATED] Use set_lr_mult."""
        raise DeprecationWarning("set_lr_scale is deprecated; use set_lr_mult")

    def set_lr_mult(self, args_lr_mult):
        """Learning rate multipliers by parameter name (or index); the symbol's __lr_mult__ come first."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Weight decay multipliers by name (or index). Known names not ending in "_weight" or "_gamma"
        (biases, BatchNorm's beta) get 0; the symbol's __wd_mult__ and `args_wd_mult` override."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        """Update counts are kept per device."""
        self._index_update_count = self._all_index_update_counts.setdefault(device_id, {})

    def _update_count(self, index):
        for idx in index if isinstance(index, (list, tuple)) else [index]:
            count = self._index_update_count.get(idx, self.begin_num_update) + 1
            self._index_update_count[idx] = count
            self.num_update = max(count, self.num_update)

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        lrs = [lr for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                lrs[i] *= self.param_dict[index].lr_mult
            elif index in self.lr_mult:
                lrs[i] *= self.lr_mult[index]
            elif index in self.idx2name:
                lrs[i] *= self.lr_mult.get(self.idx2name[index], 1.0)
        return lrs

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        wds = [self.wd for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                wds[i] *= self.param_dict[index].wd_mult
            elif index in self.wd_mult:
                wds[i] *= self.wd_mult[index]
            elif index in self.idx2name:
                wds[i] *= self.wd_mult.get(self.idx2name[index], 1.0)
        return wds

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    # -- states and updates ----------------------------------------------------------------------
    def create_state(self, index, weight):
        """The auxiliary state (None, an NDArray or a tuple of them) of one weight."""
        return None

    def create_state_multi_precision(self, index, weight):
        """With multi_precision and a float16 weight: (float32 master copy, state of the master)."""
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow convergence. "
                          "Consider using multi_precision=True option of the optimizer", stacklevel=2)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update `weight` in place from `grad` and `state` (the one create_state made for `index`)."""
        raise NotImplementedError(f"{type(self).__name__}.update")

    def update_multi_precision(self, index, weight, grad, state):
        """`update`, through the float32 master copy when the weight is float16 and multi_precision is on."""
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update_multi_precision(i, w, g, s)
            return
        if self.multi_precision and weight.dtype == numpy.float16:
            master, inner = state
            self.update(index, master, grad.astype(numpy.float32), inner)
            master.copyto(weight)  # a Cast kernel into the float16 weight
        else:
            self.update(index, weight, grad, state)

    def _prepare(self, index, weight, grad):
        """Count the update; the learning rate and weight decay for `index`."""
        if not isinstance(weight, NDArray) or not isinstance(grad, NDArray):
            raise TypeError(f"{type(self).__name__}.update: weight and grad must be NDArrays, got "
                            f"{type(weight).__name__} and {type(grad).__name__}")
        self._update_count(index)
        return self._get_lr(index), self._get_wd(index)

    def _clip(self):
        """MXNet's update ops clip when clip_gradient >= 0; the optimizers pass it when it is truthy."""
        return {"clip_gradient": self.clip_gradient} if self.clip_gradient else {}

    def __getstate__(self):
        ret = self.__dict__.copy()
        del ret["param_dict"]  # Gluon Parameters: set again by the Trainer
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def _zeros_like(weight, dtype=None):
    return zeros(weight.shape, weight.context, dtype=dtype or weight.dtype)


@register
class SGD(Optimizer):
    """SGD with momentum and weight decay:
    state = momentum * state - lr * (clip(rescale_grad * grad, clip_gradient) + wd * weight);
    weight += state (sgd_mom_update; sgd_update without momentum).

    lazy_update only matters for row_sparse gradients, which mxcc does not have.
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        _momentum_step(self, "sgd_mom_update", index, weight, grad, state)


def _momentum_step(opt, momentum_op, index, weight, grad, state):
    """SGD and NAG: one fused kernel with a momentum state, or plain sgd_update without one."""
    lr, wd = opt._prepare(index, weight, grad)
    kw = dict(lr=lr, wd=wd, rescale_grad=opt.rescale_grad, **opt._clip())
    if state is not None:
        fused_update(momentum_op, weight, grad, (state,), momentum=max(opt.momentum, 0.0), **kw)
    else:
        fused_update("sgd_update", weight, grad, **kw)


@register
class ccSGD(SGD):  # noqa: N801  (MXNet's name)
    """[DEPRECATED] Same as SGD."""


@register
class NAG(Optimizer):
    """Nesterov accelerated gradient (nag_mom_update): state = momentum * state + g + wd * weight;
    weight -= lr * (g + momentum * state), in MXNet's arrangement."""

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        _momentum_step(self, "nag_mom_update", index, weight, grad, state)


@register
class Adam(Optimizer):
    """Adam (adam_update), with the bias correction folded into the step's learning rate:
    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), t the weight's update count."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # mean, variance

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        t = self._index_update_count[index]
        lr *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        fused_update("adam_update", weight, grad, tuple(state), lr=lr, wd=wd, beta1=self.beta1, beta2=self.beta2,
                     epsilon=self.epsilon, rescale_grad=self.rescale_grad, **self._clip())


@register
class AdaGrad(Optimizer):
    """AdaGrad: g = clip(rescale_grad * grad); history += g^2;
    weight -= lr * (g / sqrt(history + eps) + wd * weight)."""

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return _zeros_like(weight)  # history

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        clip = {} if self.clip_gradient is None else {"clip_gradient": self.clip_gradient}  # MXNet: `is not None`
        fused_update("adagrad_update", weight, grad, (state,), lr=lr, wd=wd, epsilon=self.float_stable_eps,
                     rescale_grad=self.rescale_grad, **clip)


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (rmsprop_update), or with centered=True Graves's
    (rmspropalex_update); clip_weights clips the new weights."""

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8, centered=False, clip_weights=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        if self.centered:
            return (_zeros_like(weight), _zeros_like(weight), _zeros_like(weight))  # n, g, delta
        return (_zeros_like(weight),)  # n

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        kw = dict(lr=lr, wd=wd, gamma1=self.gamma1, epsilon=self.epsilon, rescale_grad=self.rescale_grad,
                  **self._clip())
        if self.clip_weights:
            kw["clip_weights"] = self.clip_weights
        if self.centered:
            fused_update("rmspropalex_update", weight, grad, tuple(state), gamma2=self.gamma2, **kw)
        else:
            fused_update("rmsprop_update", weight, grad, tuple(state), **kw)


@register
class AdaDelta(Optimizer):
    """AdaDelta (no learning rate): g = clip(rescale_grad * grad); acc_g = rho * acc_g + (1 - rho) * g^2;
    d = sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g; acc_delta = rho * acc_delta + (1 - rho) * d^2;
    weight -= d + wd * weight."""

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # accumulated g, accumulated delta

    def update(self, index, weight, grad, state):
        _, wd = self._prepare(index, weight, grad)
        clip = {} if self.clip_gradient is None else {"clip_gradient": self.clip_gradient}  # MXNet: `is not None`
        fused_update("adadelta_update", weight, grad, tuple(state), rho=self.rho, epsilon=self.epsilon, wd=wd,
                     rescale_grad=self.rescale_grad, **clip)


__all__ = ["Optimizer", "SGD", "ccSGD", "NAG", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "create", "register"]
