"""Optional C accelerators: every ``*.c`` under src/hcpcs_atlas is an extension module named by its path.

They are optional (``optional=True``): without a C compiler or Python's headers the install still
succeeds and the package runs its pure-Python path, with the same results (see hcpcs_atlas/accel.py).
"""

from pathlib import Path

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    found = []
    for source in sorted(Path("src").glob("hcpcs_atlas/**/*.c")):
        name = ".".join(source.with_suffix("").parts[1:])
        found.append(Extension(name, [str(source)], optional=True, extra_compile_args=["-O2"]))
    return found


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import _extensions
    setup(ext_modules=_extensions())
