"""The two-step use the README shows: `stats --split` (the Dask counting job), then `lm --snapshot`."""

from __future__ import annotations

import json

import pytest

from seqpipe.cli import main


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_stats_split_then_lm_snapshot_gives_kenlm_figures(capsys, shared_data, tmp_path):
    code, out, _ = _cli(capsys, "stats", "timemachine", "--out", str(tmp_path), "--split", "0.9",
                        "--orders", "1,2,3,4", "--workers", "0", "--blocksize", "40KiB")
    assert code == 0
    corpus = tmp_path / "corpus" / "timemachine"
    for order, incl, excl in ((2, 265.955, 180.083), (4, 258.079, 174.336)):
        code, out, _ = _cli(capsys, "lm", "--snapshot", str(corpus), "--order", str(order), "--json")
        payload = json.loads(out.splitlines()[-1])
        assert code == 0 and (payload["oovs"], payload["tokens"]) == (248, 3414)
        assert payload["ppl_incl_oov"] == pytest.approx(incl, rel=1e-5)
        assert payload["ppl_excl_oov"] == pytest.approx(excl, rel=1e-5)
        assert payload["sources"] == ["timemachine"]
    code, _, err = _cli(capsys, "lm", "--snapshot", str(corpus), "--order", "5")
    assert code == 2 and "--orders 1,2,3,4,5" in err and err.count("\n") == 1


def test_a_snapshot_without_split_names_the_flags(capsys, shared_data, tmp_path):
    assert _cli(capsys, "stats", "timemachine", "--out", str(tmp_path), "--workers", "0")[0] == 0
    code, _, err = _cli(capsys, "lm", "--snapshot", str(tmp_path / "corpus" / "timemachine"), "--order", "2")
    assert code == 2 and "--split 0.9" in err and err.count("\n") == 1
