"""Adapters that give existing NumPy code dlkern's kernels under the names and
conventions that code already uses.

    from dlkern.compat import cs231n
    cs231n.patch(layers)          # a model built on the CS231n assignments' layers.py

Each adapter is a module of plain functions with the original API (arguments, return
values, the `cache` objects and parameter dicts) whose work is done by dlkern's public
functions, so it runs on whichever backend is active.
"""
