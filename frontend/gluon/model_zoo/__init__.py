"""mx.gluon.model_zoo: predefined networks (vision) and the local store of their pretrained weights."""
from . import model_store, vision
from .vision import get_model

__all__ = ["model_store", "vision", "get_model"]
