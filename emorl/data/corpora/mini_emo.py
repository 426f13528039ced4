"""mini_emo: a synthetic emotional-speech corpus that the mini recipe generates itself (eSpeak NG).

It exists so that every stage of emorl runs offline on a small CPU machine. Emotion is rendered
through prosody (pitch level and range, speaking rate, loudness, pauses, spectral tilt; a tremor
for fear and a strained, saturated voice for anger) with a random intensity and jitter per
utterance, so that classes overlap, and through words: a sentence is emotional for some
utterances and neutral for others, and sometimes carries another emotion than the voice (words
and acoustics disagree).

- Labels: angry, fear, happy, neutral, sad, surprise (``LABEL_SETS["mini_emo"]``), balanced per
  speaker (except on the target with the ``prior`` shift).
- Speakers: 20 eSpeak NG voice variants (11 male, 9 female), each with its own base pitch, rate
  and recording level; 10 in the source domain, 10 in the target domain. Per domain, the train
  (6 speakers), dev (2) and test (2) sets have disjoint speakers.
- Domains: source = clean studio-like audio; target = other speakers, shifted by
  ``--target_shift`` (comma-separated, default ``channel``; ``none`` for no shift):

  - ``channel``: a telephone channel (300-3400 Hz band-pass, ``--telephone``) with additive pink
    noise at ``--snr_db`` (without it, the target has the source's clean channel);
  - ``intensity``: target speakers express emotion more weakly (intensity scaled by
    TARGET_INTENSITY_SCALE), so every emotion's prosody lies closer to neutral: a shift of the
    class-conditional distributions that re-normalising the input cannot undo;
  - ``prior``: target classes imbalanced as TARGET_PRIOR (neutral 35% ... fear 5%) by keeping a
    subset of each target set's utterances, each rendered exactly as without the shift.
- Sizes: ``default`` 1440 utterances (12 per speaker and emotion), ``ci`` 360 (3), ``tiny`` 120
  (1, for unit tests), ``large`` 5760 (48: the same speakers and sets, four times the utterances,
  for comparisons that the default's 144-utterance test sets cannot resolve); 1.5-6 s each (mean
  3 s), 16 kHz 16-bit PCM.
- Tables: wav.scp, utt2spk, spk2utt, text (transcript), utt2emo, utt2caption (a caption written
  from the rendering parameters with varied phrasing), utt2ovlabels (open-vocabulary emotion words
  drawn from per-emotion synonym lists), utt2domain (source/target), utt2dur. The rendering
  parameters of every utterance go to ``<corpus_dir>/metadata.tsv`` (``metadata_<shifts>.tsv``
  and ``wav_<shifts>/`` for another target shift than the default).
- Sets: src_train, src_dev, src_test, tgt_train, tgt_dev, tgt_test.
- Deterministic: the same ``--seed`` and ``--size`` give byte-identical wavs and identical tables,
  whatever ``--nj``. License: generated here; eSpeak NG is GPL-3.0.
"""

from __future__ import annotations

import argparse
import copy
import logging
import multiprocessing
import xml.sax.saxutils
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import butter, lfilter, sosfilt
from tqdm import tqdm

from emorl.atomic import atomic_dir, atomic_write
from emorl.cli import str2bool
from emorl.data.audio import SAMPLE_RATE, resample
from emorl.data.corpora import _common
from emorl.data.datadir import DataDir
from emorl.data.espeak import synthesize
from emorl.data.labels import LABEL_SETS

LABELS = LABEL_SETS["mini_emo"]
SETS = ("src_train", "src_dev", "src_test", "tgt_train", "tgt_dev", "tgt_test")
#: Utterances per speaker and emotion.
SIZES = {"tiny": 1, "ci": 3, "default": 12, "large": 48}
#: Bump when the rendering changes, so that ``.completed`` guards of older corpora do not match.
VERSION = 1
#: What ``--target_shift`` may name (comma-separated; ``none`` for none).
TARGET_SHIFTS = ("channel", "intensity", "prior")
DEFAULT_TARGET_SHIFT = "channel"
#: ``intensity`` shift: factor on the target speakers' expression intensity.
TARGET_INTENSITY_SCALE = 0.5
#: ``prior`` shift: class frequencies of every target set (the most frequent class keeps all its
#: utterances, the others a share in proportion).
TARGET_PRIOR = {
    "neutral": 0.35,
    "happy": 0.20,
    "angry": 0.15,
    "sad": 0.15,
    "surprise": 0.10,
    "fear": 0.05,
}


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an eSpeak voice variant with its own pitch, rate and recording level."""

    spk: str
    voice: str
    gender: str
    pitch: int  # offset to the emotion's eSpeak pitch (0-100 scale)
    rate: float  # factor on the emotion's rate
    gain_db: float  # recording level
    split: str  # the data set it belongs to

    @property
    def domain(self) -> str:
        return "target" if self.split.startswith("tgt") else "source"


@dataclass(frozen=True)
class Prosody:
    """How an emotion is rendered at full intensity (see PROSODY)."""

    rate: int
    pitch: int
    pitch_range: int
    volume: int
    word_gap: int
    pause: float
    pause_ms: tuple[int, int]
    tilt: float


# fmt: off
SPEAKERS = (
    Speaker("m1", "en-us+m1", "male", -4, 1.00, 0.0, "src_train"),
    Speaker("m2", "en-us+m2", "male", 2, 1.06, -2.0, "src_train"),
    Speaker("f1", "en-us+f1", "female", 0, 0.96, 1.0, "src_train"),
    Speaker("f2", "en-us+f2", "female", 4, 1.03, -1.0, "src_train"),
    Speaker("robert", "en-us+robert", "male", 6, 0.94, 2.0, "src_train"),
    Speaker("belinda", "en-us+belinda", "female", -4, 1.02, 0.0, "src_train"),
    Speaker("m3", "en-us+m3", "male", -2, 0.97, 1.5, "src_dev"),
    Speaker("f4", "en-us+f4", "female", 3, 1.04, -1.5, "src_dev"),
    Speaker("m4", "en-us+m4", "male", 1, 1.02, -0.5, "src_test"),
    Speaker("f3", "en-us+f3", "female", -3, 0.98, 0.5, "src_test"),
    Speaker("m5", "en-us+m5", "male", 0, 1.04, 0.0, "tgt_train"),
    Speaker("m6", "en-us+m6", "male", -5, 0.95, 1.0, "tgt_train"),
    Speaker("f5", "en-us+f5", "female", 2, 1.00, -1.0, "tgt_train"),
    Speaker("linda", "en-us+linda", "female", -6, 1.05, 0.5, "tgt_train"),
    Speaker("john", "en-us+john", "male", 3, 0.97, -2.0, "tgt_train"),
    Speaker("norbert", "en-us+norbert", "male", -3, 1.01, 1.5, "tgt_train"),
    Speaker("m7", "en-us+m7", "male", 4, 1.01, 1.0, "tgt_dev"),
    Speaker("steph", "en-us+steph", "female", -2, 0.99, -0.5, "tgt_dev"),
    Speaker("m8", "en-us+m8", "male", -1, 1.03, 0.5, "tgt_test"),
    Speaker("aunty", "en-us+aunty", "female", 1, 0.96, -1.0, "tgt_test"),
)

#: Prosody per emotion at full intensity: eSpeak rate (wpm), pitch, pitch range, volume, word gap
#: (10 ms units), probability of a pause at a phrase boundary (a quarter of it between other words),
#: pause length range (ms), spectral tilt (> 0 brighter, as in aroused speech; < 0 darker, muffled).
PROSODY = {
    #                   rate pitch range volume gap pause  pause_ms    tilt
    "neutral":  Prosody(165,  48,   45,  100,   0,  0.10, (150, 300),  0.0),
    "angry":    Prosody(192,  56,   75,  150,   0,  0.10, (100, 200),  0.7),
    "happy":    Prosody(188,  66,   85,  122,   0,  0.10, (100, 250),  0.4),
    "sad":      Prosody(140,  36,   18,   65,   2,  0.50, (250, 500), -0.6),
    "fear":     Prosody(200,  70,   30,   85,   1,  0.45, (150, 350),  0.2),
    "surprise": Prosody(175,  72,   98,  122,   0,  0.20, (200, 400),  0.3),
}
# fmt: on

#: Per-utterance randomness of the rendering. Expression intensity is uniform in INTENSITY (1 =
#: the PROSODY table, 0 = neutral); on top of it Gaussian jitter with these standard deviations.
#: Tuned so that a linear probe on fbank mean+std reaches 55-90% on src_test (tests check it;
#: seed 0 gives 67% at size ci, 75% at size default).
INTENSITY = (0.6, 1.0)
JITTER = dict(rate=8.0, pitch=4.0, pitch_range=7.0, volume=8.0, gain_db=1.0, tilt=0.08)
SOURCE_SNR_DB = 40.0  #: the source domain's noise floor (studio-like, avoids digital silence)

#: Sentences: neutral wording, and wording that carries one emotion.
NEUTRAL_SENTENCES = (
    "The meeting starts at nine tomorrow morning.",
    "Please put the folder on the second shelf.",
    "The train leaves from platform four.",
    "I moved the chairs into the other room.",
    "The report has twelve pages and two tables.",
    "We usually buy bread at the corner shop.",
    "The bus stops here every twenty minutes.",
    "She sent the letter on Tuesday afternoon.",
    "The keys are on the kitchen table.",
    "He works in the office on the third floor.",
    "The library closes at six in the evening.",
    "They painted the fence last weekend.",
    "The package arrived this morning.",
    "Turn left at the second traffic light.",
    "The store sells shoes and winter coats.",
    "My brother lives near the river.",
    "The printer is next to the window.",
    "We have a meeting with the new team.",
    "The weather report says it will be cloudy.",
    "I put the milk back in the fridge.",
    "The class starts after the lunch break.",
    "He parked the car behind the building.",
    "The form needs a signature on each page.",
    "Our flight lands at half past seven.",
)
EMOTIONAL_SENTENCES = {
    "angry": (
        "I told you a hundred times to stop that!",
        "This is completely unacceptable and you know it!",
        "Get out of my room right now!",
        "How dare you lie to my face again!",
        "I am sick and tired of your excuses!",
        "You ruined everything, you stupid fool!",
        "Stop wasting my time with this nonsense!",
        "Who gave you the right to touch my things?",
    ),
    "happy": (
        "This is the best day I have had in years!",
        "I am so glad you could come tonight!",
        "We won the game, I love this team!",
        "What a wonderful surprise party, thank you all!",
        "I passed the exam, I am thrilled!",
        "Everything worked out perfectly, I feel great!",
        "It is lovely to see you again, my friend!",
        "Our baby laughed for the first time today!",
    ),
    "sad": (
        "I miss her so much, nothing feels the same.",
        "He never came back, and I am still waiting.",
        "I lost my job today and I feel empty.",
        "Nobody remembered my birthday this year.",
        "Our old dog died last night.",
        "I tried so hard, and it was all for nothing.",
        "The house feels so lonely without them.",
        "I cannot stop crying since the funeral.",
    ),
    "fear": (
        "Did you hear that noise? Someone is inside.",
        "Please do not leave me alone in the dark.",
        "The brakes are not working, we are going to crash!",
        "I think somebody is following me home.",
        "What if the fire reaches the house?",
        "Help me, I cannot get out of here!",
        "There is something moving under the bed.",
        "I am terrified of what the doctor will say.",
    ),
    "surprise": (
        "Wait, you actually got the job? No way!",
        "Oh my goodness, is that really you?",
        "I cannot believe it, the door was open all along!",
        "Really? They are getting married next week?",
        "You did all of this by yourself? Wow!",
        "What? The concert was moved to tonight?",
        "No way, it snowed in the middle of summer!",
        "Whoa, I never expected to see you here!",
    ),
}
#: Probability of each wording for an utterance of a non-neutral emotion: a sentence of that
#: emotion, a neutral sentence, or a sentence of another emotion. Neutral utterances take a neutral
#: sentence, or (with probability NEUTRAL_VOICE_EMOTIONAL_WORDS) a sentence of another emotion.
WORDING = {"congruent": 0.5, "neutral": 0.3, "incongruent": 0.2}
NEUTRAL_VOICE_EMOTIONAL_WORDS = 0.25

#: Open-vocabulary emotion words per label (the first is the base word).
SYNONYMS = {
    "angry": ("angry", "irritated", "annoyed", "furious", "frustrated", "mad", "outraged"),
    "happy": ("happy", "cheerful", "joyful", "delighted", "glad", "excited", "pleased"),
    "sad": ("sad", "sorrowful", "unhappy", "gloomy", "disappointed", "heartbroken", "depressed"),
    "fear": ("fearful", "scared", "afraid", "anxious", "nervous", "worried", "terrified"),
    "surprise": ("surprised", "astonished", "amazed", "shocked", "startled", "stunned"),
    "neutral": ("neutral", "calm", "composed", "indifferent", "relaxed", "unemotional"),
}
NOUNS = {
    "angry": "anger",
    "happy": "happiness",
    "sad": "sadness",
    "fear": "fear",
    "surprise": "surprise",
    "neutral": "no particular emotion",
}


@dataclass(frozen=True)
class Utterance:
    """One planned utterance: what to say and how to render it."""

    utt: str
    spk: str
    split: str
    domain: str
    emotion: str
    wording: str  # congruent, neutral, incongruent
    text: str
    ssml: str
    voice: str
    intensity: float
    rate: int
    pitch: int
    pitch_range: int
    volume: int
    word_gap: int
    pause_ms: int  # total of the inserted pauses
    gain_db: float
    tremor: float  # amplitude-modulation depth (fear)
    strain: float  # soft-clipping drive (anger)
    tilt: float  # spectral tilt
    espeak_seed: int
    noise_seed: int
    caption: str
    ovlabels: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus's options for ``emorl.bin.prepare_data``."""
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="default",
        help="utterances: tiny 120, ci 360, default 1440, large 5760",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the whole corpus")
    parser.add_argument("--nj", type=int, default=2, help="worker processes for synthesis")
    parser.add_argument(
        "--snr_db", type=float, default=15.0, help="target domain: SNR of the noise"
    )
    parser.add_argument(
        "--telephone",
        type=str2bool,
        default=True,
        help="target domain: band-limit to 300-3400 Hz",
    )
    parser.add_argument(
        "--target_shift",
        default=DEFAULT_TARGET_SHIFT,
        help=f"target domain shifts, comma-separated, from {', '.join(TARGET_SHIFTS)} (or none)",
    )


def parse_target_shift(spec: str) -> tuple[str, ...]:
    """``"prior,channel"`` -> ``("channel", "prior")``; ``"none"`` -> ``()``; unknown names stop."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if names == ["none"]:
        return ()
    unknown = sorted(set(names) - set(TARGET_SHIFTS))
    if unknown or not names:
        raise _common.CorpusError(
            f"mini_emo: bad --target_shift {spec!r}: choose from {', '.join(TARGET_SHIFTS)}, "
            "comma-separated, or none"
        )
    return tuple(name for name in TARGET_SHIFTS if name in names)


def _choose_sentence(emotion: str, rng: np.random.Generator) -> tuple[str, str]:
    """(wording, sentence) for an utterance of ``emotion``."""
    others = [e for e in EMOTIONAL_SENTENCES if e != emotion]
    if emotion == "neutral":
        wording = "incongruent" if rng.random() < NEUTRAL_VOICE_EMOTIONAL_WORDS else "neutral"
    else:
        wording = rng.choice(list(WORDING), p=list(WORDING.values()))
    if wording == "congruent":
        pool = EMOTIONAL_SENTENCES[emotion]
    elif wording == "neutral":
        pool = NEUTRAL_SENTENCES
    else:
        pool = EMOTIONAL_SENTENCES[others[rng.integers(len(others))]]
    return str(wording), pool[rng.integers(len(pool))]


def _with_pauses(text: str, probability: float, pause_ms: tuple[int, int], rng) -> tuple[str, int]:
    """SSML for ``text`` with random ``<break>``s at phrase boundaries and between words."""
    words = text.split()
    pieces, total = [], 0
    for i, word in enumerate(words):
        pieces.append(xml.sax.saxutils.escape(word))
        if i == len(words) - 1:
            break
        boundary = word[-1] in ",.?!"
        if rng.random() < (probability if boundary else probability / 4):
            ms = int(rng.integers(pause_ms[0], pause_ms[1] + 1))
            pieces.append(f'<break time="{ms}ms"/>')
            total += ms
    return "<speak>" + " ".join(pieces) + "</speak>", total


def _describe(speaker: Speaker, emotion: str, u: dict, rng: np.random.Generator) -> tuple[str, str]:
    """A caption of the rendering, with varied phrasing, and the open-vocabulary emotion words."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    male = speaker.gender == "male"
    who = (
        pick(("A man", "A male speaker", "A man"))
        if male
        else pick(("A woman", "A female speaker", "A woman"))
    )
    pronoun = "he" if male else "she"
    pitch = (
        "low" if u["pitch"] < 42 else "high" if u["pitch"] > 62 else pick(("medium", "moderate"))
    )
    rate = (
        pick(("slowly", "at a slow pace"))
        if u["rate"] < 150
        else pick(("quickly", "fast", "at a brisk pace"))
        if u["rate"] > 182
        else pick(("at a moderate pace", "at a normal speed"))
    )
    loud = (
        pick(("softly", "quietly"))
        if u["volume"] < 85
        else pick(("loudly", "forcefully"))
        if u["volume"] > 125
        else pick(("at a normal volume", "at an even volume"))
    )
    melody = (
        pick(("flat", "monotonous"))
        if u["pitch_range"] < 30
        else pick(("lively", "animated", "expressive"))
        if u["pitch_range"] > 72
        else "steady"
    )
    quality = []
    if u["tremor"] > 0.15:
        quality.append("trembling")
    if u["strain"] > 1.5:
        quality.append("strained")
    elif u["tilt"] > 0.4:
        quality.append("bright")
    if u["tilt"] < -0.3:
        quality.append("muffled")
    voice = ", ".join([pitch] + quality)
    pauses = pick((" with long pauses", ", pausing often")) if u["pause_ms"] > 500 else ""
    n_words = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
    weights = np.array([3.0] + [1.0] * (len(SYNONYMS[emotion]) - 1))
    words = rng.choice(SYNONYMS[emotion], size=n_words, replace=False, p=weights / weights.sum())
    emo = str(words[0])
    templates = (
        f"{who} speaks {rate} and {loud} in a {voice} voice{pauses}; {pronoun} sounds {emo}.",
        f"{who} with a {voice} voice talks {rate}, {loud}{pauses}. The tone is {emo}.",
        f"Speaking {rate} and {loud}{pauses}, {who.lower()} uses a {voice}, {melody} voice. "
        f"Overall, {pronoun} comes across as {emo}.",
        f"{who} has a {voice} voice with {melody} intonation and speaks {rate}{pauses}. "
        f"The speech conveys {NOUNS[emotion]}.",
        f"In a {melody}, {voice} voice, {who.lower()} speaks {loud} and {rate}{pauses}; "
        f"{pronoun} seems {emo}.",
    )
    return pick(templates), ",".join(str(w) for w in words)


def _render_params(
    speaker: Speaker, emotion: str, rng: np.random.Generator, scale: float = 1.0
) -> dict:
    """Random intensity (times ``scale``), prosody and voice effects of one utterance (Utterance
    fields); ``scale`` changes no random draw."""
    full, neutral = PROSODY[emotion], PROSODY["neutral"]
    intensity = 0.0 if emotion == "neutral" else scale * float(rng.uniform(*INTENSITY))

    def level(name: str, low: int, high: int) -> int:
        mean = getattr(neutral, name) + intensity * (getattr(full, name) - getattr(neutral, name))
        return int(np.clip(round(mean + rng.normal(0, JITTER[name])), low, high))

    tilt = float(np.clip(intensity * full.tilt + rng.normal(0, JITTER["tilt"]), -0.9, 0.9))
    return dict(  # the order of the random draws is part of the corpus definition
        intensity=round(intensity, 3),
        tilt=round(tilt, 3),
        rate=int(np.clip(round(level("rate", 80, 450) * speaker.rate), 80, 450)),
        pitch=int(np.clip(level("pitch", 0, 100) + speaker.pitch, 0, 100)),
        pitch_range=level("pitch_range", 0, 100),
        volume=level("volume", 20, 200),
        word_gap=int(round(intensity * full.word_gap)),
        tremor=round(0.35 * intensity, 3) if emotion == "fear" else 0.0,
        strain=round(1.0 + 2.0 * intensity, 3) if emotion == "angry" else 0.0,
        gain_db=round(speaker.gain_db + rng.normal(0, JITTER["gain_db"]), 2),
    )


def _expression(speaker: Speaker, emotion: str, rng: np.random.Generator, scale: float = 1.0):
    """``(params, wording, text, ssml, pause_ms, caption, ovlabels)`` of one utterance, its
    expression intensity times ``scale``."""
    params = _render_params(speaker, emotion, rng, scale)
    wording, text = _choose_sentence(emotion, rng)
    full, neutral = PROSODY[emotion], PROSODY["neutral"]
    pause_p = neutral.pause + params["intensity"] * (full.pause - neutral.pause)
    ssml, pause_ms = _with_pauses(text, pause_p, full.pause_ms, rng)
    caption, ovlabels = _describe(speaker, emotion, dict(params, pause_ms=pause_ms), rng)
    return params, wording, text, ssml, pause_ms, caption, ovlabels


def plan(
    size: str = "default", seed: int = 0, target_shift: str = DEFAULT_TARGET_SHIFT
) -> list[Utterance]:
    """Every utterance of the corpus and how to render it; deterministic for ``size``, ``seed``
    and ``target_shift`` (whose ``intensity`` and ``prior`` act here; ``channel`` in render)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
    shifts = parse_target_shift(target_shift)
    rng = np.random.default_rng(seed)
    utterances = []
    for speaker in SPEAKERS:
        emotions = [e for e in LABELS for _ in range(SIZES[size])]
        rng.shuffle(emotions)
        weaker = speaker.domain == "target" and "intensity" in shifts
        for index, emotion in enumerate(emotions):
            replay = copy.deepcopy(rng) if weaker else None
            params, wording, text, ssml, pause_ms, caption, ovlabels = _expression(
                speaker, emotion, rng
            )
            if replay is not None:
                # The same draws with the weaker intensity, on a copy of the stream: the words,
                # seeds and every later utterance stay those of the unshifted corpus.
                params, wording, text, ssml, pause_ms, caption, ovlabels = _expression(
                    speaker, emotion, replay, TARGET_INTENSITY_SCALE
                )
            utterances.append(
                Utterance(
                    utt=f"{speaker.spk}_{index:04d}",
                    spk=speaker.spk,
                    split=speaker.split,
                    domain=speaker.domain,
                    emotion=emotion,
                    wording=wording,
                    text=text,
                    ssml=ssml,
                    voice=speaker.voice,
                    pause_ms=pause_ms,
                    espeak_seed=int(rng.integers(2**31)),
                    noise_seed=int(rng.integers(2**31)),
                    caption=caption,
                    ovlabels=ovlabels,
                    **params,
                )
            )
    return _with_target_prior(utterances, seed) if "prior" in shifts else utterances


def _with_target_prior(utterances: list[Utterance], seed: int) -> list[Utterance]:
    """``utterances`` with each target set cut to the class frequencies of TARGET_PRIOR: class c
    keeps ``round(n_c * prior_c / max prior)`` of its ``n_c`` utterances (at least one), taken in
    turn from its speakers in a seeded random order. Kept utterances are unchanged."""
    rng = np.random.default_rng([seed, 1])  # its own stream: the plan's draws stay as they are
    top = max(TARGET_PRIOR.values())
    keep = set()
    for split in sorted({u.split for u in utterances if u.domain == "target"}):
        for emotion in LABELS:
            by_spk: dict[str, list[str]] = {}
            for u in utterances:
                if u.split == split and u.emotion == emotion:
                    by_spk.setdefault(u.spk, []).append(u.utt)
            turns = []  # the i-th utterance of every speaker, then the (i+1)-th, ...
            for spk in sorted(by_spk):
                order = rng.permutation(len(by_spk[spk]))
                turns += [(rank, spk, by_spk[spk][i]) for rank, i in enumerate(order)]
            count = max(1, round(len(turns) * TARGET_PRIOR[emotion] / top))
            keep.update(utt for _, _, utt in sorted(turns)[:count])
    return [u for u in utterances if u.domain == "source" or u.utt in keep]


def _pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a 1/f power spectrum (white noise shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def render(u: Utterance, snr_db: float, telephone: bool, channel: bool = True) -> np.ndarray:
    """Synthesise ``u`` and apply its voice effects and its domain's channel; float32 at 16 kHz.
    ``channel`` false: the target domain gets the source's channel."""
    wave, sr = synthesize(
        u.ssml, voice=u.voice, rate=u.rate, pitch=u.pitch, pitch_range=u.pitch_range,
        volume=u.volume, word_gap=u.word_gap, seed=u.espeak_seed, ssml=True,
    )  # fmt: skip
    wave = resample(wave.astype(np.float64), sr, SAMPLE_RATE)
    rng = np.random.default_rng(u.noise_seed)
    t = np.arange(len(wave)) / SAMPLE_RATE
    if u.tremor > 0:  # fear: a 6 Hz tremor
        wave = wave * (1 + u.tremor * np.sin(2 * np.pi * rng.uniform(5, 7) * t))
    if u.strain > 0:  # anger: a pressed, saturated voice
        wave = np.tanh(u.strain * wave) / np.tanh(u.strain)
    if u.tilt > 0:  # first-order pre-emphasis: brighter
        wave = lfilter([1.0, -u.tilt], [1.0], wave)
    elif u.tilt < 0:  # one-pole low-pass: darker
        wave = lfilter([1.0 + u.tilt], [1.0, u.tilt], wave)
    lead, tail = (int(rng.uniform(0.05, 0.2) * SAMPLE_RATE) for _ in range(2))
    wave = np.concatenate([np.zeros(lead), wave * 0.5 * 10 ** (u.gain_db / 20), np.zeros(tail)])
    speech_rms = np.sqrt(np.mean(wave[lead : len(wave) - tail] ** 2))
    target = u.domain == "target" and channel
    noise_db = snr_db if target else SOURCE_SNR_DB
    wave = wave + _pink_noise(len(wave), rng) * speech_rms * 10 ** (-noise_db / 20)
    if target and telephone:  # the noisy room's sound goes through a telephone channel
        wave = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE, output="sos"), wave)
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def _render_to_file(job: tuple[Utterance, str, float, bool, bool]) -> float:
    """Worker: render one utterance into a 16-bit wav; return its duration (s)."""
    u, path, snr_db, telephone, channel = job
    wave = render(u, snr_db, telephone, channel)
    soundfile.write(path, wave, SAMPLE_RATE, subtype="PCM_16")
    return len(wave) / SAMPLE_RATE


def prepare(
    corpus_dir: str | Path,
    output_dir: str | Path,
    size: str = "default",
    seed: int = 0,
    nj: int = 2,
    snr_db: float = 15.0,
    telephone: bool = True,
    target_shift: str = DEFAULT_TARGET_SHIFT,
) -> dict[str, DataDir]:
    """Synthesise the corpus under ``corpus_dir`` and write ``output_dir/<set>`` data dirs.

    Another ``target_shift`` than the default writes its wavs under ``wav_<shifts>/`` (not
    ``wav/``), so that the feature dumps of one corpus are never taken for another's.

    A ``.completed`` file in ``output_dir`` records the options; a rerun with the same options
    returns at once, one with other options regenerates everything. With ``nj > 1`` the workers
    start from a fork server, so a calling script needs the ``if __name__ == "__main__":`` guard.
    """
    if nj < 1:
        raise ValueError(f"mini_emo: nj must be at least 1, got {nj}")
    corpus_dir, output_dir = Path(corpus_dir).resolve(), Path(output_dir)
    shifts = parse_target_shift(target_shift)
    options = dict(
        version=VERSION, size=size, seed=seed, snr_db=float(snr_db), telephone=bool(telephone)
    )
    tag = ""  # the default's guard and paths stay as those of corpora made before the option
    if shifts != (DEFAULT_TARGET_SHIFT,):
        options["target_shift"] = ",".join(shifts) or "none"
        tag = "_" + ("_".join(shifts) or "none")
    wav_dir = corpus_dir / f"wav{tag}"
    if wav_dir.is_dir() and _common.is_completed(output_dir, "mini_emo", corpus_dir, options):
        return {name: DataDir.load(output_dir / name, label_set=LABELS) for name in SETS}
    (output_dir / _common.COMPLETED).unlink(missing_ok=True)

    utterances = plan(size, seed, target_shift)
    logging.info("mini_emo: synthesising %d utterances with %d jobs", len(utterances), nj)
    paths = {u.utt: wav_dir / u.split / f"{u.utt}.wav" for u in utterances}
    with atomic_dir(wav_dir) as tmp:
        for name in SETS:
            (tmp / name).mkdir()
        channel = "channel" in shifts
        jobs = [
            (u, str(tmp / u.split / f"{u.utt}.wav"), snr_db, telephone, channel) for u in utterances
        ]
        progress = dict(total=len(jobs), desc="mini_emo", unit="utt", mininterval=5)
        if nj > 1:
            # forkserver: small workers, so that synthesize()'s fork per clip is cheap, even when
            # the caller is a big process (torch loaded)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            with context.Pool(nj) as pool:
                durations = list(tqdm(pool.imap(_render_to_file, jobs, chunksize=8), **progress))
        else:
            durations = [_render_to_file(job) for job in tqdm(jobs, **progress)]
    with atomic_write(corpus_dir / f"metadata{tag}.tsv") as f:
        names = list(asdict(utterances[0]))
        f.write("\t".join(names) + "\n")
        for u in utterances:
            f.write("\t".join(str(getattr(u, name)) for name in names) + "\n")

    data_dirs = {}
    for name in SETS:
        chosen = [(u, d) for u, d in zip(utterances, durations) if u.split == name]
        data = DataDir(
            wav_scp={u.utt: str(paths[u.utt]) for u, _ in chosen},
            utt2spk={u.utt: u.spk for u, _ in chosen},
            text={u.utt: u.text for u, _ in chosen},
            utt2emo={u.utt: u.emotion for u, _ in chosen},
            utt2caption={u.utt: u.caption for u, _ in chosen},
            utt2ovlabels={u.utt: u.ovlabels for u, _ in chosen},
            utt2domain={u.utt: u.domain for u, _ in chosen},
            utt2dur={u.utt: f"{d:.3f}" for u, d in chosen},
        )
        data.write(output_dir / name, label_set=LABELS)
        data_dirs[name] = data
        logging.info("mini_emo: wrote %s (%d utterances)", output_dir / name, len(chosen))
    _common.mark_completed(output_dir, "mini_emo", corpus_dir, options, SETS)
    return data_dirs
