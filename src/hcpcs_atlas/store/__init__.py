"""Store: a DuckDB file holding every loaded source file, versioned by file (see ``schema.sql``).

The only package that knows table names or writes SQL: the layers above ask it named questions.
"""

from .db import DEFAULT_DB, FileRecord, LoadResult, SourceFile, Store, default_db_path
from .load import LoadOutcome, input_files, load_file, load_files
from .registry import SourceSpec, file_sources, source, sources

__all__ = [
    "DEFAULT_DB",
    "FileRecord",
    "LoadOutcome",
    "LoadResult",
    "SourceFile",
    "SourceSpec",
    "Store",
    "default_db_path",
    "file_sources",
    "input_files",
    "load_file",
    "load_files",
    "source",
    "sources",
]
