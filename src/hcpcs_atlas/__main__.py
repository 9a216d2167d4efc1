"""``python -m hcpcs_atlas``: the same command as ``hcpcs-atlas``, without relying on PATH."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main(prog_name="hcpcs-atlas")
