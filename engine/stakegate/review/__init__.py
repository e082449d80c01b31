"""What a change does to decisions, for the people who approve it: the comparison
(``compare``), its rendering (``render``) and the ownership diagrams (``diagram``)."""
