"""A realistic demo network and its management data."""
