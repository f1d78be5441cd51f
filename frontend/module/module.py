"""mx.mod.Module: a Symbol bound to one executor, with parameters and an optimizer."""
from __future__ import annotations

import logging

from .. import ndarray as nd
from ..context import Context, cpu
from ..ir.errors import MXNetError
from ..model import load_checkpoint, save_checkpoint
from .base_module import BaseModule


def _desc_list(shapes):
    """DataDesc-like (name, shape) pairs from DataDesc objects or tuples."""
    out = []
    for d in shapes or []:
        if hasattr(d, "name") and hasattr(d, "shape"):
            out.append((d.name, tuple(d.shape), getattr(d, "dtype", "float32")))
        else:
            name, shape = d[0], d[1]
            out.append((name, tuple(shape), "float32"))
    return out


class Module(BaseModule):
    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging,
                 context=None, work_load_list=None, fixed_param_names=None, state_names=None, group2ctxs=None,
                 compression_params=None):
        super().__init__(logger=logger)
        context = context if context is not None else cpu()
        if isinstance(context, (list, tuple)):
            if len(context) != 1:
                raise MXNetError("Module: mxcc binds one context per module; pass a single Context")
            context = context[0]
        if not isinstance(context, Context):
            raise TypeError(f"Module: context must be a Context, got {type(context).__name__}")
        self._context = context
        self._symbol = symbol
        data_names = list(data_names or [])
        label_names = list(label_names or [])
        arg_names = symbol.list_arguments()
        inputs = symbol.list_inputs()
        for n in data_names:
            if n not in inputs:
                raise ValueError(f"Module: data name '{n}' is not an input of the symbol; inputs are {inputs}")
        label_names = [n for n in label_names if n in arg_names]
        self._data_names, self._label_names = data_names, label_names
        self._fixed_param_names = list(fixed_param_names or [])
        self._param_names = [n for n in arg_names if n not in data_names + label_names]
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._exec = None
        self._arg_params = None
        self._aux_params = None
        self._optimizer = None
        self._updater = None
        self._data_shapes = None
        self._label_shapes = None

    # -- names and shapes ------------------------------------------------------------------------------
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        return self._data_shapes

    @property
    def label_shapes(self):
        return self._label_shapes

    @property
    def output_shapes(self):
        return [(n, o.shape) for n, o in zip(self._output_names, self._exec.outputs)]

    def _batch_size(self):
        return self._data_shapes[0][1][0]

    # -- binding -----------------------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if force_rebind:
            self._exec = None
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        data = _desc_list(data_shapes)
        labels = _desc_list(label_shapes) if label_shapes is not None else []
        self._data_shapes = [(n, s) for n, s, _ in data]
        self._label_shapes = [(n, s) for n, s, _ in labels] if labels else None
        shapes = {n: s for n, s, _ in data + labels}
        types = {n: t for n, _, t in data + labels}
        reqs = {}
        for n in self._symbol.list_arguments():
            if n in self._data_names:
                reqs[n] = grad_req if inputs_need_grad else "null"
            elif n in self._label_names:
                reqs[n] = "null"
            elif n in self._fixed_param_names or not for_training:
                reqs[n] = "null"
            else:
                reqs[n] = grad_req
        shared = shared_module._exec if shared_module is not None else None
        self._exec = self._symbol.simple_bind(self._context, grad_req=reqs, type_dict=types, shared_exec=shared,
                                              **shapes)
        self._log_memory_plan(for_training)
        self.binded = True
        if self.params_initialized:  # rebinding keeps the parameter values
            self._exec.copy_params_from(self._arg_params, self._aux_params, allow_extra_params=True)

    def _log_memory_plan(self, for_training):
        """Compile the program bind made and log its arena (passes/plan_memory.py). A graph that
        cannot compile is reported by forward(), with its own error, as without this line."""
        try:
            plan = self._exec.memory_plan(is_train=None if for_training else False)
        except Exception as e:  # noqa: BLE001
            logging.debug("Bound graph: no memory plan yet (%s)", e)
            return
        logging.info("Bound %s graph: arena %.1f MB planned (%.1f MB without planning)", plan["program"],
                     plan["planned_bytes"] / 1e6, plan["naive_bytes"] / 1e6)

    def _reshape_for(self, data_batch):
        """A last batch of another size re-binds with the new shapes (parameters are shared)."""
        shapes = {}
        for name, arr in zip(self._data_names, data_batch.data):
            shapes[name] = arr.shape
        for name, arr in zip(self._label_names, data_batch.label or []):
            shapes[name] = arr.shape
        current = {n: self._exec.arg_dict[n].shape for n in shapes}
        if shapes != current:
            self._exec = self._exec.reshape(allow_up_sizing=True, **shapes)

    # -- parameters ---------------------------------------------------------------------------------------
    def init_params(self, initializer=None, arg_params=None, aux_params=None, allow_missing=False, force_init=False,
                    allow_extra=False):
        from .. import initializer as _init

        if self.params_initialized and not force_init:
            self.logger.warning("Parameters already initialized and force_init=False. init_params call ignored.")
            return
        assert self.binded, "call bind before initializing the parameters"
        if initializer is None:
            initializer = _init.Uniform(0.01)
        attrs = self._symbol.attr_dict()

        def fill(name, arr, cache):
            if cache is not None and name in cache:
                src = cache[name]
                if src is not arr:
                    if src.shape != arr.shape:
                        raise MXNetError(f"init_params: '{name}' has shape {src.shape}, the module needs {arr.shape}")
                    src.astype(arr._data.dtype).copyto(arr)
            elif cache is not None and not allow_missing:
                raise RuntimeError(f"{name} is not presented")
            elif initializer is not None:
                initializer(_init.InitDesc(name, attrs.get(name, None)), arr)

        for name in self._param_names:
            fill(name, self._exec.arg_dict[name], arg_params)
        for name in self._aux_names:
            fill(name, self._exec.aux_dict[name], aux_params)
        if not allow_extra:
            extra = set(arg_params or {}) - set(self._param_names) | set(aux_params or {}) - set(self._aux_names)
            if extra and (arg_params is not None or aux_params is not None):
                extra = {e for e in extra if e not in self._data_names + self._label_names}
                if extra:
                    raise ValueError(f"init_params: parameters {sorted(extra)} are not in the symbol "
                                     "(pass allow_extra=True to ignore them)")
        self.params_initialized = True
        self._sync_params_from_exec()

    def _sync_params_from_exec(self):
        self._arg_params = {n: self._exec.arg_dict[n] for n in self._param_names}
        self._aux_params = {n: self._exec.aux_dict[n] for n in self._aux_names}

    def get_params(self):
        assert self.binded and self.params_initialized, "call bind and init_params first"
        arg = {n: self._exec.arg_dict[n].copy() for n in self._param_names}
        aux = {n: self._exec.aux_dict[n].copy() for n in self._aux_names}
        return arg, aux

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        if not self.params_initialized or force_init:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=True, allow_extra=allow_extra)

    def save_params(self, fname):
        arg, aux = self.get_params()
        d = {f"arg:{k}": v for k, v in arg.items()}
        d.update({f"aux:{k}": v for k, v in aux.items()})
        nd.save(fname, d)

    def load_params(self, fname):
        loaded = nd.load(fname)
        arg, aux = {}, {}
        for k, v in loaded.items():
            tp, _, name = k.partition(":")
            (arg if tp == "arg" else aux if tp == "aux" else {})[name] = v
        self.set_params(arg, aux)

    # -- optimizer -----------------------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        from .. import optimizer as opt

        assert self.binded and self.params_initialized, "call bind and init_params before init_optimizer"
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        idx2name = dict(enumerate(self._param_names))
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            if "rescale_grad" not in params:
                params["rescale_grad"] = 1.0 / self._batch_size()
            optimizer = opt.create(optimizer, sym=self._symbol, param_idx2name=idx2name, **params)
        else:
            if optimizer.idx2name is None or not optimizer.idx2name:
                optimizer.idx2name = idx2name
        self._optimizer = optimizer
        self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        preload = getattr(self, "_preload_opt_states", None)
        if preload is not None:
            self.load_optimizer_states(preload)
            self._preload_opt_states = None

    def save_optimizer_states(self, fname):
        assert self.optimizer_initialized
        with open(fname, "wb") as f:
            f.write(self._updater.get_states())

    def load_optimizer_states(self, fname):
        assert self.optimizer_initialized
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    # -- computation ------------------------------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        assert self.binded and self.params_initialized, "call bind and init_params before forward"
        if is_train is None:
            is_train = self.for_training
        self._reshape_for(data_batch)
        feed = {}
        for name, arr in zip(self._data_names, data_batch.data):
            feed[name] = arr
        if self._label_names and data_batch.label:
            for name, arr in zip(self._label_names, data_batch.label):
                feed[name] = arr
        self._exec.forward(is_train=is_train, **feed)

    def backward(self, out_grads=None):
        assert self.binded and self.params_initialized, "call bind and init_params before backward"
        self._exec.backward(out_grads=out_grads)

    def update(self):
        assert self.binded and self.params_initialized and self.optimizer_initialized
        grads = self._exec.grad_dict
        for i, name in enumerate(self._param_names):
            g = grads.get(name)
            if g is not None:
                self._updater(i, g, self._exec.arg_dict[name])

    def get_outputs(self, merge_multi_context=True):
        assert self.binded and self.params_initialized
        return list(self._exec.outputs)

    def get_input_grads(self, merge_multi_context=True):
        assert self.binded and self.params_initialized and self.inputs_need_grad
        return [self._exec.grad_dict[n] for n in self._data_names]

    def update_metric(self, eval_metric, labels, pre_sliced=False, pad=0):
        outputs = self.get_outputs()
        if pad:
            n = outputs[0].shape[0] - pad
            outputs = [o[0:n] for o in outputs]
            labels = [lb[0:n] for lb in labels]
        eval_metric.update(labels, outputs)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        arg, aux = self.get_params()
        save_checkpoint(prefix, epoch, self._symbol, arg, aux)
        if save_optimizer_states:
            state_name = "%s-%04d.states" % (prefix, epoch)
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module over `prefix-symbol.json` whose parameters come from `prefix-%04d.params` at bind."""
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params, mod._aux_params = args, auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod
