"""The Jinja2 templates, shipped inside the package as ``streamsrv.templates`` (see pyproject.toml)."""
