"""Bundled data files (cn_cities.csv)."""
