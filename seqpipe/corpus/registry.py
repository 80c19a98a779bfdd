"""Named corpora and series, like d2l's DATA_HUB: file name, download URL and checksum."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NamedData:
    """One known data file: looked up by `filename` locally, else downloaded from `url` and verified."""

    name: str
    filename: str
    algorithm: str  # hashlib name of the checksum
    checksum: str
    url: str | None = None
    description: str = ""


NAMED: dict[str, NamedData] = {
    d.name: d
    for d in [
        NamedData(
            "timemachine",
            "timemachine.txt",
            "sha1",
            "090b5e7e70c295757f55df93cb0a180b9691891a",
            "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
            "H. G. Wells, The Time Machine: d2l's exact corpus",
        ),
        NamedData(
            "tinyshakespeare",
            "tinyshakespeare.txt",
            "sha256",
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
            "karpathy/char-rnn tiny shakespeare",
        ),
        NamedData(
            "xiyouji",
            "xiyouji_pg23962.txt",
            "sha256",
            "f1ceb5fcb13feec8d51b5beb96a2a6247cdb4bc57bf9caad3581b4a5af6c241d",
            "https://raw.githubusercontent.com/gutenbergbooks/23962/master/23962-0.txt",
            "Journey to the West (traditional script), Project Gutenberg #23962",
        ),
        NamedData(
            "xiyouji-simplified",
            "xiyouji_pg23962_simplified.txt",
            "sha256",
            "41b70cd9a8204c1c9cbe96733aef0877bfcf6d87c71acca847ae00cc15503a41",
            None,
            "Journey to the West converted to simplified script with OpenCC t2s (local only)",
        ),
        NamedData(
            "sunspots",
            "sunspots.csv",
            "sha256",
            "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b",
            None,
            "yearly sunspot activity 1700-2008 (statsmodels' copy, local only)",
        ),
        NamedData(
            "co2",
            "co2.csv",
            "sha256",
            "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
            None,
            "weekly Mauna Loa CO2 1958-2001 with gaps (statsmodels' copy, local only)",
        ),
    ]
}
