"""Shared torch pieces for the worlds (imported lazily: `import emergelab.nn` pulls in torch).

    from emergelab.nn.transformer import Transformer, TransformerConfig
"""

from __future__ import annotations

__all__ = ["Transformer", "TransformerConfig"]


def __getattr__(name: str):
    # Lazy: keep `import emergelab.nn` cheap until a model is actually needed.
    if name in __all__:
        from emergelab.nn import transformer

        return getattr(transformer, name)
    raise AttributeError(f"module 'emergelab.nn' has no attribute {name!r}")
