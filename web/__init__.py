"""The HTTP conventions every app shares: the one JSON error format, and infrastructure failures in it.

At the bottom of the layering beside ``streams``: the sources, the market and
the dashboard all answer their errors through it.
"""
