"""The regression examples (seed section 4) recover their generating weights."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import linear_regression  # noqa: E402
import logistic_regression  # noqa: E402


def test_linear_regression_recovers_weights():
    w, b = linear_regression.train(num_epoch=20)
    np.testing.assert_allclose(w, linear_regression.TRUE_W, atol=0.02)
    assert abs(b - linear_regression.TRUE_B) < 0.02


def test_logistic_regression_recovers_weights():
    w, b = logistic_regression.train(num_epoch=30)
    np.testing.assert_allclose(w, logistic_regression.TRUE_W, atol=0.25)
    assert abs(b - logistic_regression.TRUE_B) < 0.15
