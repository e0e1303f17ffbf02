"""Infrastructure: configs, the world registry, the recorder, the store, sweeps.

Nothing here imports a world by name; worlds find the lab, not the other way round.
"""
