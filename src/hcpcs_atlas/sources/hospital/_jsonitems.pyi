from collections.abc import Sequence

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
