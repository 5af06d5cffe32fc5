"""Demarc: a management information exchange gateway for network operators."""
