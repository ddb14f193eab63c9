"""Survival analysis primitives: Kaplan-Meier, losses and evaluation metrics (numpy / torch only)."""
