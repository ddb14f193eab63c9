"""Hallmark gene sets and hallmark programme scores from gene-level expression."""
