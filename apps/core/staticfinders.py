"""Serve single front-end files that ship inside Python packages (no copies in the repo)."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# static path -> file on disk
PACKAGE_ASSETS = {
    "vendor/plotly.min.js": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
}


class PackageAssetFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        source = PACKAGE_ASSETS.get(path)
        if source is None or not source.exists():
            return [] if find_all else None
        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns):
        for path, source in PACKAGE_ASSETS.items():
            storage = FileSystemStorage(location=str(source.parent))
            storage.prefix = str(Path(path).parent)
            yield source.name, storage
