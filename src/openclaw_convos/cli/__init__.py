"""The ``openclaw-convos`` command line."""
