"""Prognosis from the patient's whole clinical portrait, across cancer types (issue #16).

``vocabulary`` is the one clinical vocabulary (frozen dataclasses, missing = masked) and ``model``
the checkpoint-backed survival model on it. Training and harmonisation of the public cohorts live
in ``inference.training.portrait_*`` (training extras only).
"""
