"""The static model of workflow code (see the module docstring written in the next step)."""
