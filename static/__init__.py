"""The web assets, shipped inside the package as ``streamsrv.static`` (see pyproject.toml)."""
