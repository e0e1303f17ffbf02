"""The model organisms: one module per emergent phenomenon.

Each module defines a frozen config dataclass (defaults = the paper's setting), a
`run(config, recorder)` and registers itself with `emergelab.lab.registry.register`.
The registry imports every module here, so adding a world is adding a file.
"""
