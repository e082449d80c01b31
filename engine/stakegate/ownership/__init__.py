"""Indirect ownership by restricted owners, pure and without I/O: share intervals
(``interval``), the index graph (``graph``), both methods (``compute``), and the paths that
explain a share (``evidence``)."""
