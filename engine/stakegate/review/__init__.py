"""What a change does to decisions, for the people who approve or act on it: two policies on one
registry (``compare``, with ``causes``) or two screenings (``changes``), as one report shape
(``report``) in words (``sentences``) and drawings (``diagram``), rendered by ``render``."""
