"""Trouble tickets between the operator and its peers and customers (TMF621, MEF 113/124)."""
