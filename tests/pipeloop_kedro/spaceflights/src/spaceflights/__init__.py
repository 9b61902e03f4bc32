"""spaceflights: a small Kedro project shaped like Kedro's spaceflights-pandas starter."""

__version__ = "0.1"
