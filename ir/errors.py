"""Error classes every layer shares (defined at the bottom so every layer can raise them)."""


class MXNetError(RuntimeError):
    """mx.MXNetError: an operation failed; the message names the op and what was expected."""


class ShapeError(MXNetError, ValueError):
    """Type inference failed; the message names the op, the shapes and what was expected."""
