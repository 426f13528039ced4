"""Seconds per GRPO step on an audio-LM: emorl's trainer against TRL 1.16's GRPOTrainer.

One step = 1 prompt (one clip of ``--clip_seconds`` of synthetic speech-like audio) x G = 4
completions x 32 sampled tokens (EOS suppressed, so that every run samples the same number of
tokens), beta 0.04 (reference pass included), one update, float32, 2 torch threads, audio tower
frozen in both (the text model and the projector are trained in full, no LoRA). The reward (distinct
characters of the completion) is the same cheap function in both, and it varies within the group, so
emorl skips no group (its ``zero_adv_frac`` column shows it).

TRL's GRPOTrainer does not pass audio to the model; :class:`AudioGRPOTrainer` below is the smallest
subclass that does: the processor (Qwen2AudioProcessor) pads each clip to 30 s and expands the audio
placeholder, the features go to ``generate`` and to every log-probability pass (reference and
policy), as a user of TRL would have to write it. The two trainers' steps alternate (each TRL step
is followed by an emorl step), so that a change in the machine's load affects both alike. Each
reported time is the median over ``--steps`` steps after ``--warmup`` warm-up steps, in wall-clock
seconds and in this process's CPU seconds (less sensitive to other processes on a shared machine;
the load average is printed too); the last line of the output is one JSON object.

``--model_dir``: any Qwen2-Audio-architecture directory saved by ``AudioLM.save`` (the mini kinds,
or a Qwen2-Audio checkpoint with its processor); without it a ``mini`` model (Whisper tiny.en tower,
the mini text model) is built in a temporary directory.

On a shared machine whose cores are busy with other processes, OpenMP threads that spin while
waiting for a descheduled partner slow every small operation down (emorl's step is made of many);
``OMP_WAIT_POLICY=PASSIVE`` makes them sleep instead, for both trainers. The policy in force is
printed with the results.

Usage:
    [OMP_WAIT_POLICY=PASSIVE] python bench/grpo_step.py [--model_dir DIR] [--steps 5] \
        [--warmup 2] [--clip_seconds 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from emorl.lalm.model import AudioLM
from emorl.lalm.prompts import instruction
from emorl.rl.grpo_trainer import GRPOConfig, GRPOTrainer, PromptDataset, RunSettings
from emorl.rl.rewards import register_reward

LABELS = ["angry", "happy", "neutral", "sad"]
GROUP, TOKENS, BETA, LR = 4, 32, 0.04, 1e-6


def distinct_chars(texts) -> list[float]:
    """The bench reward: distinct characters per completion (varies between random ones)."""
    return [float(len(set(t))) for t in texts]


@register_reward("bench_distinct_chars", needs=("completions",))
def _emorl_reward(predictions, references, **context):
    return distinct_chars(context["completions"])


def speech_like(seconds: float, seed: int = 0, sr: int = 16000) -> np.ndarray:
    """A harmonic tone with a gliding pitch plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 150 * (1 + 0.2 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.2
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def build_mini(path: Path) -> Path:
    """A ``mini`` model (default sizes) saved to ``path``."""
    texts = (
        [instruction("emo", "answer", LABELS)] + LABELS + [f"<answer>{x}</answer>" for x in LABELS]
    )
    AudioLM.build_mini(texts, seed=0).save(path)
    return path


def emorl_trainer(model_dir: Path, wave: np.ndarray, text: str, steps: int, work: Path):
    """emorl's trainer on the bench prompt (its ``step(n)`` generates, scores and updates)."""
    torch.manual_seed(0)
    lm = AudioLM.load(model_dir, dtype="float32")
    lm.freeze_reference()
    lm.generate = functools.partial(lm.generate, suppress_eos=True)
    dataset = PromptDataset({"bench": "angry"}, lambda utt: wave, text)
    config = GRPOConfig(
        task="emo",
        format="answer",
        rewards={"bench_distinct_chars": 1.0},
        num_generations=GROUP,
        prompts_per_step=1,
        max_completion_length=TOKENS,
        beta=BETA,
        learning_rate=LR,
        max_steps=steps,
    )
    return GRPOTrainer(lm, dataset, config, RunSettings(work / "emorl", label_set=LABELS))


def trl_times(
    model_dir: Path, wave: np.ndarray, prompt: str, steps: int, work: Path, between
) -> list[tuple[float, float]]:
    """``(wall, cpu)`` seconds of each optimiser step of TRL's GRPOTrainer with the audio passed
    through; ``between(n)`` runs after TRL's step ``n``, outside its timing."""
    from datasets import Dataset
    from transformers import (
        AutoTokenizer,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        TrainerCallback,
        WhisperFeatureExtractor,
    )
    from trl import GRPOConfig as TRLConfig
    from trl import GRPOTrainer as TRLTrainer

    class AudioGRPOTrainer(TRLTrainer):
        """TRL's GRPOTrainer with each row's audio features passed to every forward."""

        def _generate_and_score_completions(self, inputs):
            self._waves = [np.asarray(x["audio"], dtype=np.float32) for x in inputs]
            output = super()._generate_and_score_completions(inputs)
            output["input_features"], output["feature_attention_mask"] = self._audio
            return output

        def _tokenize_prompts(self, prompts):
            enc = self.processing_class(
                text=prompts,
                audio=self._waves,
                sampling_rate=16000,
                return_tensors="pt",
                padding=True,
            )
            ids = [row[m.bool()].tolist() for row, m in zip(enc.input_ids, enc.attention_mask)]
            device = self.accelerator.device
            self._audio = (enc.input_features.to(device), enc.feature_attention_mask.to(device))
            fields = dict(zip(("input_features", "feature_attention_mask"), self._audio))
            return ids, None, fields

        def _compute_loss(self, model, inputs):
            self._audio = (inputs["input_features"], inputs["feature_attention_mask"])
            return super()._compute_loss(model, inputs)

        def _get_per_token_logps_and_entropies(
            self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
            compute_entropy=False, compute_aux_loss=False, **unused,
        ):  # fmt: skip
            # TRL's loop, with the audio of rows start:end added to the model inputs
            batch_size = batch_size or input_ids.size(0)
            features, feature_mask = self._audio
            logps, entropies = [], []
            for start in range(0, input_ids.size(0), batch_size):
                ids, mask = (
                    input_ids[start : start + batch_size],
                    attention_mask[start : start + batch_size],
                )
                labels = ids.masked_fill(mask == 0, -100)
                labels[:, :-logits_to_keep] = -100
                out = model(
                    input_ids=ids,
                    attention_mask=mask,
                    input_features=features[start : start + batch_size],
                    feature_attention_mask=feature_mask[start : start + batch_size],
                    labels=labels,
                    fused_lm_head=True,
                )
                logps.append(out.log_probs[:, -logits_to_keep:])
                if compute_entropy:
                    entropies.append(out.entropy[:, -logits_to_keep:])
            return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self.start = [], None

        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):
            wall, cpu = self.start
            self.times.append((time.perf_counter() - wall, time.process_time() - cpu))
            between(len(self.times))

    torch.manual_seed(0)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32)
    model.model.audio_tower.requires_grad_(False)
    # TRL takes any processor for an image one and suppresses its image token in generation: the
    # audio placeholder is the token to suppress here (a sampled one would mismatch the features)
    model.config.image_token_id = model.config.audio_token_index
    processor = Qwen2AudioProcessor(
        WhisperFeatureExtractor.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
    )
    dataset = Dataset.from_dict({"prompt": [prompt] * steps, "audio": [wave.tolist()] * steps})

    def reward(completions, **kwargs):
        return distinct_chars(completions)

    args = TRLConfig(
        output_dir=str(work / "trl"),
        per_device_train_batch_size=GROUP,
        num_generations=GROUP,
        max_completion_length=TOKENS,
        generation_kwargs={"min_new_tokens": TOKENS},  # EOS suppressed: always 32 tokens
        beta=BETA,
        learning_rate=LR,
        max_steps=steps,
        temperature=1.0,
        top_p=1.0,
        use_cpu=True,
        bf16=False,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        disable_tqdm=True,
        seed=0,
    )
    timer = StepTimer()
    trainer = AudioGRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        callbacks=[timer],
    )
    trainer.train()
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", type=Path, help="Qwen2-Audio-architecture model dir")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--clip_seconds", type=float, default=4.0, help="audio per prompt")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = args.model_dir or build_mini(work / "mini")
        wave = speech_like(args.clip_seconds)
        text = instruction("emo", "answer", LABELS)
        total = args.warmup + args.steps
        emorl_steps = emorl_trainer(model_dir, wave, text, total, work)
        prompt = AudioLM.load(model_dir, dtype="float32").chat_prompt(text)
        rows = []  # steps alternate, so that a change of the machine's load hits both alike

        def emorl_step(n):
            cpu = time.process_time()
            rows.append(emorl_steps.step(n))
            rows[-1]["cpu_step"] = time.process_time() - cpu

        trl = trl_times(model_dir, wave, prompt, total, work, emorl_step)
        rows, trl = rows[args.warmup :], trl[args.warmup :]
    load = (load_before + os.getloadavg()[0]) / 2
    median = {
        k: statistics.median(r[k] for r in rows) for k in rows[0] if k[:5] in ("time_", "cpu_s")
    }
    emorl, trl_median = median["time_step"], statistics.median(wall for wall, _ in trl)
    emorl_cpu, trl_cpu = median["cpu_step"], statistics.median(cpu for _, cpu in trl)
    print(f"model {args.model_dir or 'mini (built)'}; 1 prompt x G={GROUP} x {TOKENS} tokens,")
    policy = os.environ.get("OMP_WAIT_POLICY", "default")
    print(
        f"clip {args.clip_seconds} s, beta {BETA}, float32, {args.threads} threads "
        f"(OMP_WAIT_POLICY {policy});"
    )
    print(
        f"median of {args.steps} steps after {args.warmup} warm-up steps; load average {load:.1f}"
    )
    print(
        f"{'trainer':<28}{'s/step':>8}{'generate':>10}{'score':>8}{'update':>8}{'cpu s/step':>12}"
    )
    print(
        f"{'emorl GRPOTrainer':<28}{emorl:>8.3f}{median['time_generate']:>10.3f}"
        f"{median['time_score']:>8.3f}{median['time_update']:>8.3f}{emorl_cpu:>12.3f}"
    )
    print(f"{'TRL 1.16 GRPOTrainer+audio':<28}{trl_median:>8.3f}{'':>26}{trl_cpu:>12.3f}")
    print(
        f"speedup {trl_median / emorl:.1f}x (cpu time {trl_cpu / emorl_cpu:.1f}x); "
        f"emorl zero_adv_frac {rows[-1]['zero_adv_frac']}"
    )
    result = {
        "emorl_sec_per_step": round(emorl, 4),
        "trl_sec_per_step": round(trl_median, 4),
        "speedup": round(trl_median / emorl, 2),
        "emorl_cpu_sec_per_step": round(emorl_cpu, 4),
        "trl_cpu_sec_per_step": round(trl_cpu, 4),
        "speedup_cpu": round(trl_cpu / emorl_cpu, 2),
        "emorl_generate_sec": round(median["time_generate"], 4),
        "emorl_update_sec": round(median["time_update"], 4),
        "clip_seconds": args.clip_seconds,
        "group_size": GROUP,
        "completion_tokens": TOKENS,
        "threads": args.threads,
        "omp_wait_policy": policy,
        "load_average": round(load, 1),
        "model_dir": str(args.model_dir) if args.model_dir else "mini (built)",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
