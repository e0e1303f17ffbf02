"""Shared torch pieces for the worlds (imported lazily: `import emergelab.nn` pulls in torch).

    from emergelab.nn.transformer import Transformer, TransformerConfig
"""

from __future__ import annotations

__all__ = ["Transformer", "TransformerConfig", "resolve_device", "torch_threads"]


def resolve_device(name: str):
    """A world's `device` field as a torch.device: 'auto' is CUDA when available, else CPU."""
    import torch

    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)


def torch_threads(n: int | None):
    """Context manager: run with `n` torch intra-op threads (None or 0: leave as is), then
    restore. Small models (MLPs, GRUs of ~100 units) only pay synchronisation for more
    threads, and on a shared machine run several times slower with them."""
    import contextlib

    @contextlib.contextmanager
    def _ctx():
        import torch

        before = torch.get_num_threads()
        if n:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return _ctx()


def __getattr__(name: str):
    # Lazy: keep `import emergelab.nn` cheap until a model is actually needed.
    if name in ("Transformer", "TransformerConfig"):
        from emergelab.nn import transformer

        return getattr(transformer, name)
    raise AttributeError(f"module 'emergelab.nn' has no attribute {name!r}")
