"""Site: the web application (``hcpcs-atlas serve``) and the static site (``build --all``).

The web application's modules (Starlette, uvicorn) are imported only when serving: site.app, site.serve.
"""

from .build import BuildResult, build_publications, parse_formats

__all__ = ["BuildResult", "build_publications", "parse_formats"]
