"""Measures: pure functions over numpy arrays that turn recorded curves into numbers.

Nothing here knows about worlds, runs or the store; give it arrays, get results back.
"""
