"""Scanning a listings file: one path for every engine (``runner``), Ray Data beyond one machine (``ray_engine``)."""
