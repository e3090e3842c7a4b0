"""Which records a consumer maps over."""

from cltc_tools.io.records import of_kind


def test_stream_consumers_take_the_newest_generation_of_a_kind():
    stream = [
        {"kind": "space", "path": "mono-en", "sha256": "a"},
        {"kind": "space", "path": "mono-de", "sha256": "b"},
        {"kind": "space", "path": "aligned", "sha256": "c", "inputs": ["a", "b"]},
        {"kind": "model", "path": "m", "sha256": "d", "inputs": ["c"]},
    ]
    assert [r["path"] for r in of_kind(stream, "space")] == ["aligned"]
    assert [r["path"] for r in of_kind(stream, "model")] == ["m"]
