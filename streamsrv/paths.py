"""Where streamsrv finds what it ships and where it writes what it makes.

Read-only assets (templates, static files) live inside the installed package and are found with
:mod:`importlib.resources`: the build maps the repository's top-level ``templates/`` and
``static/`` folders into the package as ``streamsrv.templates`` and ``streamsrv.static``, so a
wheel, an sdist and an editable install all resolve them the same way.

Everything written at run time goes under the data directory (``STREAMSRV_DATA_DIR``, default
``./var``), never into the package: see :class:`streamsrv.config.Settings` for the layout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_DATA_DIR = Path("var")
# Below the data directory.
SQLITE_FILE = "streamsrv.sqlite3"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
AVATARS_DIR = "avatars"
REDIS_DIR = "redis"
# Demo avatars are written to <data dir>/avatars and served under this URL prefix.
AVATARS_URL_PREFIX = "/static/img/avatars/"


def package_folder(package: str) -> Path:
    """The folder on disk of a data package shipped with streamsrv (``streamsrv.static``, ...).

    Starlette's StaticFiles and Jinja2's file loader want a real directory: a zipped install has
    none, and says so here rather than with a confusing error at the first request.
    """
    found = resources.files(package)
    if not isinstance(found, Path) or not found.is_dir():
        raise RuntimeError(f"{package} is not a folder on disk ({found}): install streamsrv unzipped")
    return found


TEMPLATES_DIR = package_folder("streamsrv.templates")
STATIC_DIR = package_folder("streamsrv.static")
