"""The native registry: bytes parsed strictly (``parse``), records checked (``check``), and the
typed model of entities and holdings built from them (``load``)."""
