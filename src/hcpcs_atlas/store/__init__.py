"""Store: a DuckDB file holding every loaded source file, versioned by file (see ``schema.sql``)."""

from .db import DEFAULT_DB, FileRecord, LoadResult, Store, default_db_path

__all__ = ["DEFAULT_DB", "FileRecord", "LoadResult", "Store", "default_db_path"]
