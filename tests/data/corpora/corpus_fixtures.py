"""Tiny copies of the real corpora's layouts and file formats, built by the tests themselves.

Each ``make_<corpus>(root)`` writes a few short fake audio files (soundfile, or PyAV for videos)
plus the corpus's real label files (its CSV headers, label-file syntax and directory names), and
returns ``root``. The counts the tests assert follow from the tables in each builder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import soundfile

SR = 16000


def write_wav(path: Path, seconds: float = 0.1, sr: int = SR, seed: int = 0) -> Path:
    """A short noise burst as 16-bit PCM wav (or aiff, from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    soundfile.write(
        str(path), (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32), sr
    )
    return path


def write_video(
    path: Path, seconds: float = 0.2, sr: int = 44100, with_video: bool = False
) -> Path:
    """A small media file with an audio stream (AAC in mp4, PCM in avi), optionally video."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    samples = (0.2 * np.sin(np.arange(int(seconds * sr)) * 0.05)).astype(np.float32)
    with av.open(str(path), "w") as container:
        if with_video:
            video = container.add_stream("mpeg4", rate=10)
            video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac" if path.suffix == ".mp4" else "pcm_s16le", rate=sr)
        audio.layout = "stereo" if path.suffix == ".mp4" else "mono"
        fmt = audio.codec_context.format.name
        if fmt == "fltp":
            array = np.stack([samples] * audio.layout.nb_channels)
        else:
            array = (samples * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(array, format=fmt, layout=audio.layout.name)
        frame.sample_rate = sr
        if with_video:
            image = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in video.encode(image):
                container.mux(packet)
            for packet in video.encode(None):
                container.mux(packet)
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    return path


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- IEMOCAP -----------------------------------------------------------------------------------

#: Per session: dialog -> [(utterance suffix, raw label)]. iemocap4 keeps 5 per session (xxx and
#: fru are left out), 3 of them improvised; iemocap6 keeps 6.
IEMOCAP_DIALOGS = {
    "F_impro01": [("F000", "neu"), ("M000", "ang"), ("F001", "exc"), ("M001", "xxx")],
    "M_script01_1": [("F000", "sad"), ("M000", "hap"), ("M001", "fru")],
}


def make_iemocap(root: Path) -> Path:
    for k in range(1, 6):
        session = root / f"Session{k}"
        dialog_dir = session / "dialog"
        for suffix, utts in IEMOCAP_DIALOGS.items():
            dialog = f"Ses0{k}{suffix}"
            blocks = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            transcript = []
            for i, (spk, label) in enumerate(utts):
                name = f"{dialog}_{spk}"
                start, end = 1.5 + 3 * i, 3.25 + 3 * i
                blocks += [
                    f"[{start:.4f} - {end:.4f}]\t{name}\t{label}\t[2.5000, 3.0000, 2.5000]",
                    "C-E2:\tNeutral;\t()",
                    "A-E3:\tval 3; act 2; dom  2;\t()",
                    "",
                ]
                transcript.append(f"{name} [{start:08.4f}-{end:08.4f}]: Utterance {i} of {dialog}.")
                write_wav(session / "sentences" / "wav" / dialog / f"{name}.wav", seed=i)
            transcript.append("M: [BREATHING]")
            (dialog_dir / "EmoEvaluation" / "Categorical").mkdir(parents=True, exist_ok=True)
            (dialog_dir / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(blocks) + "\n")
            (dialog_dir / "EmoEvaluation" / "Categorical" / f"{dialog}_e1_cat.txt").write_text(
                f"{dialog}_F000 :Neutral state; ()\n"
            )
            (dialog_dir / "transcriptions").mkdir(parents=True, exist_ok=True)
            (dialog_dir / "transcriptions" / f"{dialog}.txt").write_text(
                "\n".join(transcript) + "\n"
            )
    return root


# --- MELD --------------------------------------------------------------------------------------

MELD_HEADER = [
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
]
#: Per set: (dialogue, utterance, speaker, emotion, transcript). train dia125_utt3 is a broken clip
#: and dev dia110_utt7 has no clip, as in the real distribution.
MELD_ROWS = {
    "train": [
        (0, 0, "Chandler", "joy", "Oh my God, heâ€™s lost it."),
        (0, 1, "The Interviewer", "neutral", "You must’ve had your hands full."),
        (1, 0, "Joey", "anger", "What?!"),
        (125, 3, "Ross", "neutral", "Hi."),
    ],
    "dev": [
        (0, 0, "Ross", "sadness", "I am sorry."),
        (1, 0, "Rachel", "surprise", "Really?"),
        (110, 7, "Monica", "neutral", "Okay."),
    ],
    "test": [(0, 0, "Monica", "fear", "Oh no."), (0, 1, "Phoebe", "disgust", "Eww.")],
}
MELD_DIRS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}


def make_meld(root: Path) -> Path:
    for split, rows in MELD_ROWS.items():
        table = []
        for i, (dia, utt, spk, emo, text) in enumerate(rows):
            table.append(
                [i + 1, text, spk, emo, "neutral", dia, utt, 3, 19, "00:14:38,127", "00:14:40,378"]
            )
            clip = root / MELD_DIRS[split] / f"dia{dia}_utt{utt}.mp4"
            if (split, dia) == ("train", 125):
                clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 broken")
            elif (split, dia) != ("dev", 110):
                write_video(clip, with_video=(split == "test" and utt == 1))
        write_csv(root / f"{split}_sent_emo.csv", MELD_HEADER, table)
    return root


# --- RAVDESS -----------------------------------------------------------------------------------

#: Per actor: (channel, emotion, intensity, statement, repetition). 3 speech files and 1 song.
RAVDESS_FILES = [
    ("01", "01", "01", "01", "01"),
    ("01", "05", "02", "02", "01"),
    ("01", "08", "01", "01", "02"),
    ("02", "03", "01", "02", "01"),
]


def make_ravdess(root: Path, actors: int = 8) -> Path:
    for actor in range(1, actors + 1):
        for channel, emotion, intensity, statement, rep in RAVDESS_FILES:
            name = f"03-{channel}-{emotion}-{intensity}-{statement}-{rep}-{actor:02d}"
            write_wav(root / f"Actor_{actor:02d}" / f"{name}.wav", seed=actor)
        (root / f"Actor_{actor:02d}" / f"02-01-01-01-01-01-{actor:02d}.mp4").write_bytes(b"video")
    # the Kaggle copy repeats the actors' folders one level down
    for path in (root / "Actor_01").glob("*.wav"):
        write_wav(root / "audio_speech_actors_01-24" / "Actor_01" / path.name)
    return root


# --- CREMA-D -----------------------------------------------------------------------------------

CREMAD_FILES = [("DFA", "ANG", "XX"), ("IEO", "HAP", "HI"), ("TIE", "NEU", "XX")]


def make_cremad(root: Path, actors: int = 10) -> Path:
    for actor in range(1001, 1001 + actors):
        for sentence, emotion, level in CREMAD_FILES:
            write_wav(root / "AudioWAV" / f"{actor}_{sentence}_{emotion}_{level}.wav", seed=actor)
    (root / "AudioWAV" / "1076_MTI_SAD_XX.wav").write_bytes(b"")  # empty, as in the distribution
    write_csv(root / "VideoDemographics.csv", ["ActorID", "Age", "Sex", "Race", "Ethnicity"], [])
    return root


# --- CASIA -------------------------------------------------------------------------------------

CASIA_SPEAKERS = ("liuchanhg", "wangzhe", "zhaoquanyin", "ZhaoZuoxiang")
CASIA_EMOTIONS = ("angry", "fear", "happy", "neutral", "sad", "surprise")
CASIA_CHINESE = ("生气", "害怕", "高兴", "中性", "悲伤", "惊讶")


def make_casia(root: Path) -> Path:
    for spk in CASIA_SPEAKERS:
        # one speaker's copy uses the Chinese folder names
        folders = CASIA_CHINESE if spk == "wangzhe" else CASIA_EMOTIONS
        for folder in folders:
            for number in (201, 202):
                write_wav(root / "CASIA" / spk / folder / f"{number}.wav", seed=number)
    return root


# --- CaFE --------------------------------------------------------------------------------------

#: Per actor: (folder, file name pattern); neutral has no intensity field.
CAFE_FILES = [
    ("Colère/Faible", "{a}-C-1-1"),
    ("Colère/Fort", "{a}-C-2-1"),
    ("Neutre", "{a}-N-3"),
    ("Tristesse/Fort", "{a}-T-2-6"),
]


def make_cafe(root: Path, actors: int = 4, ext: str = "wav") -> Path:
    for actor in range(1, actors + 1):
        for folder, pattern in CAFE_FILES:
            write_wav(root / folder / f"{pattern.format(a=f'{actor:02d}')}.{ext}", sr=48000)
    return root


# --- ESD ---------------------------------------------------------------------------------------

ESD_EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
ESD_ZH_WORDS = ("中立", "生气", "快乐", "伤心", "惊喜")
#: Within each emotion's 350 ids: the offset of the one file of each split folder.
ESD_SPLITS = {"evaluation": 1, "test": 21, "train": 31}
#: Transcript file encodings of some speakers, as in the distribution (the others are UTF-8).
ESD_ENCODINGS = {1: "gb2312", 3: "utf-16", 16: "latin-1"}


def esd_text(spk: int, index: int) -> str:
    if spk <= 10:
        return f"打远一看，它们的确很是美丽{index}。"
    return f"Café number {index} is open." if spk == 16 else f"The nine the eggs {index}."


def make_esd(root: Path) -> Path:
    for spk in range(1, 21):
        lines = []
        for e, emotion in enumerate(ESD_EMOTIONS):
            word = ESD_ZH_WORDS[e] if spk <= 10 else emotion
            for split, offset in ESD_SPLITS.items():
                index = e * 350 + offset
                utt = f"{spk:04d}_{index:06d}"
                write_wav(root / f"{spk:04d}" / emotion / split / f"{utt}.wav", seed=index)
                lines.append(f"{utt}\t{esd_text(spk, index)}\t{word}")
        if spk == 12:  # a line with spaces instead of tabs, as some lines of the distribution
            lines[0] = lines[0].replace("\t", " ")
        path = root / f"{spk:04d}" / f"{spk:04d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding=ESD_ENCODINGS.get(spk, "utf-8"))
    (root / "ReadMe.txt").write_text("Emotional Speech Dataset (ESD)\n")
    return root


# --- MSP-Podcast -------------------------------------------------------------------------------

MSP_HEADER = ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"]
#: (podcast_turn, class, speaker, partition)
MSP_ROWS = [
    ("0001_0008", "N", "127", "Train"),
    ("0001_0010", "A", "127", "Train"),
    ("0002_0001", "H", "Unknown", "Train"),
    ("0002_0002", "C", "45", "Train"),
    ("0003_0001", "X", "45", "Train"),
    ("0003_0002", "O", "45", "Development"),
    ("0004_0001", "S", "300", "Development"),
    ("0004_0002", "U", "300", "Development"),
    ("0005_0001", "F", "12", "Test1"),
    ("0005_0002", "D", "Unknown", "Test1"),
    ("0005_0003", "A", "12", "Test1"),
    ("0006_0001", "N", "77", "Test2"),
    ("0006_0002", "H", "77", "Test2"),
]


def make_msppodcast(root: Path) -> Path:
    rows = []
    for turn, code, spk, split in MSP_ROWS:
        name = f"MSP-PODCAST_{turn}"
        rows.append([f"{name}.wav", code, 4.2, 3.8, 4.0, spk, "Female", split])
        write_wav(root / "Audios" / f"{name}.wav")
        (root / "Transcripts").mkdir(parents=True, exist_ok=True)
        (root / "Transcripts" / f"{name}.txt").write_text(f"turn {turn} of the podcast\n")
    write_csv(root / "Labels" / "labels_consensus.csv", MSP_HEADER, rows)
    return root


# --- M3ED --------------------------------------------------------------------------------------

#: series -> (split, [(utterance id, speaker letter, emotion)]); speaker names per letter below.
M3ED_SERIES = {
    "anjia": (
        "train",
        [("anjia_1_1", "A", "Happy"), ("anjia_1_2", "B", "Anger"), ("anjia_1_3", "A", "Neutral")],
    ),
    "shaonianpai": ("val", [("shaonianpai_1_1", "A", "Sad"), ("shaonianpai_1_2", "B", "Neutral")]),
    "huanlesong": (
        "test",
        [
            ("huanlesong_1_1", "A", "Surprise"),
            ("huanlesong_1_2", "B", "Fear"),
            ("huanlesong_1_3", "A", "Disgust"),
        ],
    ),
}
M3ED_NAMES = {
    "anjia": {"A": "房似锦", "B": "徐文昌"},
    "shaonianpai": {"A": "林大为"},
    "huanlesong": {"A": "安迪", "B": "樊胜美"},
}


def make_m3ed(root: Path) -> Path:
    annotation = {}
    for series, (split, turns) in M3ED_SERIES.items():
        dialog = {}
        for utt, letter, emotion in turns:
            dialog[utt] = {
                "StartTime": "00:01:02.100",
                "EndTime": "00:01:04.500",
                "Text": f"{utt} 的台词",
                "Speaker": letter,
                "EmoAnnotation": {
                    "EmoAnnotator1": [emotion],
                    "final_mul_emo": [emotion],
                    "final_main_emo": emotion,
                },
            }
            write_wav(root / "modality_speech" / f"{letter}_{utt}.wav")
        info = {
            k: {"Name": v, "Gender": "F", "Age": "young"} for k, v in M3ED_NAMES[series].items()
        }
        annotation[series] = {f"{series}_1": {"SpeakerInfo": info, "Dialog": dialog}}
        (root / "splitInfo").mkdir(parents=True, exist_ok=True)
        (root / "splitInfo" / f"movie_list_{split}.txt").write_text(f"{series}\n")
    (root / "annotation.json").write_text(
        json.dumps(annotation, ensure_ascii=False), encoding="utf-8"
    )
    return root


# --- EmotionTalk -------------------------------------------------------------------------------

#: (group, speaker, number, emotion_result, sourceAttr form)
EMOTIONTALK_UTTS = [
    ("G00002", "S03", 1, "Happy", "aspects"),
    ("G00002", "S04", 2, "生气", "text"),
    ("G00002", "S03", 3, "Disgusted", "list"),
    ("G00001", "S01", 1, "Neutral", "aspects"),
    ("G00012", "S12", 1, "Sad", "aspects"),
    ("G00003", "S05", 1, "Surprised", "aspects"),
    ("G00003", "S06", 2, "Fearful", "aspects"),
]


#: The emotion word of each fixture label in its Chinese captions (the Emo-F1 lexicon's words).
EMOTIONTALK_CAPTION_WORDS = {
    "Happy": "开心",
    "生气": "生气",
    "Disgusted": "厌恶",
    "Neutral": "平静",
    "Sad": "难过",
    "Surprised": "惊讶",
    "Fearful": "害怕",
}


def emotiontalk_caption(group: str, number: int, aspect: str) -> str:
    """A Mandarin caption, as EmotionTalk's, naming the utterance's emotion (and the aspect)."""
    (emotion,) = [e for g, _, n, e, _ in EMOTIONTALK_UTTS if (g, n) == (group, number)]
    return (
        f"{aspect}：{group}组第{number}句，说话人语气听起来很{EMOTIONTALK_CAPTION_WORDS[emotion]}。"
    )


def make_emotiontalk(root: Path) -> Path:
    for group, spk, number, emotion, form in EMOTIONTALK_UTTS:
        name = f"{group}_{spk}_{number:03d}"
        write_wav(root / "Audio" / "wav" / group / f"{name}.wav", sr=44100)
        aspects = {
            a: emotiontalk_caption(group, number, a)
            for a in ("speaker", "style", "emotion", "overall")
        }
        source = {"aspects": aspects, "text": aspects["overall"], "list": [aspects]}[form]
        record = {
            "speaker_id": spk,
            "file_name": f"Audio/wav/{group}/{name}.wav",
            "content": f"第{number}句话",
            "emotion_result": emotion,
            "sourceAttr": source,
            "data": [{"emotion_result": emotion}],
            "paragraphs": [{"start": 0, "end": 100}],
        }
        path = root / "Audio" / "json" / group / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return root


# --- MER2023 / OV-MERD+ ------------------------------------------------------------------------

MER_TRAIN = [
    "happy",
    "neutral",
    "angry",
    "sad",
    "worried",
    "surprise",
    "happy",
    "neutral",
    "sad",
    "angry",
]
MER_TEST1 = ["worried", "happy"]
#: OV-MERD+: (name, openset cell, media kind). sample_00000001 is also a train clip.
MER_OV = [
    ("sample_00000001", "['happy', 'Relaxed']", "wav"),
    ("sample_00000100", "surprised, curious，surprised", "wav"),
    ("sample_00000101", "[]", "mp4"),
]


def make_mer2023(root: Path) -> Path:
    train = [[f"sample_{i + 1:08d}", label, 0.5] for i, label in enumerate(MER_TRAIN)]
    for name, _, _ in train:
        write_video(root / "mer2023train" / "train" / f"{name}.avi")
    write_csv(root / "mer2023train" / "train-label.csv", ["name", "discrete", "valence"], train)
    test1 = [[f"sample_{i + 50:08d}", label, -0.5] for i, label in enumerate(MER_TEST1)]
    for name, _, _ in test1:
        write_video(root / "test1" / f"{name}.mp4")
    write_csv(root / "test-labels" / "test1-label.csv", ["name", "discrete", "valence"], test1)
    for name, _, kind in MER_OV:
        if kind == "wav":
            write_wav(root / "ovmerdplus" / "audio" / f"{name}.wav")
        else:
            write_video(root / "ovmerdplus" / "video" / f"{name}.mp4", with_video=True)
    write_csv(
        root / "ovmerdplus" / "ovlabel.csv", ["name", "openset"], [[n, o] for n, o, _ in MER_OV]
    )
    return root
