"""Read a QR code off a page as a phone camera would: draw the page's inline SVG and decode the
drawing with zbarimg (Debian's zbar-tools), so a code that points elsewhere cannot pass."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ZBARIMG = shutil.which("zbarimg")


def _dark_modules(path_data: str) -> set[tuple[int, int]]:
    """The dark squares of a QR code drawn as one SVG path of horizontal strokes (M, m, h)."""
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, arguments in re.findall(r"([MmHh])([^MmHh]*)", path_data):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", arguments)]
        if command == "M":
            x, y = numbers[0], numbers[1]
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif command == "h":
            dark.update((column, int(y)) for column in range(round(x), round(x + numbers[0])))
            x += numbers[0]
        else:
            raise ValueError(f"QR path uses {command!r}, which this reader does not draw")
    return dark


def _greyscale_image(dark: set[tuple[int, int]], folder: Path, scale: int = 4) -> Path:
    size = max(max(column, row) for column, row in dark) + 3  # a quiet border
    rows = [
        bytes(0 if (column, row) in dark else 255 for column in range(size) for _ in range(scale))
        for row in range(size)
    ]
    image = folder / f"qr-{len(list(folder.glob('qr-*.pgm')))}.pgm"
    header = f"P5 {size * scale} {size * scale} 255\n".encode()
    image.write_bytes(header + b"".join(row for row in rows for _ in range(scale)))
    return image


def decode_qr_codes(html: str, folder: Path) -> list[str]:
    """The text of each QR code drawn on the page (each an <svg> with one path), in order."""
    if ZBARIMG is None:
        pytest.skip("no zbarimg (Debian package zbar-tools; .ci/run installs it)")
    decoded = []
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL):
        path_data = re.search(r' d="([^"]+)"', svg)
        assert path_data is not None, "a QR code without a drawing"
        image = _greyscale_image(_dark_modules(path_data.group(1)), folder)
        result = subprocess.run(
            [ZBARIMG, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"no QR code could be read: {result.stderr}"
        decoded += result.stdout.splitlines()
    return decoded
