"""gluon.Trainer (MXNet 1.x): applies an optimizer to a set of Parameters after backward.

Every update is the optimizer's fused in-place C kernel (frontend/optimizer), called through an
Updater as Module does; rescale_grad is the optimizer's own scale divided by the batch size. mxcc has
one device per process, so the kvstore reduces nothing: gradients of a parameter held on several
contexts are summed into each before the update, which is what 'device' / 'local' do.
"""
from __future__ import annotations

from .. import autograd
from .. import optimizer as opt
from .parameter import Parameter, ParameterDict

_KVSTORES = ("device", "local", None, "nccl")


class Trainer:
    """Applies an Optimizer on a set of Parameters: `trainer.step(batch_size)` after backward."""

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device", compression_params=None,
                 update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[k] for k in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise ValueError(f"First argument must be a list or dict of Parameters, got {type(params)}.")
        self._params = []
        seen = set()
        for p in params:
            if not isinstance(p, Parameter):
                raise ValueError(f"First argument must be a list or dict of Parameters, got list of {type(p)}.")
            if id(p) in seen:  # a shared parameter is updated once
                continue
            seen.add(id(p))
            self._params.append(p)
            p._trainer = self
        if kvstore is not None and not isinstance(kvstore, str):
            kvstore = getattr(kvstore, "type", "device")
        if kvstore not in _KVSTORES and not str(kvstore).startswith("dist"):
            raise ValueError(f"Trainer: unknown kvstore {kvstore!r}; expected 'device', 'local' or None")
        if str(kvstore).startswith("dist"):
            raise ValueError(f"Trainer: distributed kvstore {kvstore!r} is not supported by mxcc (one process, one "
                             "device); use 'device' or 'local'")
        if update_on_kvstore:
            raise ValueError("Trainer: update_on_kvstore=True is not supported by mxcc; updates run in the trainer")
        self._kvstore_type = kvstore
        self._compression_params = compression_params
        self._update_on_kvstore = False
        optimizer_params = dict(optimizer_params) if optimizer_params else {}
        self._init_optimizer(optimizer, optimizer_params)
        self._scale = self._optimizer.rescale_grad

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise AssertionError("optimizer_params must be None if optimizer is an instance of Optimizer "
                                     "instead of str")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict  # not copied: later lr_mult / wd_mult changes apply
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updater = opt.get_updater(self._optimizer)

    # -- learning rate ----------------------------------------------------------------------------------
    @property
    def learning_rate(self):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate can be accessed.")
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has not been initialized yet")
        return self._optimizer

    def set_learning_rate(self, lr):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate is mutated.")
        self._optimizer.set_learning_rate(lr)

    # -- steps -----------------------------------------------------------------------------------------------
    def step(self, batch_size, ignore_stale_grad=False):
        """One optimizer step: gradients are scaled by rescale_grad / batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (for use with update())."""
        self._allreduce_grads()

    def update(self, batch_size, ignore_stale_grad=False):
        """The update half of step() (after allreduce_grads)."""
        self._optimizer.rescale_grad = self._scale / batch_size
        self._update(ignore_stale_grad)

    def _allreduce_grads(self):
        with autograd.pause():
            for p in self._params:
                if p.grad_req == "null" or p._grad is None or len(p._grad) < 2:
                    continue
                total = p._grad[0].copy()
                for g in p._grad[1:]:
                    total += g.as_in_context(total.context)
                for g in p._grad:
                    total.copyto(g)

    def _update(self, ignore_stale_grad=False):
        live = [(i, p) for i, p in enumerate(self._params) if p.grad_req != "null"]
        if not ignore_stale_grad:  # check everything first: an error leaves every parameter as it was
            for _, p in live:
                for d in p.list_data():
                    leaf = d._ag
                    if not (isinstance(leaf, autograd._Leaf) and leaf.fresh):
                        raise UserWarning(
                            f"Gradient of Parameter `{p.name}` on context {d.context} has not been updated by "
                            "backward since last `step`. This could mean a bug in your model that made it only use "
                            "a subset of the Parameters (Blocks) for this iteration. If you are intentionally only "
                            "using a subset, call step with ignore_stale_grad=True to suppress this warning and "
                            "skip updating of Parameters with stale gradient")
        indices, grads, weights = [], [], []
        for i, p in live:
            for d, g in zip(p.list_data(), p.list_grad()):
                leaf = d._ag
                fresh = isinstance(leaf, autograd._Leaf) and leaf.fresh
                if ignore_stale_grad and not fresh:
                    continue
                if isinstance(leaf, autograd._Leaf):
                    leaf.fresh = False
                indices.append(i)
                grads.append(g)
                weights.append(d)
        if indices:
            with autograd.pause():
                self._updater(indices, grads, weights)

    # -- states ------------------------------------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer's states (and the optimizer) to `fname`."""
        with open(fname, "wb") as f:
            f.write(self._updater.get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Load states written by save_states."""
        with open(fname, "rb") as f:
            states = f.read()
        self._updater.set_states(states)
        self._optimizer = self._updater.optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))
