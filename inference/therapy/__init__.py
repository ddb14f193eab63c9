"""Therapy matching, safety gate and ranking as plain Python: frozen dataclasses in and out.

Nothing here imports Django or touches the database, so every rule is testable on its own;
``oncology_ui/therapies/services.py`` builds the inputs from rows and stores the results.
"""
