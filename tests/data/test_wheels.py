"""Emotion-wheel tables: the shipped files load and agree; malformed files stop at file and line."""

import importlib.util
import shutil
from pathlib import Path

import pytest

from emorl.data.corpora import mer2023, mini_emo
from emorl.data.labels import LABEL_SETS
from emorl.data.wheels import WHEELS, WHEELS_DIR, WheelError, load_lexicon, read_table


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def test_shipped_tables_load_with_their_headers(lexicon):
    assert sorted(lexicon.wheels) == sorted(WHEELS)
    for name in WHEELS:
        table = read_table(WHEELS_DIR / f"{name}.txt")
        assert table.kind == "wheel" and table.name == name and table.header["version"] == "1"
        assert table.header["source"], name
    for kind in ("synonyms", "forms"):
        table = read_table(WHEELS_DIR / f"{kind}.txt")
        assert table.kind == kind and table.header["source"]


def test_at_least_500_emotion_words_in_synonym_and_form_tables(lexicon):
    assert len(set(lexicon.synonyms) | set(lexicon.forms)) >= 500
    assert len(lexicon.vocabulary) >= 700


def test_synonyms_point_to_wheel_words_and_forms_end_on_known_words(lexicon):
    on_wheels = {w for wheel in lexicon.wheels.values() for w in wheel.clusters}
    assert set(lexicon.synonyms.values()) <= on_wheels
    assert not set(lexicon.synonyms) & on_wheels
    assert set(lexicon.forms.values()) <= on_wheels | set(lexicon.synonyms)
    assert not set(lexicon.forms) & (on_wheels | set(lexicon.synonyms))


def test_every_wheel_places_every_canonical_word(lexicon):
    words = [set(wheel.clusters) for wheel in lexicon.wheels.values()]
    assert all(w == words[0] for w in words)


def test_published_structure_of_the_wheels(lexicon):
    plutchik = lexicon.wheel("plutchik")
    for mild, basic, intense in (("serenity", "joy", "ecstasy"), ("annoyance", "anger", "rage")):
        clusters = {plutchik.lookup(w, 1) for w in (mild, basic, intense)}
        assert clusters == {frozenset([basic])}
        assert {plutchik.lookup(w, 2) for w in (mild, basic, intense)} == {
            frozenset([mild]),
            frozenset([basic]),
            frozenset([intense]),
        }
    assert plutchik.lookup("love", 1) == {"joy", "trust"}
    assert plutchik.lookup("contempt", 1) == {"disgust", "anger"}
    primaries = set().union(*(plutchik.lookup(w, 1) for w in plutchik.clusters))
    assert primaries == {
        "joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation", "neutral"
    }  # fmt: skip
    parrott = lexicon.wheel("parrott")
    assert parrott.lookup("rage", 1) == {"anger"} and parrott.lookup("rage", 2) == {"rage"}
    assert parrott.lookup("homesickness", 2) == {"neglect"}
    assert {c for w in parrott.clusters for c in parrott.lookup(w, 1)} == {
        "love", "joy", "surprise", "anger", "sadness", "fear", "neutral"
    }  # fmt: skip
    assert len({c for w in parrott.clusters for c in parrott.lookup(w, 2)}) == 25 + 1
    gew = lexicon.wheel("gew")
    families = {c for w in gew.clusters for c in gew.lookup(w, 2)} - {"no_emotion"}
    assert len(families) == 20
    assert len({c for w in gew.clusters for c in gew.lookup(w, 1)}) == 4 + 1
    ekman = lexicon.wheel("ekman")
    assert {c for w in ekman.clusters for c in ekman.lookup(w, 1)} == {
        "anger", "fear", "disgust", "sadness", "enjoyment", "surprise", "neutral"
    }  # fmt: skip


def test_word_forms_and_synonyms_reach_the_wheel_word(lexicon):
    for word in ("angry", "Angrier", "angrily", "anger", "MAD"):
        assert lexicon.canonical(word) == "anger", word
    assert lexicon.canonical("happy") == "happiness"
    assert lexicon.canonical("frustrated") == lexicon.canonical("frustrating") == "frustration"
    assert lexicon.canonical("calm") == "serenity"
    assert lexicon.canonical("tablecloth") == "tablecloth"
    assert lexicon.clusters("tablecloth", "gew", 1) == frozenset()
    assert lexicon.clusters("furious", "plutchik", 2) == {"rage"}


def test_every_mini_corpus_word_maps_on_every_wheel(lexicon):
    words = sorted({w for synonyms in mini_emo.SYNONYMS.values() for w in synonyms})
    for name in WHEELS:
        for level in (1, 2):
            unmapped = [w for w in words if not lexicon.clusters(w, name, level)]
            assert not unmapped, (name, level, unmapped)


def test_mer2023_labels_and_fixture_words_map_on_every_wheel(lexicon):
    spec = importlib.util.spec_from_file_location(
        "corpus_fixtures", Path(__file__).parent / "corpora" / "corpus_fixtures.py"
    )
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    cells = [cell for _, cell, _ in fixtures.MER_OV]
    words = {w for cell in cells for w in mer2023.parse_openset(cell) or ["neutral"]}
    assert words == {"happy", "relaxed", "surprised", "curious", "neutral"}
    words |= set(LABEL_SETS["mer2023"])
    for name in WHEELS:
        assert all(lexicon.clusters(w, name, 1) for w in words), name


def _copy_tables(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    for path in WHEELS_DIR.glob("*.txt"):
        shutil.copy(path, directory)
    return directory


def _append(path: Path, text: str) -> int:
    """Append lines to a table; returns the line number of the first appended line."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines) + "\n" + text)
    return len(lines) + 1


@pytest.mark.parametrize(
    "line, message",
    [
        ("joy joy\n", "expected 3 fields"),
        ("Joy joy joy\n", "'Joy' is not a lower-case word"),
        ("glowing joy Joy-ful\n", "'Joy-ful' is not a cluster name"),
        ("joy joy joy extra\n", "expected 3 fields"),
        ("serenity joy joy\n", "'serenity' is already on line"),
    ],
)
def test_malformed_wheel_line_names_file_and_line(tmp_path, line, message):
    directory = _copy_tables(tmp_path)
    path = directory / "plutchik.txt"
    lineno = _append(path, line)
    with pytest.raises(WheelError, match=message) as error:
        load_lexicon(directory)
    assert f"{path}:{lineno}:" in str(error.value)


def test_missing_header_field_and_unknown_kind(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# name: bad\n# kind: wheel\n# version: 1\njoy joy joy\n")
    with pytest.raises(WheelError, match=rf"{path}:4: the header .* lacks \['source'\]"):
        read_table(path)
    path.write_text("# name: bad\n# kind: ring\n# version: 1\n# source: me\njoy joy joy\n")
    with pytest.raises(WheelError, match=rf"{path}:5: unknown kind 'ring'"):
        read_table(path)
    path.write_text("# name: bad\n# kind: wheel\n# version: 1\n# source: me\n")
    with pytest.raises(WheelError, match=f"{path}: no entries"):
        read_table(path)


def test_synonym_to_a_word_on_no_wheel_is_named(tmp_path):
    directory = _copy_tables(tmp_path)
    path = directory / "synonyms.txt"
    lineno = _append(path, "gleaming shininess\n")
    with pytest.raises(WheelError, match=f"{path}:{lineno}: synonym 'gleaming' points to"):
        load_lexicon(directory)


def test_form_ending_on_an_unknown_word_and_wheel_word_as_synonym(tmp_path):
    directory = _copy_tables(tmp_path)
    forms = directory / "forms.txt"
    form_line = _append(forms, "gleamingly gleaming\n")
    synonyms = directory / "synonyms.txt"
    syn_line = _append(synonyms, "joy happiness\n")
    with pytest.raises(WheelError) as error:
        load_lexicon(directory)
    assert f"{forms}:{form_line}: form 'gleamingly' has base 'gleaming'" in str(error.value)
    assert f"{synonyms}:{syn_line}: 'joy' is a wheel word" in str(error.value)


def test_a_directory_needs_one_synonym_and_one_form_table(tmp_path):
    directory = _copy_tables(tmp_path)
    (directory / "forms.txt").unlink()
    with pytest.raises(WheelError, match="expected one table of kind forms, found"):
        load_lexicon(directory)
