import kaldiio
import numpy as np
import pytest

from emorl.data.feats import FeatsInfo
from emorl.rl.teacher import TeacherError, align_posteriors, class_mapping, teacher_posteriors
from emorl.ser.infer import predict_posteriors, write_decode_dir
from emorl.ser.model import save_model

STUDENT = ["angry", "happy", "neutral"]


def test_same_label_set_in_another_order_is_reordered():
    aligned = align_posteriors(
        {"u1": np.array([0.2, 0.5, 0.3])}, ["neutral", "angry", "happy"], STUDENT, ["u1"]
    )
    assert aligned["u1"].tolist() == pytest.approx([0.5, 0.3, 0.2])


def test_cross_corpus_label_map_adds_mapped_classes():
    teacher = ["angry", "disgust", "happy", "neutral", "excited"]
    probs = {"u1": np.array([0.1, 0.2, 0.3, 0.15, 0.25])}
    mapping = {"disgust": "angry", "excited": "happy"}
    aligned = align_posteriors(probs, teacher, STUDENT, ["u1"], mapping)
    assert aligned["u1"].tolist() == pytest.approx([0.3, 0.55, 0.15])


def test_label_sets_that_differ_stop_naming_both():
    with pytest.raises(
        TeacherError, match=r"teacher labels \['angry', 'sad'\], student labels \['angry'"
    ):
        class_mapping(["angry", "sad"], STUDENT)
    with pytest.raises(TeacherError, match=r"teacher labels \['sad'\] without a student label"):
        class_mapping(["angry", "sad"], STUDENT, {"calm": "neutral"})


def test_student_class_without_teacher_class_gets_zero(caplog):
    matrix = class_mapping(["happy", "angry"], STUDENT, {})
    assert matrix.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert "['neutral']" in caplog.text


def test_missing_utterances_stop():
    with pytest.raises(
        TeacherError, match=r"no posteriors for 1 of 2 utterances \(e.g. \['u2'\]\)"
    ):
        align_posteriors({"u1": np.ones(3) / 3}, STUDENT, STUDENT, ["u1", "u2"])


def write_dump(dump_dir, feats):
    dump_dir.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{dump_dir}/feats.ark,{dump_dir}/feats.scp") as writer:
        for utt in sorted(feats):
            writer(utt, feats[utt].reshape(feats[utt].shape[0], -1))
    dim = next(iter(feats.values())).shape[-1]
    FeatsInfo(upstream="toy", layers=[0], dim=dim, frame_rate=100.0).save(dump_dir)


def test_teacher_kinds(tmp_path, make_feats, fit_source_model):
    feats, labels = make_feats(12, shift=0.0, seed=1)
    student = fit_source_model(feats, labels, epochs=5)
    student_labels = ["angry", "happy", "neutral"]
    own = predict_posteriors(student, feats)

    init = teacher_posteriors("init", student, student_labels, feats)
    assert all(np.allclose(init[u], own[u]) for u in feats)

    # a decode dir over a larger class set, mapped onto the student's
    teacher_labels = ["angry", "happy", "neutral", "sad"]
    padded = {u: np.append(own[u] * 0.5, 0.5).astype(np.float32) for u in feats}
    write_decode_dir(tmp_path / "decode", padded, teacher_labels)
    (tmp_path / "map").write_text("sad neutral\n")
    from_ark = teacher_posteriors(
        "posteriors",
        student,
        student_labels,
        feats,
        tmp_path / "decode",
        label_map=tmp_path / "map",
    )
    assert np.allclose(from_ark[sorted(feats)[0]], own[sorted(feats)[0]] * 0.5 + [0, 0, 0.5])
    with pytest.raises(TeacherError, match="give a label map"):
        teacher_posteriors("posteriors", student, student_labels, feats, tmp_path / "decode")

    # another model, live, on its own features (here: features doubled, model trained on them)
    other_feats = {u: 2 * x for u, x in feats.items()}
    other = fit_source_model(other_feats, labels, epochs=5, seed=1)
    save_model(other, tmp_path / "other", student_labels, other.config)
    write_dump(tmp_path / "dump_other", other_feats)
    live = teacher_posteriors(
        "model", student, student_labels, feats, tmp_path / "other", tmp_path / "dump_other"
    )
    expected = predict_posteriors(other, other_feats)
    assert all(np.allclose(live[u], expected[u], atol=1e-6) for u in feats)

    with pytest.raises(TeacherError, match="unknown teacher"):
        teacher_posteriors("oracle", student, student_labels, feats)
    with pytest.raises(TeacherError, match="needs --teacher_dir"):
        teacher_posteriors("model", student, student_labels, feats)
    fewer = {u: other_feats[u] for u in sorted(feats)[:-2]}
    write_dump(tmp_path / "dump_fewer", fewer)
    with pytest.raises(TeacherError, match="2 unlabeled utterances missing"):
        teacher_posteriors(
            "model", student, student_labels, feats, tmp_path / "other", tmp_path / "dump_fewer"
        )
