"""Label sets and label maps."""

import pytest

from emorl.data.labels import LABEL_SETS, get_label_set, map_labels, read_label_map


def test_label_sets_are_sorted_unique_lowercase():
    for name, labels in LABEL_SETS.items():
        assert list(labels) == sorted(set(labels)), name
        assert all(label == label.lower() for label in labels), name
    assert "neutral" in LABEL_SETS["mini_emo"] and len(LABEL_SETS["mini_emo"]) >= 6


def test_get_label_set_by_name_or_file(tmp_path):
    assert get_label_set("iemocap4") == ("angry", "happy", "neutral", "sad")
    (tmp_path / "labels").write_text("b\na\n")
    assert get_label_set(tmp_path / "labels") == ("b", "a")
    with pytest.raises(ValueError, match="unknown label set 'nope'"):
        get_label_set("nope")


def test_label_map_reports_unmapped(tmp_path):
    path = tmp_path / "map"
    path.write_text("# iemocap6 -> iemocap4\nexcited happy\nfrustrated angry  # debatable\n")
    mapping = read_label_map(path)
    assert mapping == {"excited": "happy", "frustrated": "angry"}
    labels = {"u1": "excited", "u2": "sad", "u3": "surprise", "u4": "surprise"}
    mapped, unmapped = map_labels(labels, mapping, LABEL_SETS["iemocap4"])
    assert mapped == {"u1": "happy", "u2": "sad"}
    assert unmapped == {"surprise": 2}


def test_label_map_errors_name_the_line(tmp_path):
    path = tmp_path / "map"
    path.write_text("a b\nc\n")
    with pytest.raises(ValueError, match="map:2: expected '<from> <to>'"):
        read_label_map(path)
    path.write_text("a b\na c\n")
    with pytest.raises(ValueError, match="map:2: label 'a' mapped twice"):
        read_label_map(path)
