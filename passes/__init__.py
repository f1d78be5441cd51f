"""mxcc.passes: Graph -> Graph transforms, one file each, composed in a list (pipeline.py)."""
from .infer_types import infer_types
from .pipeline import PIPELINE, run_pipeline

__all__ = ["infer_types", "PIPELINE", "run_pipeline"]
