from collections.abc import Sequence
from typing import Any

def find_items(
    buf: bytes | bytearray | memoryview,
    pos: int,
    limit: int,
    floor: int,
    mode: int,
    codes: Sequence[bytes],
    verdicts: dict[bytes, str],
    /,
) -> tuple[list[tuple[int, int, int, int, int, list[str] | None]], int]: ...
def item_parts(item: dict[str, Any], /) -> list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]] | None: ...
