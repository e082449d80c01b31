"""The ``stakegate`` command, a thin click layer: ``main`` (check, screen), ``bundle``,
``serve`` (and audit), ``imports``, and the shared error edge and options in ``common``."""
