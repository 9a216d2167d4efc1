def next_hit(
    buf: bytes | bytearray,
    key: bytes,
    start: int,
    stop: int,
    done: int,
    codes: set[str] | frozenset[str] | None,
) -> tuple[int, int, int, int]: ...
