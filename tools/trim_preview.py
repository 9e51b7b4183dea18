"""Crop a report screenshot to the report: `python tools/trim_preview.py PNG last|more`.

Exit 3 when the page reaches the window's bottom edge (the report is taller than the window)
and a taller window may still be tried ("more"); otherwise crop the blank below the report,
save, and print the size.
"""
import sys

from PIL import Image, ImageChops


def main(path: str, is_last: bool) -> int:
    image = Image.open(path).convert("RGB")
    blank = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = ImageChops.difference(image, blank).getbbox()
    bottom = min(image.height, (box[3] if box else 0) + 16)
    if bottom == image.height and not is_last:
        return 3
    image.crop((0, 0, image.width, bottom)).save(path)
    cut = " (cut: the report is taller)" if bottom == image.height else ""
    print(f"{path}: {image.width} x {bottom} px{cut}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] == "last"))
