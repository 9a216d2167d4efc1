"""Site: many publications at once, with a browsable index."""

from .app import make_server
from .build import BuildResult, build_publications, parse_formats

__all__ = ["BuildResult", "build_publications", "make_server", "parse_formats"]
